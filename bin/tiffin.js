#!/usr/bin/env node
// The `tiffin` command. Tiffin runs TypeScript directly on Node 24+ (type stripping). On an older
// Node, re-run with the Node 24 the project installs (node_modules/.bin/node), or say what to do.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  const local = [join(here, "..", "node_modules", ".bin", "node"), join(here, "..", "..", ".bin", "node")].find((p) => existsSync(p));
  if (!local) {
    process.stderr.write(`tiffin: needs Node.js 24 or newer (this is ${process.version}); run \`npm install\` in the tiffin checkout, or install Node 24.\n`);
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
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
