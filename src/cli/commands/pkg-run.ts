// `tiffin pkg run REF -- ARGS`: runs a package's entry point straight from the per-user cache, fetching
// it from the server first if needed, the way a XAR runs from its shebang. The process is replaced by
// the entry point (execve): stdio, signals and the exit code are the entry point's own.
//
// Cache (the build store's directory, $TIFFIN_PKG_CACHE, default ~/.cache/tiffin/pkg): pieces by hash
// (shared with `pkg build`), manifests/<id>.json, trees/<id> (read-only, as on agents), and
// refs/<name>/<ref>.json (what a name:ref resolved to). A version never changes, so `name:version` and
// ids resolve from the cache without the server; a tag asks the server and falls back to its last
// resolution when the server cannot be reached.
//
// bin/pkg-run-fast.js is the warm path in plain JavaScript, which bin/tiffin.js takes before loading
// the CLI or any TypeScript (bench/pkg-run.ts measures both).

import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import type { Manifest } from "../../pkg/manifest.ts";
import { isManifest, packageId, PieceSize, piecesOf, readManifestSync, sha256, Sha256Pattern } from "../../pkg/manifest.ts";
import { z } from "zod";
import { readJsonAs } from "../../model/index.ts";
import { PieceStore } from "../../pkg/pieces.ts";
import { parsePackageRef, packageEnvVar } from "../../pkg/ref.ts";
import { unpackPackage } from "../../pkg/unpack.ts";
import type { CliContext } from "../command.ts";

/** The cache directory: $TIFFIN_PKG_CACHE, else ~/.cache/tiffin/pkg (the same as `localStore`). */
export function cacheDir(env: Record<string, string | undefined>): string {
  return env["TIFFIN_PKG_CACHE"] ?? path.join(env["HOME"] ?? os.homedir(), ".cache", "tiffin", "pkg");
}

/** A package ready to run from the cache. */
export interface Prepared {
  id: string;
  manifest: Manifest;
  tree: string;
  /** What happened: "cache" (nothing fetched) or "fetched". */
  source: "cache" | "fetched";
  /** Bytes fetched from the server. */
  fetchedBytes: number;
}

/** What is cached of a name:ref. */
/** What `refs/<name>/<ref>.json` holds: the id a version or tag resolved to. */
const refRecordSchema = z.object({ id: z.string().regex(Sha256Pattern), kind: z.enum(["version", "tag"]) });
type RefRecord = z.infer<typeof refRecordSchema>;

/** The id a reference names from the cache alone (ids, versions), or null (tags need the server). */
export function cachedId(root: string, text: string): string | null {
  if (Sha256Pattern.test(text)) return text;
  const ref = parsePackageRef(text);
  if ("error" in ref) return null;
  const rec = readRef(root, ref.name, ref.ref);
  return rec?.kind === "version" ? rec.id : null;
}

/** The cached package `id` (manifest hashing to the id, tree present), or null. With `verify`, every
 * file of the tree is re-hashed against the manifest's pieces (costs a read of the whole tree). */
export function fromCache(root: string, id: string, verify = false): { manifest: Manifest; tree: string } | { error: string } | null {
  const tree = path.join(root, "trees", id);
  const manifest = readManifestSync(path.join(root, "manifests", `${id}.json`));
  if (manifest === null) return null;
  if (packageId(manifest) !== id || !fs.existsSync(tree)) return null;
  if (verify) {
    const bad = verifyTree(manifest, tree);
    if (bad !== null) return { error: `cached tree ${tree} differs from its manifest: ${bad}` };
  }
  return { manifest, tree };
}

/** Resolves `text` (name:version, name:tag or id) and makes sure its tree is in the cache. */
export async function preparePackage(client: ApiClient, root: string, text: string, progress?: (line: string) => void): Promise<Prepared> {
  const id = await resolveId(client, root, text);
  const hit = fromCache(root, id);
  if (hit && "error" in hit) throw new TiffinError(ErrorCodes.Conflict, hit.error, { hint: `remove ${path.join(root, "trees", id)} (chmod -R u+w first) to fetch it again` });
  if (hit) return { id, ...hit, source: "cache", fetchedBytes: 0 };

  const rec = await client.packageById(id);
  const manifest = rec.manifest;
  if (!isManifest(manifest) || packageId(manifest) !== id) {
    throw new TiffinError(ErrorCodes.Unavailable, `the server sent a manifest for ${id} that does not hash to it`, { hint: "check --addr points at the right server" });
  }
  const store = new PieceStore(root);
  const need = piecesOf(manifest).filter((h) => !store.has(h));
  let bytes = 0;
  for (const [i, h] of need.entries()) {
    const data = await client.piece(h);
    const put = await store.put(data, h);
    if ("error" in put) throw new TiffinError(ErrorCodes.Unavailable, `the server sent a corrupt piece ${h}: ${put.error}`, { hint: "run the command again; if it persists, the server's disk may be damaged" });
    bytes += data.length;
    progress?.(`fetching ${manifest.name}:${manifest.version}: ${i + 1}/${need.length} pieces`);
  }
  writeAtomic(path.join(root, "manifests", `${id}.json`), JSON.stringify(manifest));
  const out = await unpackPackage(manifest, id, store, path.join(root, "trees"));
  if ("error" in out) throw new TiffinError(ErrorCodes.Conflict, `unpacking ${manifest.name}:${manifest.version}: ${out.error}`, { hint: "run the command again" });
  return { id, manifest, tree: out.path, source: "fetched", fetchedBytes: bytes };
}

