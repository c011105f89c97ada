// Fetching a task's pinned packages before it starts: the manifest comes from the server, the pieces
// from a PieceSource (the swarm: peers first, the server as origin last; see swarm/), or without one
// from the server one after another; each is verified by hash before it is stored. Each package is
// laid out once as a read-only tree by id, and its pieces are written straight into the tree's files
// (extents of the PieceStore, served to peers from there): every byte is written once, not once as a
// piece file and again when unpacking. A piece the store holds already (another version's tree, a
// piece file) is copied locally, not fetched. A fetch builds the tree under trees/.ID.partial and
// renames it into place when complete; an interrupted fetch resumes from the pieces found intact
// there. A tree already unpacked needs no server at all, so tasks restart from the cache while the
// server is down.

import fs from "node:fs";
import path from "node:path";
import { checkAnswer } from "../api/agent-wire.ts";
import { packageRecordSchema } from "../model/index.ts";
import type { PackagePin } from "../model/index.ts";
import type { Manifest, ManifestFile, Place } from "../pkg/index.ts";
import { isManifest, manifestProblem, packageId, piecePool, PieceStore, piecesOf, readManifestSync, removeTree, Sha256Pattern } from "../pkg/index.ts";

/** Fetches bytes of a server path (`/v1/agent/packages/...`) with the host token, or says why not. */
export type FetchBytes = (urlPath: string) => Promise<Buffer | { error: string }>;

/** Where missing pieces come from (the swarm); it stores each verified piece in DATA/packages/pieces. */
export interface PieceSource {
  fetchPieces(id: string, m: Manifest, onProgress?: (done: number, total: number) => void): Promise<{ ok: true } | { error: string }>;
}

/** The agent's package cache. */
export class PackageCache {
  readonly #root: string;
  readonly #pieces: PieceStore;
  readonly #fetch: FetchBytes;
  readonly #source: PieceSource | null;
  /** Files of complete trees by content and mode (fileKey), for later versions to link. */
  readonly #files = new Map<string, string>();
  /** One preparation per package id at a time (tasks of one job start together). */
  readonly #inflight = new Map<string, Promise<{ path: string } | { error: string }>>();

  /** `source`: where pieces come from. @default null (each from the server through `fetchBytes`) */
  constructor(dataDir: string, fetchBytes: FetchBytes, source: PieceSource | null = null) {
    this.#root = path.join(dataDir, "packages");
    this.#pieces = new PieceStore(path.join(this.#root, "pieces"));
    this.#fetch = fetchBytes;
    this.#source = source;
    this.#adoptTrees();
  }

