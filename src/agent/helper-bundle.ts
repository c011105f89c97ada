// Helpers run from one plain JavaScript file, bundled by the agent at start. A helper started on
// src/helper/main.ts makes Node load its TypeScript type stripper (a WebAssembly compiler) into every
// helper: about 48 MiB PSS each, against about 14 MiB for the same code as one .mjs file (bench/
// RESULTS.md, "Helper memory"). Bundling once per agent start works from a git checkout with no build
// step and from an installed package (esbuild is a dependency), and always runs the source at hand.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { HelperSchemasDefine } from "../helper/checks.ts";
import { deriveHelperJsonSchemas } from "../helper/json-schemas.ts";
import { moduleFile } from "../model/module-file.ts";
import { inSingleExecutable } from "../model/single-file.ts";

/**
 * Node flags of every helper, each measured on 8 helpers (bench/RESULTS.md): a 1 MiB young
 * generation and no V8 worker threads (the helper has no work for them) take about 1 MiB PSS off.
 */
export const HelperNodeFlags = ["--max-semi-space-size=1", "--v8-pool-size=0"] as const;

/** The helper's entry point: src/helper/main.ts in a checkout, dist/helper/main.js as built for a package. */
export const helperSource = fileURLToPath(moduleFile("../helper/main.ts", import.meta.url));

// The helper's CommonJS dependencies (pino) call `require` for Node built-ins; an ES module has none.
const requireBanner = 'import { createRequire as __tiffinCreateRequire } from "node:module"; const require = __tiffinCreateRequire(import.meta.url);';

/** What `prepareHelperCommand` settled on. */
export interface HelperCommand {
  /** argv that starts a helper; the attempt directory is appended. */
  argv: string[];
  /** The bundle the argv runs, or null when bundling failed and helpers run the TypeScript source. */
  bundle: string | null;
  /** Why bundling failed (the helpers then cost about 35 MiB more each), or null. */
  problem: string | null;
}

/** The esbuild binary: the platform package's, else esbuild's own (native after its install script). */
export function esbuildBinary(): string | null {
  const req = createRequire(import.meta.url);
  for (const id of [`@esbuild/${process.platform}-${process.arch}/bin/esbuild`, "esbuild/bin/esbuild"]) {
    try {
      return req.resolve(id);
    } catch {
      // try the next
    }
  }
  return null;
}

/**
 * Bundles the helper into DIR/helper/helper-<hash>.mjs and returns the argv that runs it with this
 * Node. The binary is run directly rather than through esbuild's JS API, whose binary lookup fails
 * when node_modules is a symlink to a folder of another name (as in our worktrees). On any failure
 * the helpers run the TypeScript source: slower to start and larger, but working.
 */
export async function prepareHelperCommand(dataDir: string): Promise<HelperCommand> {
  // The single executable holds the helper already: it runs itself as `tiffin helper DIR`. Node's
  // flags cannot go on its argv (it takes none), so NODE_OPTIONS would carry HelperNodeFlags.
  if (inSingleExecutable()) return { argv: [process.execPath, "helper"], bundle: null, problem: null };
  const fallback = [process.execPath, ...HelperNodeFlags, "--disable-warning=ExperimentalWarning", helperSource];
  const bin = esbuildBinary();
  if (bin === null) return { argv: fallback, bundle: null, problem: "esbuild is not installed" };
  const dir = path.join(dataDir, "helper");
  const tmp = path.join(dir, `.build-${process.pid}-${Date.now()}.mjs`);
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    // The helper checks with JSON Schemas derived here from the zod schemas (checks.ts), so zod stays
    // out of the bundle: it cost each helper ~10 MiB (bench/RESULTS.md, "Helper validation").
    const schemas = `--define:${HelperSchemasDefine}=${JSON.stringify(deriveHelperJsonSchemas())}`;
    await run(bin, [helperSource, "--bundle", "--platform=node", "--format=esm", "--target=node24", schemas, `--banner:js=${requireBanner}`, `--outfile=${tmp}`, "--log-level=error"]);
    const hash = createHash("sha256").update(await fs.promises.readFile(tmp)).digest("hex").slice(0, 16);
    const bundle = path.join(dir, `helper-${hash}.mjs`);
    await fs.promises.rename(tmp, bundle);
    // Running helpers have read their file already; old bundles are only clutter.
    for (const name of await fs.promises.readdir(dir)) {
      if (name !== path.basename(bundle) && /^helper-[0-9a-f]+\.mjs$/.test(name)) await fs.promises.rm(path.join(dir, name), { force: true });
    }
    await pruneSharedHelperLogs(dir, Date.now());
    return { argv: [process.execPath, ...HelperNodeFlags, bundle], bundle, problem: null };
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    return { argv: fallback, bundle: null, problem: err instanceof Error ? err.message : String(err) };
  }
}

/** Removes the logs of shared helper processes (helper-pool.ts) that ended over a day ago: a live one
 * keeps its control socket beside its log. */
export async function pruneSharedHelperLogs(dir: string, now: number): Promise<void> {
  for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
    const m = /^(pool-[0-9a-f]+)\.log$/.exec(name);
    if (!m || fs.existsSync(path.join(dir, `${m[1]}.sock`))) continue;
    const st = await fs.promises.stat(path.join(dir, name)).catch(() => null);
    if (st && now - st.mtimeMs > 86_400_000) await fs.promises.rm(path.join(dir, name), { force: true });
  }
}

function run(bin: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 60_000 }, (err, _out, stderr) => {
      if (err) reject(new Error(`esbuild failed: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}