async function resolveId(client: ApiClient, root: string, text: string): Promise<string> {
  const cached = cachedId(root, text);
  if (cached !== null) return cached;
  const ref = parsePackageRef(text);
  if ("error" in ref) throw new TiffinError(ErrorCodes.Usage, `"${text}": ${ref.error}`, { hint: "name a package as NAME:VERSION, NAME:TAG or by its 64-hex id" });
  let list;
  try {
    list = await client.packages(ref.name);
  } catch (err) {
    // A tag resolved before still runs while the server is away (what it pointed at then).
    const last = readRef(root, ref.name, ref.ref);
    if (last && err instanceof TiffinError && err.code === ErrorCodes.Unavailable) {
      process.stderr.write(`tiffin: server unreachable; running ${text} as last resolved (${last.id.slice(0, 12)})\n`);
      return last.id;
    }
    throw err;
  }
  // Versions first, as apply resolves them.
  const version = list.find((p) => p.version === ref.ref);
  const tagged = version ?? list.find((p) => p.tags.includes(ref.ref));
  if (!tagged) throw new TiffinError(ErrorCodes.NotFound, `package ${ref.name} has no version or tag "${ref.ref}"`, { hint: `list them with \`tiffin pkg history ${ref.name}\`` });
  writeAtomic(refPath(root, ref.name, ref.ref), JSON.stringify({ id: tagged.id, kind: version ? "version" : "tag" } satisfies RefRecord));
  return tagged.id;
}

/** The file to execute and its argv/env, or why the package cannot be run. */
export function entryOf(p: { id: string; manifest: Manifest; tree: string }, entry: string | undefined): { file: string } | { error: string; hint: string } {
  const rel = entry ?? p.manifest.entrypoint;
  const what = `${p.manifest.name}:${p.manifest.version}`;
  if (rel === undefined) return { error: `package ${what} has no entry point`, hint: "build it with `tiffin pkg push DIR --name N --entrypoint bin/x`, or pass --entry PATH" };
  const file = path.resolve(p.tree, rel);
  if (!file.startsWith(p.tree + path.sep)) return { error: `entry ${rel} is outside package ${what}`, hint: "give a path relative to the package root" };
  if (!fs.existsSync(file)) return { error: `package ${what} has no file ${rel}`, hint: "list its files in the manifest (`tiffin pkg build --json`)" };
  return { file };
}

/** Replaces this process with the entry point (execve); where that is unavailable, runs it as a child
 * with stdio inherited and exits with its status (128+n for a signal, as a shell reports it). */
export function execEntry(file: string, args: string[], p: { manifest: Manifest; tree: string }): never {
  const env: Record<string, string | undefined> = { ...process.env, [packageEnvVar(p.manifest.name)]: p.tree };
  const execve = (process as { execve?: (file: string, args: string[], env: Record<string, string | undefined>) => never }).execve;
  if (execve) execve(file, [file, ...args], env);
  const r = spawnSync(file, args, { stdio: "inherit", env });
  if (r.error) {
    process.stderr.write(`tiffin: cannot run ${file}: ${r.error.message}\n`);
    process.exit(126);
  }
  const sig = r.signal ? (os.constants.signals[r.signal] ?? 0) : 0;
  process.exit(r.status ?? 128 + sig);
}

function verifyTree(m: Manifest, tree: string): string | null {
  const buf = Buffer.allocUnsafe(PieceSize);
  for (const f of m.files) {
    let fd: number;
    try {
      fd = fs.openSync(path.join(tree, f.path), "r");
    } catch {
      return `${f.path} is missing`;
    }
    try {
      if (fs.fstatSync(fd).size !== f.size) return `${f.path} has another size`;
      for (const [i, h] of f.pieces.entries()) {
        const n = fs.readSync(fd, buf, 0, Math.min(PieceSize, f.size - i * PieceSize), i * PieceSize);
        if (sha256(buf.subarray(0, n)) !== h) return `${f.path} piece ${i} does not hash to ${h.slice(0, 12)}`;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return null;
}

function refPath(root: string, name: string, ref: string): string {
  return path.join(root, "refs", name, `${ref}.json`);
}

function readRef(root: string, name: string, ref: string): RefRecord | null {
  try {
    return readJsonAs(refRecordSchema, fs.readFileSync(refPath(root, name, ref), "utf8"));
  } catch {
    return null;
  }
}

function writeAtomic(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString("hex")}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/** Adds `pkg run` under the `pkg` command. */
export function registerRun(pkg: Command, ctx: CliContext): void {
  pkg
    .command("run")
    .argument("<ref>", "NAME:VERSION, NAME:TAG or a package id")
    .argument("[args...]", "arguments for the entry point (after --)")
    .option("--entry <path>", "file to run instead of the package's entry point")
    .option("--verify", "re-hash the cached tree against the manifest before running")
    .description("run a package's entry point from the local cache, fetching the package first if needed")
    .action(async (ref: string, args: string[], o: { entry?: string; verify?: boolean }) => {
      const root = cacheDir(ctx.io.env);
      const progress = (line: string): void => ctx.io.err(ctx.io.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
      const p = await preparePackage(ctx.client(), root, ref, progress);
      if (o.verify) {
        const checked = fromCache(root, p.id, true);
        if (checked && "error" in checked) throw new TiffinError(ErrorCodes.Conflict, checked.error, { hint: `remove ${p.tree} (chmod -R u+w first) to fetch it again` });
      }
      const e = entryOf(p, o.entry);
      if ("error" in e) throw new TiffinError(ErrorCodes.Usage, e.error, { hint: e.hint });
      execEntry(e.file, args, p);
    });
}
