// Launch time of `tiffin pkg run` from a warm cache against running the same entry point from a plain
// directory, median of N runs each, for a shell script and a Node script that print one line. Also the
// parts: Node's own start, the whole CLI's load (`tiffin --version`), the full-CLI path of `pkg run`
// (TIFFIN_NO_FAST_RUN=1) against the fast path bin/tiffin.js takes before loading the CLI, and inside
// the process the time to resolve and check the cached tree (with and without re-hashing it).
//
//   node bench/pkg-run.ts [--runs 30]

import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ApiClient } from "../src/api/client.ts";
import { pkgPushHandler } from "../src/cli/commands/pkg.ts";
import { cachedId, fromCache } from "../src/cli/commands/pkg-run.ts";
import { PieceStore, removeTree } from "../src/pkg/index.ts";
import { startServer } from "../src/server/main.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "30" } } });
const RUNS = Number(values.runs);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bench-run-"));
const bin = path.join(import.meta.dirname, "..", "bin", "tiffin.js");
const cache = path.join(root, "cache");
const baseEnv = { PATH: `${path.dirname(process.execPath)}:${process.env["PATH"] ?? ""}`, HOME: root, TIFFIN_PKG_CACHE: cache };

// Two packages: a shell script and a Node script, each printing one line, plus 8 MiB of other files
// (a package is rarely one file; the checks must not grow with it).
const entries = { sh: "#!/bin/sh\necho hello from sh\n", node: "#!/usr/bin/env node\nconsole.log('hello from node');\n" };
const dirs: Record<string, string> = {};
for (const [name, script] of Object.entries(entries)) {
  const dir = path.join(root, `src-${name}`);
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  fs.mkdirSync(path.join(dir, "lib"));
  fs.writeFileSync(path.join(dir, "bin", "hello"), script, { mode: 0o755 });
  for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(dir, "lib", `part${i}.bin`), Buffer.alloc(1024 * 1024, i + 1));
  dirs[name] = dir;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** Median wall time (ms) of running argv to completion; checks its output once. */
function time(argv: string[], env: Record<string, string>, want: string): number {
  const check = spawnSync(argv[0]!, argv.slice(1), { env, encoding: "utf8" });
  if (check.stdout !== want) throw new Error(`${argv.join(" ")}: expected ${JSON.stringify(want)}, got ${JSON.stringify(check.stdout)} ${check.stderr}`);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    spawnSync(argv[0]!, argv.slice(1), { env, stdio: "ignore" });
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
try {
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  const store = new PieceStore(path.join(root, "build"));
  for (const name of Object.keys(entries)) await pkgPushHandler(api, { dir: dirs[name]!, name: `hello-${name}`, version: "1", entrypoint: "bin/hello", store });
  // Warm the cache: the first run fetches (async: the server is in this process).
  for (const name of Object.keys(entries)) {
    const code = await new Promise<number | null>((resolve) => {
      spawn(process.execPath, [bin, "pkg", "run", `hello-${name}:1`], { env: { ...baseEnv, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken }, stdio: "ignore" }).on("close", resolve);
    });
    if (code !== 0) throw new Error(`warming hello-${name}: exit ${code}`);
  }
} finally {
  // Everything below runs from the cache: no server.
  await server.close();
}

try {
  const rows: [string, number][] = [];
  rows.push(["node -e 0 (Node's own start)", time([process.execPath, "-e", "0"], baseEnv, "")]);
  rows.push(["tiffin --version (the whole CLI loaded)", time([process.execPath, bin, "--version"], baseEnv, `${JSON.parse(fs.readFileSync(path.join(import.meta.dirname, "..", "package.json"), "utf8")).version}\n`)]);
  for (const name of Object.keys(entries)) {
    const want = `hello from ${name}\n`;
    rows.push([`${name}: plain directory (exec bin/hello)`, time([path.join(dirs[name]!, "bin", "hello")], baseEnv, want)]);
    rows.push([`${name}: tiffin pkg run (fast path)`, time([process.execPath, bin, "pkg", "run", `hello-${name}:1`], baseEnv, want)]);
    rows.push([`${name}: tiffin pkg run (whole CLI, TIFFIN_NO_FAST_RUN=1)`, time([process.execPath, bin, "pkg", "run", `hello-${name}:1`], { ...baseEnv, TIFFIN_NO_FAST_RUN: "1" }, want)]);
  }
  // Inside the process: resolving name:version to an id and checking the tree, as fastRun does.
  const inside = (verify: boolean): number => {
    const us: number[] = [];
    for (let i = 0; i < Math.max(RUNS, 200); i++) {
      const t0 = performance.now();
      const id = cachedId(cache, "hello-sh:1");
      const hit = id ? fromCache(cache, id, verify) : null;
      if (!hit || "error" in hit) throw new Error("not in the cache");
      us.push((performance.now() - t0) * 1000);
    }
    return median(us) / 1000;
  };
  rows.push(["inside: resolve + check the cached tree (manifest hash, tree present)", inside(false)]);
  rows.push(["inside: the same, re-hashing the 8 MiB tree (--verify)", inside(true)]);
  console.log(`\n| launch, median of ${RUNS} | ms |`);
  console.log("| --- | --- |");
  for (const [what, ms] of rows) console.log(`| ${what} | ${ms.toFixed(ms < 1 ? 3 : 1)} |`);
  console.log(`\nmachine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}, load ${os.loadavg()[0]?.toFixed(1)}; rerun: node bench/pkg-run.ts --runs ${RUNS}`);
} finally {
  await removeTree(root);
}
