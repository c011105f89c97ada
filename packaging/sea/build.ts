// `npm run build:sea`: Tiffin as one executable file (Node's single executable applications), so a
// host needs neither Node nor node_modules (docs/operations.md, "One file per host").
//   1. esbuild bundles src/cli/single-file.ts, with every dependency, into one CommonJS file (the
//      single executable runs CommonJS), and each worker thread's module into its own file, embedded
//      as an asset (src/model/single-file.ts runs them from there);
//   2. `node --experimental-sea-config` turns the bundle and the assets into a blob;
//   3. postject writes the blob into a copy of this Node binary: build/tiffin.
// Prints the path of the executable. postject comes from devDependencies, else npx fetches the same
// version (node_modules shared by worktrees may predate it).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { HelperSchemasDefine } from "../../src/helper/checks.ts";
import { deriveHelperJsonSchemas } from "../../src/helper/json-schemas.ts";

const root = path.resolve(import.meta.dirname, "..", "..");
const out = path.join(root, "build");
const work = path.join(out, "sea");
/** The sentinel Node's binary carries to find the blob (Node's docs on single executable applications). */
const fuse = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";
const postject = "postject@1.0.0-alpha.6";

// CommonJS has no import.meta: each use reads a made-up path inside the executable, which no file
// lookup finds and no argv[1] names (so no module takes itself for the program's entry point).
const meta = {
  "import.meta.url": "__tiffinMetaUrl",
  "import.meta.dirname": "__tiffinMetaDirname",
  "import.meta.filename": "__tiffinMetaFilename",
};
const banner = [
  'var __tiffinMetaFilename = require("node:path").join(process.execPath, "bundle.cjs");',
  'var __tiffinMetaDirname = require("node:path").dirname(__tiffinMetaFilename);',
  'var __tiffinMetaUrl = require("node:url").pathToFileURL(__tiffinMetaFilename).href;',
].join("\n");

const version = (JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { version: string }).version;

/** Bundles `entry` (relative to the root) into `file` in the work folder. */
async function bundle(entry: string, file: string): Promise<string> {
  const outfile = path.join(work, file);
  await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node24",
    outfile,
    // The helper's checks read JSON Schemas derived from its zod schemas (src/helper/checks.ts): written
    // in here as the agent's helper bundle does, since no source file exists to derive them from.
    define: { ...meta, TIFFIN_EMBEDDED_VERSION: JSON.stringify(version), [HelperSchemasDefine]: JSON.stringify(deriveHelperJsonSchemas()) },
    banner: { js: banner },
    logLevel: "error",
    // esbuild's own JavaScript API is bundled too (the spec evaluator imports it); it needs its native
    // binary only when a TypeScript spec is evaluated (ESBUILD_BINARY_PATH).
    logOverride: { "require-resolve-not-external": "silent", "empty-import-meta": "silent" },
  });
  return outfile;
}

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(work, { recursive: true });
const main = await bundle("src/cli/single-file.ts", "tiffin.cjs");
const assets: Record<string, string> = {
  "grep-worker.cjs": await bundle("src/agent/grep-worker.ts", "grep-worker.cjs"),
  "sqlite-worker.cjs": await bundle("src/state/sqlite-worker.ts", "sqlite-worker.cjs"),
};
const blob = path.join(work, "tiffin.blob");
const config = path.join(work, "sea-config.json");
fs.writeFileSync(config, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, assets }, null, 2));
execFileSync(process.execPath, ["--experimental-sea-config", config], { stdio: "pipe" });

const exe = path.join(out, "tiffin");
fs.rmSync(exe, { force: true });
fs.copyFileSync(fs.realpathSync(process.execPath), exe);
fs.chmodSync(exe, 0o755);
execFileSync("npx", ["--yes", postject, exe, "NODE_SEA_BLOB", blob, "--sentinel-fuse", fuse], { cwd: root, stdio: "pipe" });
process.stdout.write(`${exe}\n`);
