// The agent's helper command: bundled into plain JavaScript, and a real helper started with it runs its
// task with a small private memory (the TypeScript source costs ~35 MiB more per helper).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { HelperConfig } from "../helper/protocol.ts";
import { helperPaths } from "../helper/paths.ts";
import { readStatusFile } from "../helper/status.ts";
import { HelperNodeFlags, prepareHelperCommand, pruneSharedHelperLogs } from "./helper-bundle.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bundle-"));
const pids: number[] = [];
after(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      // gone
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
});

function attempt(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const config: HelperConfig = {
    attemptId: name,
    job: "j",
    index: 0,
    command: ["sleep", "60"],
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ATTEMPT_ID: name },
    files: {},
    ports: {},
    health: null,
    stop: { signal: "SIGTERM", graceMs: 1000 },
    fenceMs: 600_000,
    logSegmentBytes: 1 << 20,
    logSegmentsKept: 2,
  };
  fs.writeFileSync(helperPaths(dir).config, JSON.stringify(config));
  return dir;
}

/** kB of anonymous (private) memory of a process, from smaps_rollup. */
function anonKiB(pid: number): number {
  const m = /^Anonymous:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  assert.ok(m, "smaps_rollup has Anonymous");
  return Number(m[1]);
}

void test("the agent runs helpers from a plain JavaScript bundle, and such a helper runs its task in under 14 MiB of private memory", async () => {
  const dataDir = path.join(root, "data");
  const cmd = await prepareHelperCommand(dataDir);
  assert.equal(cmd.problem, null);
  assert.ok(cmd.bundle !== null && cmd.bundle.startsWith(path.join(dataDir, "helper")) && cmd.bundle.endsWith(".mjs"), `bundle ${cmd.bundle}`);
  assert.deepEqual(cmd.argv, [process.execPath, ...HelperNodeFlags, cmd.bundle]);
  // A second start reuses the same file name (content hash) and leaves one bundle.
  assert.deepEqual((await prepareHelperCommand(dataDir)).bundle, cmd.bundle);
  assert.deepEqual(fs.readdirSync(path.join(dataDir, "helper")), [path.basename(cmd.bundle)]);
  // The helper checks with schemas derived at bundle time, so zod is not in the bundle (it was 860 KB).
  const text = fs.readFileSync(cmd.bundle, "utf8");
  assert.doesNotMatch(text, /node_modules\/zod\//);
  assert.ok(text.length < 200_000, `bundle is ${text.length} bytes`);

  const dir = attempt("a1");
  const [bin, ...args] = cmd.argv;
  const child = spawn(bin!, [...args, dir], { detached: true, stdio: "ignore" });
  pids.push(child.pid!);
  child.unref();
  const deadline = Date.now() + 20_000;
  while (readStatusFile(helperPaths(dir).status)?.state !== "running") {
    if (Date.now() > deadline) assert.fail(`helper did not run its task: ${JSON.stringify(readStatusFile(helperPaths(dir).status))}`);
    await sleep(100);
  }
  await sleep(1000); // let start-up garbage settle
  const kib = anonKiB(child.pid!);
  // 23 MiB when the bundle carried zod for its checks; 12.5 MiB with the derived checker (checks.ts).
  assert.ok(kib < 14 * 1024, `helper holds ${(kib / 1024).toFixed(1)} MiB of private memory`);
});

void test("pruneSharedHelperLogs: a shared process's log goes a day after the process ended, not while it runs", async () => {
  const dir = path.join(root, "prune");
  fs.mkdirSync(dir, { recursive: true });
  const old = new Date(Date.now() - 2 * 86_400_000);
  for (const name of ["pool-aa.log", "pool-bb.log", "pool-bb.sock", "pool-cc.log", "helper-1.mjs"]) fs.writeFileSync(path.join(dir, name), "");
  for (const name of ["pool-aa.log", "pool-bb.log"]) fs.utimesSync(path.join(dir, name), old, old);
  await pruneSharedHelperLogs(dir, Date.now());
  assert.deepEqual(fs.readdirSync(dir).sort(), ["helper-1.mjs", "pool-bb.log", "pool-bb.sock", "pool-cc.log"]);
});
