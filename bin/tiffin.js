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
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
