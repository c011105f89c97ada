// Garbage collection of the agent's package cache (DATA/packages/{pieces,manifests,trees}). When the
// cache is over its budget, packages no live or starting attempt pins and idle past `idleMs` lose their
// tree and manifest, oldest use first, then pieces no remaining manifest references. (Fetched pieces
// live inside the trees' files; piece files are what older agents and other stores left.) Partial
// trees of fetches that stopped, for packages no attempt pins, go once idle past `idleMs`. The choice is a
// pure function (planGc); the I/O around it re-checks what is in use synchronously right before each
// removal, so an attempt that starts between the plan and the removal never loses its tree.

import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { z } from "zod";
import { readJsonAs } from "../model/index.ts";
import { piecesOf, readManifestSync, removeTree, Sha256Pattern } from "../pkg/index.ts";

/** `last-used.json`: package id -> epoch ms of its last use. */
const lastUsedSchema = z.record(z.string(), z.number());

/** One cached package as GC sees it. */
export interface CachedPackage {
  id: string;
  /** Bytes of its tree and manifest (pieces are counted apart: other packages may share them). */
  bytes: number;
  /** Epoch ms of the last time a task used it. */
  lastUsed: number;
  /** Pieces its manifest lists; null when the manifest is gone (its pieces are then unknown). */
  pieces: string[] | null;
}

/** What planGc decides from. */
export interface GcInput {
  packages: CachedPackage[];
  /** Every piece on disk: bytes and mtime (epoch ms). */
  pieces: ReadonlyMap<string, { bytes: number; mtime: number }>;
  /** Package ids pinned by live, starting or waiting attempts: never removed. */
  inUse: ReadonlySet<string>;
  now: number;
  idleMs: number;
  budgetBytes: number;
  /** False while an in-use package has no manifest on disk yet (a fetch in progress): its pieces are
   * unknown, so no piece may be removed. */
  piecesKnown: boolean;
}

/** What to remove. */
export interface GcPlan {
  packages: string[];
  pieces: string[];
  /** Cache size before and after the plan, bytes. */
  totalBytes: number;
  afterBytes: number;
}

/** Chooses what to remove to bring the cache under budget (pure). Orphan pieces (no manifest lists
 * them, idle past idleMs: left by an interrupted fetch) go first, then whole packages, oldest use first. */
export function planGc(i: GcInput): GcPlan {
  let total = i.packages.reduce((n, p) => n + p.bytes, 0);
  for (const p of i.pieces.values()) total += p.bytes;
  const plan: GcPlan = { packages: [], pieces: [], totalBytes: total, afterBytes: total };
  if (total <= i.budgetBytes) return plan;
  const refs = new Map<string, number>();
  for (const p of i.packages) for (const h of p.pieces ?? []) refs.set(h, (refs.get(h) ?? 0) + 1);
  const dropPiece = (h: string): void => {
    const piece = i.pieces.get(h);
    if (!piece || !i.piecesKnown) return;
    plan.pieces.push(h);
    total -= piece.bytes;
  };
  for (const [h, p] of i.pieces) if (!refs.has(h) && i.now - p.mtime >= i.idleMs) dropPiece(h);
  const candidates = i.packages
    .filter((p) => !i.inUse.has(p.id) && i.now - p.lastUsed >= i.idleMs)
    .sort((a, b) => a.lastUsed - b.lastUsed || (a.id < b.id ? -1 : 1));
  for (const p of candidates) {
    if (total <= i.budgetBytes) break;
    plan.packages.push(p.id);
    total -= p.bytes;
    for (const h of p.pieces ?? []) {
      const left = (refs.get(h) ?? 1) - 1;
      refs.set(h, left);
      if (left === 0) dropPiece(h);
    }
  }
  plan.afterBytes = total;
  return plan;
}

/** Options of PackageGc. */
export interface PackageGcOptions {
  dataDir: string;
  /** Cache budget in bytes: nothing is removed while the cache is under it. */
  budgetBytes: number;
  /** How long a package must have gone unused before it may be removed. */
  idleMs: number;
  /** Package ids pinned by the host's live, starting and waiting attempts (AttemptManager.packagesInUse). */
  inUse: () => ReadonlySet<string>;
  log: Logger;
  /** @default Date.now */
  now?: () => number;
}

