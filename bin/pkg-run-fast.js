// The warm path of `tiffin pkg run REF [-- ARGS]` in plain JavaScript, taken by bin/tiffin.js before
// the CLI loads: Node compiles away types with a WASM compiler it loads on the first .ts import (about
// 100 ms here), and the whole CLI takes about 0.3 s more (bench/pkg-run.ts). When REF is an id or a
// name:version already resolved, and its tree and manifest are in the cache, this replaces the process
// with the entry point; otherwise it returns and the CLI (src/cli/commands/pkg-run.ts) handles the
// command. It trusts the cache as the CLI wrote it (trees read-only, unpacked from verified pieces); the
// CLI path checks the manifest's hash too, and `--verify` re-hashes the tree.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve, sep } from "node:path";

const sha256 = /^[0-9a-f]{64}$/;
const name = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const ref = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return null;
  }
}

/** Execs the cached entry point and never returns, or returns false. */
export function fastRun(argv, env) {
  const [text, dashes, ...args] = argv;
  if (text === undefined || text.startsWith("-") || (dashes !== undefined && dashes !== "--")) return false;
  const root = env.TIFFIN_PKG_CACHE ?? join(env.HOME ?? homedir(), ".cache", "tiffin", "pkg");
  let id = text;
  if (!sha256.test(text)) {
    const i = text.indexOf(":");
    const [n, r] = i < 0 ? [text, "latest"] : [text.slice(0, i), text.slice(i + 1)];
    if (!name.test(n) || !ref.test(r)) return false;
    const rec = readJson(join(root, "refs", n, `${r}.json`));
    // Only versions: a tag may have moved, so the CLI asks the server.
    if (rec?.kind !== "version" || typeof rec.id !== "string" || !sha256.test(rec.id)) return false;
    id = rec.id;
  }
  const manifest = readJson(join(root, "manifests", `${id}.json`));
  const tree = join(root, "trees", id);
  if (typeof manifest?.entrypoint !== "string" || typeof manifest.name !== "string" || !existsSync(tree)) return false;
  const file = resolve(tree, manifest.entrypoint);
  if (!file.startsWith(tree + sep) || !existsSync(file) || typeof process.execve !== "function") return false;
  const envName = `TIFFIN_PKG_${manifest.name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
  process.execve(file, [file, ...args], { ...process.env, [envName]: tree });
}
