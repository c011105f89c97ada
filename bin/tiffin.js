#!/usr/bin/env node
// The `tiffin` command. In a checkout it runs the TypeScript sources directly on Node 24+ (type
// stripping); an installed package runs the JavaScript that `npm run build` emitted to dist/, since Node
// strips no types under node_modules. On an older Node, re-run with the Node 24 the project installs
// (node_modules/.bin/node), or say what to do.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split(".")[0]);
const installed = here.split(sep).includes("node_modules");
if (major < 24) {
  const local = [join(here, "..", "node_modules", ".bin", "node"), join(here, "..", "..", ".bin", "node")].find((p) => existsSync(p));
  if (!local) {
    const how = installed ? "install Node.js 24 (nodejs.org, or `npm install -g node@24`) and run tiffin with it" : "run `npm install` in the tiffin checkout, or install Node 24";
    process.stderr.write(`tiffin: needs Node.js 24 or newer (this is ${process.version} at ${process.execPath}); ${how}.\n`);
    process.exit(1);
  }
  const r = spawnSync(local, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(r.status ?? 1);
}
// `tiffin pkg run REF -- ARGS` from a warm cache: straight to the entry point (execve) without loading
// the whole CLI; anything else (a fetch, a tag, options) falls through to it.
if (process.argv[2] === "pkg" && process.argv[3] === "run" && !process.env.TIFFIN_NO_FAST_RUN) {
  const { fastRun } = await import("./pkg-run-fast.js");
  fastRun(process.argv.slice(4), process.env);
}
// The sources when they are here and not installed as a dependency; else the build (a package ships
// no src/). A checkout never runs a stale dist/ by accident.
const source = join(here, "..", "src", "cli", "main.ts");
const entry = existsSync(source) && !installed ? "../src/cli/main.ts" : "../dist/cli/main.js";
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