/** What one run did. */
export interface GcResult extends GcPlan {
  /** Packages the plan chose but an attempt started using before they were removed. */
  spared: string[];
}

/** The collector of one agent's cache; keeps the last use of each package in DATA/packages/last-used.json. */
export class PackageGc {
  readonly #o: PackageGcOptions;
  readonly #root: string;
  readonly #usedFile: string;
  #lastUsed: Record<string, number> | null = null;
  #running: Promise<GcResult> | null = null;
  #soon: NodeJS.Timeout | null = null;

  constructor(o: PackageGcOptions) {
    this.#o = o;
    this.#root = path.join(o.dataDir, "packages");
    this.#usedFile = path.join(this.#root, "last-used.json");
  }

  /** Records that tasks use these packages now (an attempt starts, or runs at a GC pass). */
  markUsed(ids: Iterable<string>): void {
    const used = this.#used();
    const now = this.#now();
    let changed = false;
    for (const id of ids) {
      if (used[id] !== now) changed = true;
      used[id] = now;
    }
    if (changed) this.#save();
  }

  #save(): void {
    try {
      fs.mkdirSync(this.#root, { recursive: true });
      const tmp = `${this.#usedFile}.${randomBytes(4).toString("hex")}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(this.#used()), { mode: 0o600 });
      fs.renameSync(tmp, this.#usedFile);
    } catch (err) {
      this.#o.log.warn({ err: String(err) }, "recording package use failed");
    }
  }

  /** Runs a pass in a moment (after a fetch; several requests make one pass). */
  schedule(delayMs = 1000): void {
    if (this.#soon) return;
    this.#soon = setTimeout(() => {
      this.#soon = null;
      this.run().catch((err: unknown) => this.#o.log.warn({ err: String(err) }, "package cache collection failed"));
    }, delayMs);
    this.#soon.unref();
  }

  /** Stops a scheduled pass. */
  close(): void {
    if (this.#soon) clearTimeout(this.#soon);
    this.#soon = null;
  }

  /** One pass (one at a time: a second caller shares the running one). */
  run(): Promise<GcResult> {
    this.#running ??= this.#run().finally(() => (this.#running = null));
    return this.#running;
  }

  async #run(): Promise<GcResult> {
    const inUse = this.#o.inUse();
    this.markUsed(inUse);
    // Trees a crashed pass had moved aside.
    for (const name of await fs.promises.readdir(path.join(this.#root, "trees")).catch(() => [] as string[])) {
      if (name.startsWith(".gc-")) await removeTree(path.join(this.#root, "trees", name));
      // Trees of fetches that stopped halfway, for packages nothing uses any more.
      const partial = /^\.([0-9a-f]{64})\.partial$/.exec(name);
      if (partial && !inUse.has(partial[1] ?? "")) {
        const st = await fs.promises.stat(path.join(this.#root, "trees", name)).catch(() => null);
        if (st && this.#now() - st.mtimeMs >= this.#o.idleMs) await removeTree(path.join(this.#root, "trees", name));
      }
    }
    const packages = await this.#scanPackages();
    const pieces = await this.#scanPieces();
    const known = new Set(packages.filter((p) => p.pieces !== null).map((p) => p.id));
    const plan = planGc({
      packages,
      pieces,
      inUse,
      now: this.#now(),
      idleMs: this.#o.idleMs,
      budgetBytes: this.#o.budgetBytes,
      piecesKnown: [...inUse].every((id) => known.has(id)),
    });
    const result: GcResult = { ...plan, packages: [], pieces: [], spared: [] };
    const trash: string[] = [];
    for (const id of plan.packages) {
      // Synchronous from the check to the rename: no attempt can start in between (one JS thread).
      if (this.#o.inUse().has(id)) {
        result.spared.push(id);
        continue;
      }
      const tree = path.join(this.#root, "trees", id);
      const moved = path.join(this.#root, "trees", `.gc-${id}-${randomBytes(4).toString("hex")}`);
      try {
        fs.renameSync(tree, moved);
        trash.push(moved);
      } catch {
        // no tree (a fetch that never unpacked): only the manifest goes
      }
      fs.rmSync(path.join(this.#root, "manifests", `${id}.json`), { force: true });
      result.packages.push(id);
      delete this.#used()[id];
    }
    if (result.packages.length > 0) this.#save();
    if (plan.pieces.length > 0) result.pieces = this.#removePieces(plan.pieces);
    for (const t of trash) await removeTree(t);
    const freed = plan.totalBytes - (await this.#size());
    result.afterBytes = plan.totalBytes - freed;
    if (result.packages.length + result.pieces.length + result.spared.length > 0) {
      this.#o.log.info(
        { removedPackages: result.packages, removedPieces: result.pieces.length, spared: result.spared, freedBytes: freed, cacheBytes: result.afterBytes, budgetBytes: this.#o.budgetBytes },
        "package cache garbage-collected",
      );
    }
    return result;
  }

  /** Removes the pieces no in-use manifest lists, re-read now and synchronously (a fetch that began after
   * the plan has written its manifest before its pieces). Nothing at all if an in-use manifest is missing. */
  #removePieces(planned: string[]): string[] {
    const keep = new Set<string>();
    for (const id of this.#o.inUse()) {
      const m = readManifestSync(path.join(this.#root, "manifests", `${id}.json`));
      if (!m) return [];
      for (const h of piecesOf(m)) keep.add(h);
    }
    const out: string[] = [];
    for (const h of planned) {
      if (keep.has(h)) continue;
      fs.rmSync(path.join(this.#root, "pieces", h.slice(0, 2), h), { force: true });
      out.push(h);
    }
    return out;
  }

  async #scanPackages(): Promise<CachedPackage[]> {
    const used = this.#used();
    const ids = new Set<string>();
    const trees = await fs.promises.readdir(path.join(this.#root, "trees")).catch(() => [] as string[]);
    for (const t of trees) if (Sha256Pattern.test(t)) ids.add(t);
    const manifests = await fs.promises.readdir(path.join(this.#root, "manifests")).catch(() => [] as string[]);
    for (const f of manifests) if (f.endsWith(".json") && Sha256Pattern.test(f.slice(0, -5))) ids.add(f.slice(0, -5));
    const out: CachedPackage[] = [];
    for (const id of ids) {
      const mFile = path.join(this.#root, "manifests", `${id}.json`);
      const tree = path.join(this.#root, "trees", id);
      const m = readManifestSync(mFile);
      const mStat = await fs.promises.stat(mFile).catch(() => null);
      const tStat = await fs.promises.stat(tree).catch(() => null);
      // A tree is exactly its manifest's files; without the manifest, measure it.
      const treeBytes = tStat === null ? 0 : m ? m.totalSize : await treeSize(tree);
      out.push({
        id,
        bytes: treeBytes + (mStat?.size ?? 0),
        lastUsed: used[id] ?? Math.max(mStat?.mtimeMs ?? 0, tStat?.mtimeMs ?? 0),
        pieces: m ? piecesOf(m) : null,
      });
    }
    return out;
  }

  async #scanPieces(): Promise<Map<string, { bytes: number; mtime: number }>> {
    const out = new Map<string, { bytes: number; mtime: number }>();
    const dir = path.join(this.#root, "pieces");
    for (const sub of await fs.promises.readdir(dir).catch(() => [] as string[])) {
      for (const h of await fs.promises.readdir(path.join(dir, sub)).catch(() => [] as string[])) {
        if (!Sha256Pattern.test(h)) continue;
        const st = await fs.promises.stat(path.join(dir, sub, h)).catch(() => null);
        if (st) out.set(h, { bytes: st.size, mtime: st.mtimeMs });
      }
    }
    return out;
  }

  async #size(): Promise<number> {
    const pkgs = await this.#scanPackages();
    let n = pkgs.reduce((s, p) => s + p.bytes, 0);
    for (const p of (await this.#scanPieces()).values()) n += p.bytes;
    return n;
  }

  #used(): Record<string, number> {
    if (this.#lastUsed) return this.#lastUsed;
    try {
      this.#lastUsed = readJsonAs(lastUsedSchema, fs.readFileSync(this.#usedFile, "utf8")) ?? {};
    } catch {
      this.#lastUsed = {};
    }
    return this.#lastUsed;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

async function treeSize(dir: string): Promise<number> {
  let n = 0;
  for (const e of await fs.promises.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += await treeSize(p);
    else if (e.isFile()) n += (await fs.promises.lstat(p)).size;
  }
  return n;
}