  /** Registers the pieces of every unpacked tree with the store (unverified: read back, they are
   * hashed once), so they are served and reused after a restart. */
  #adoptTrees(): void {
    let ids: string[];
    try {
      ids = fs.readdirSync(path.join(this.#root, "trees")).filter((n) => Sha256Pattern.test(n));
    } catch {
      return;
    }
    for (const id of ids) {
      const m = readManifestSync(path.join(this.#root, "manifests", `${id}.json`));
      if (m === null || manifestProblem(m) !== null) continue;
      this.#pieces.addExtents(placesOf(m, path.join(this.#root, "trees", id)));
      this.#learnFiles(m, path.join(this.#root, "trees", id));
    }
  }

  /** Remembers the files of a complete tree, for later versions to link rather than copy. */
  #learnFiles(m: Manifest, dir: string): void {
    for (const f of m.files) if (f.size > 0) this.#files.set(fileKey(f), path.join(dir, f.path));
  }

  /** Hard-links into `dir` every file of `m` that a complete tree holds already, byte for byte and with
   * the same mode (trees are read-only, so they can share inodes: a new version whose files are
   * mostly unchanged costs neither network nor disk for those); returns the files linked. */
  async #linkUnchanged(m: Manifest, dir: string): Promise<Set<string>> {
    const linked = new Set<string>();
    for (const f of m.files) {
      const from = f.size > 0 ? this.#files.get(fileKey(f)) : undefined;
      if (from === undefined) continue;
      const to = path.join(dir, f.path);
      try {
        const [a, b] = [fs.statSync(from), fs.statSync(to, { throwIfNoEntry: false })];
        if (b === undefined) {
          await fs.promises.mkdir(path.dirname(to), { recursive: true });
          await fs.promises.link(from, to);
        } else if (b.ino !== a.ino) continue; // a file of its own (an earlier try): filled as usual
        linked.add(to);
      } catch {
        // gone (GC), another filesystem: copied piece by piece instead
      }
    }
    return linked;
  }

  /** Host paths of the unpacked trees by package name, or why one could not be prepared. */
  async prepare(pins: PackagePin[]): Promise<{ paths: Record<string, string> } | { error: string }> {
    const paths: Record<string, string> = {};
    for (const pin of pins) {
      const r = await this.fetchPackage(pin.id);
      if ("error" in r) return { error: `package ${pin.name}:${pin.version} (${pin.id.slice(0, 12)}): ${r.error}` };
      paths[pin.name] = r.path;
    }
    return { paths };
  }

  /** The unpacked tree of package `id`, fetched first if needed; one fetch per id at a time. */
  fetchPackage(id: string, onProgress?: (done: number, total: number) => void): Promise<{ path: string } | { error: string }> {
    let p = this.#inflight.get(id);
    if (!p) {
      p = this.#one(id, onProgress).finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, p);
    }
    return p;
  }

  async #one(id: string, onProgress?: (done: number, total: number) => void): Promise<{ path: string } | { error: string }> {
    const trees = path.join(this.#root, "trees");
    const tree = path.join(trees, id);
    if (fs.existsSync(tree)) return { path: tree };
    const manifest = await this.#manifest(id);
    if ("error" in manifest) return manifest;
    const problem = manifestProblem(manifest);
    if (problem !== null) return { error: `manifest of ${id}: ${problem}` };
    const partial = path.join(trees, `.${id}.partial`);
    const resumed = fs.existsSync(partial);
    let places: Map<string, Place[]>;
    let linked: Set<string>;
    try {
      linked = await this.#linkUnchanged(manifest, partial);
      places = await layOut(manifest, partial, linked);
    } catch (err) {
      // A partial tree left half made read-only (a crash while finishing): start it again.
      if (!resumed) return { error: `laying out ${partial}: ${err instanceof Error ? err.message : String(err)}` };
      await removeTree(partial);
      return this.#one(id, onProgress);
    }
    // Pieces in linked files are there (hashed when first read); those already in place in a file of
    // this tree (an interrupted fetch) are verified and kept; the rest is expected.
    const missing = new Map<string, Place[]>();
    const found = new Map<string, Place[]>();
    const inLinks = new Map<string, Place[]>();
    for (const [h, list] of places) {
      const own = list.filter((p) => !linked.has(p.file));
      if (own.length < list.length) inLinks.set(h, list.filter((p) => linked.has(p.file)));
      if (own.length === 0) continue;
      let ok = resumed;
      for (const p of own) if (ok) ok = await this.#pieces.verifyAt(h, p);
      (ok ? found : missing).set(h, own);
    }
    this.#pieces.addExtents(inLinks);
    this.#pieces.addExtents(found, true);
    this.#pieces.expect(missing);
    try {
      // Held already (another package's tree, a piece file): copied here, not fetched.
      for (const h of missing.keys()) {
        if (!this.#pieces.has(h)) continue;
        const data = await this.#pieces.get(h, { pooled: true });
        if (!data) continue;
        try {
          await this.#pieces.put(data, h);
        } finally {
          piecePool.give(data);
        }
      }
      const fetched = await this.#fetchPieces(id, manifest, onProgress);
      if ("error" in fetched) return fetched;
      const left = [...missing.keys()].filter((h) => this.#pieces.expecting(h, partial));
      if (left.length > 0) return { error: `${left.length} pieces were not stored, among them ${left[0]}` };
    } finally {
      this.#pieces.unexpect(partial);
    }
    await finishTree(manifest, partial);
    await fs.promises.rename(partial, tree);
    this.#pieces.moveExtents(partial, tree);
    this.#learnFiles(manifest, tree);
    return { path: tree };
  }

  async #fetchPieces(id: string, manifest: Manifest, onProgress?: (done: number, total: number) => void): Promise<{ ok: true } | { error: string }> {
    if (this.#source) return this.#source.fetchPieces(id, manifest, onProgress);
    for (const h of piecesOf(manifest)) {
      if (this.#pieces.has(h)) continue;
      const data = await this.#fetch(`/v1/agent/packages/pieces/${h}`);
      if (!Buffer.isBuffer(data)) return { error: `fetching piece ${h}: ${data.error}` };
      const put = await this.#pieces.put(data, h);
      if ("error" in put) return { error: `the server sent a corrupt piece: ${put.error}` };
    }
    return { ok: true };
  }

  async #manifest(id: string): Promise<Manifest | { error: string }> {
    const file = path.join(this.#root, "manifests", `${id}.json`);
    const cached = await fs.promises.readFile(file, "utf8").catch(() => null);
    if (cached !== null) {
      const m = parseJson(cached);
      if (isManifest(m) && packageId(m) === id) return m;
    }
    const data = await this.#fetch(`/v1/agent/packages/manifests/${id}`);
    if (!Buffer.isBuffer(data)) return { error: `fetching its manifest: ${data.error}` };
    // A PackageRecord; only its manifest is used here, and that is checked whole below.
    const rec = checkAnswer(packageRecordSchema.pick({ manifest: true }), parseJson(data.toString("utf8")));
    const m = rec.ok ? rec.value.manifest : null;
    if (!isManifest(m)) return { error: `the server sent no valid manifest (${rec.ok ? manifestProblem(m) : rec.problem})` };
    if (packageId(m) !== id) return { error: "the server sent a manifest that does not hash to the pinned id" };
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(file, JSON.stringify(m), { mode: 0o600 });
    return m;
  }
}

/** Where each piece of `m` lives in a tree at `dir`, by hash (a piece may be in several places). */
export function placesOf(m: Manifest, dir: string): Map<string, Place[]> {
  const out = new Map<string, Place[]>();
  for (const f of m.files) {
    const file = path.join(dir, f.path);
    f.pieces.forEach((h, i) => {
      const offset = i * m.pieceSize;
      const p: Place = { file, offset, length: Math.min(m.pieceSize, f.size - offset) };
      const list = out.get(h);
      if (list) list.push(p);
      else out.set(h, [p]);
    });
  }
  return out;
}

/** A file's identity across packages: content (its pieces) and what the tree makes its mode. */
function fileKey(f: ManifestFile): string {
  return `${f.mode & 0o555}:${f.size}:${f.pieces.join("")}`;
}

/** Makes the directories and files of `m` under `dir` (files at their full size, holes where pieces
 * are still missing; what an earlier fetch wrote is kept; `linked` files are there already) and says
 * where each piece goes. */
async function layOut(m: Manifest, dir: string, linked: ReadonlySet<string>): Promise<Map<string, Place[]>> {
  await fs.promises.mkdir(dir, { recursive: true });
  for (const d of m.dirs) await fs.promises.mkdir(path.join(dir, d), { recursive: true });
  for (const f of m.files) {
    const file = path.join(dir, f.path);
    if (linked.has(file)) continue;
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const fh = await fs.promises.open(file, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      if ((await fh.stat()).size !== f.size) await fh.truncate(f.size);
    } finally {
      await fh.close();
    }
  }
  return placesOf(m, dir);
}

/** Symlinks and modes: the tree becomes what the manifest says, read-only. */
async function finishTree(m: Manifest, dir: string): Promise<void> {
  for (const s of m.symlinks) {
    const at = path.join(dir, s.path);
    await fs.promises.mkdir(path.dirname(at), { recursive: true });
    await fs.promises.rm(at, { force: true });
    await fs.promises.symlink(s.target, at);
  }
  for (const f of m.files) await fs.promises.chmod(path.join(dir, f.path), f.mode & 0o555);
  // Directories last and deepest first: read-only from here on.
  for (const d of [...m.dirs].sort((a, b) => b.length - a.length)) await fs.promises.chmod(path.join(dir, d), 0o555);
  await fs.promises.chmod(dir, 0o555);
}

/** GETs a server path with the host token; errors (no identity yet, server down, non-200) are values. */
export async function fetchFromServer(baseUrl: string, token: string | null, urlPath: string, timeoutMs = 60_000, fetchImpl: typeof fetch = fetch): Promise<Buffer | { error: string }> {
  if (token === null) return { error: "the agent is not registered yet" };
  try {
    const res = await fetchImpl(`${baseUrl}${urlPath}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return { error: `${baseUrl} answered ${res.status}: ${body.toString("utf8").slice(0, 200)}` };
    return body;
  } catch (err) {
    return { error: `${baseUrl}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** JSON text parsed, or null when it is not JSON (a torn cache file, a proxy's page). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
