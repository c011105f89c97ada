// Usage of tasks without a cgroup of their own: counters of a process tree read from a fake /proc
// (names with spaces and parentheses, a process outside the tree, one gone meanwhile), and a real plain
// task (isolation "none") that holds memory and burns CPU, seen in the helper's statuses.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { HelperHarness } from "./testkit.ts";
import { processTree, readProcCounters } from "./usage-proc.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-usage-proc-"));
const h = new HelperHarness();
after(async () => {
  await h.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** A /proc/PID with a stat line (utime..cstime in ticks) and a status with VmRSS. */
function proc(dir: string, pid: number, o: { comm: string; ppid: number; ticks: [number, number, number, number]; rssKb: number | null }): void {
  fs.mkdirSync(path.join(dir, String(pid)), { recursive: true });
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
  fs.writeFileSync(path.join(dir, String(pid), "stat"), `${pid} (${o.comm}) S ${o.ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${o.ticks.join(" ")} 20 0 1 0 100 1000 50\n`);
  fs.writeFileSync(path.join(dir, String(pid), "status"), `Name:\t${o.comm}\nState:\tS (sleeping)\n${o.rssKb === null ? "" : `VmRSS:\t    ${o.rssKb} kB\n`}Threads:\t1\n`);
}

void test("readProcCounters: the tree under the task's pid, CPU with reaped children, RSS summed", () => {
  const p = path.join(tmp, "proc");
  proc(p, 10, { comm: "sh", ppid: 1, ticks: [100, 50, 30, 20], rssKb: 1000 });
  proc(p, 11, { comm: "weird ) name (x", ppid: 10, ticks: [200, 0, 0, 0], rssKb: 2000 });
  proc(p, 12, { comm: "grandchild", ppid: 11, ticks: [0, 100, 0, 0], rssKb: 500 });
  proc(p, 13, { comm: "kthread-like", ppid: 12, ticks: [0, 0, 0, 0], rssKb: null });
  proc(p, 20, { comm: "other", ppid: 1, ticks: [9999, 0, 0, 0], rssKb: 9999 });
  // Block I/O of the tree's live processes (13 has no io file: a kernel without task I/O accounting).
  for (const [pid, r, w] of [[10, 4096, 0], [11, 0, 8192], [12, 1000, 1000], [20, 1e9, 1e9]] as const)
    fs.writeFileSync(path.join(p, String(pid), "io"), `rchar: 99999\nwchar: 99999\nsyscr: 1\nsyscw: 1\nread_bytes: ${r}\nwrite_bytes: ${w}\ncancelled_write_bytes: 0\n`);
  fs.mkdirSync(path.join(p, "14")); // gone meanwhile: a directory without files
  fs.mkdirSync(path.join(p, "self"));
  assert.deepEqual(processTree(10, p).sort(), [11, 12, 13]);
  assert.deepEqual(readProcCounters(10, p), { cpuNs: 5e9, memoryBytes: 3500 * 1024, pids: 4, ioReadBytes: 5096, ioWriteBytes: 9192 }, "500 ticks = 5 s; 20 is not in the tree");
  assert.deepEqual(readProcCounters(12, p), { cpuNs: 1e9, memoryBytes: 500 * 1024, pids: 2, ioReadBytes: 1000, ioWriteBytes: 1000 });
  assert.deepEqual(readProcCounters(13, p), { cpuNs: 0, memoryBytes: 0, pids: 1, ioReadBytes: null, ioWriteBytes: null }, "no io file: null, not 0");
  assert.equal(readProcCounters(99, p), null, "the task is gone");
});

void test("a plain task's usage comes from /proc into its status: memory it holds, CPU it burns, its processes, bytes it writes", { timeout: 60_000 }, async () => {
  // The shell itself writes 4 MB to a file on disk (its own write_bytes: a child's leave the sum when it exits).
  const blob = path.join(tmp, "io-blob");
  const script = `x=$(head -c 40000000 /dev/zero | tr '\\0' a); y=$(head -c 4096 /dev/zero | tr '\\0' b); i=0; while [ $i -lt 1000 ]; do echo "$y"; i=$((i+1)); done > ${blob}; sleep 300 & while :; do :; done`;
  const dir = h.attempt({ command: ["sh", "-c", script], env: { PATH: "/usr/bin:/bin" }, usageSampleMs: 250 });
  h.start(dir);
  const agent = await h.agent(dir);
  agent.startPinging(200);
  const s = await agent.waitStatus("usage with the memory held and CPU burnt", (st) => {
    const u = st.usage;
    return !!u && u.memoryBytes > 40e6 && u.cpuCores !== null && u.cpuCores > 0.3 && u.pids === 3 && (u.ioWriteBytes ?? 0) >= 4e6;
  }, 30_000);
  const u = s.usage!;
  assert.ok(u.ioReadBytes !== null && u.ioReadBytes !== undefined && u.ioWriteRate !== undefined, JSON.stringify(u));
  assert.ok(u.memoryPeakBytes !== null && u.memoryPeakBytes >= u.memoryBytes, JSON.stringify(u));
  assert.ok(u.cpuSeconds > 0 && u.cpuCores! <= 1.5, JSON.stringify(u));
  agent.send({ type: "stop", reason: "done" });
  const final = await agent.waitStatus("final", (st) => st.state === "failed" || st.state === "stopped" || st.state === "exited", 20_000);
  assert.ok(final.usage && final.usage.memoryBytes > 40e6, "the final status keeps the last sample");
  agent.send({ type: "ack" });
});
