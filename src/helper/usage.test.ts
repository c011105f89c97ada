// Usage sampling: counters read from fake v1 and v2 cgroup trees, the CPU rate, and a real sandboxed
// task that allocates memory and burns CPU, seen in the helper's statuses (needs root and a runtime).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { HelperHarness, testRuntime, testSandbox } from "./testkit.ts";
import { readCgroupCounters, toUsage } from "./usage.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-usage-"));
const h = new HelperHarness();
after(async () => {
  await h.cleanup();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

void test("readCgroupCounters: v1 hierarchies and the v2 unified tree", () => {
  const cg = "/tiffin/c1";
  write(path.join(tmp, "v1/cpu,cpuacct", cg, "cpuacct.usage"), "2500000000\n");
  write(path.join(tmp, "v1/memory", cg, "memory.usage_in_bytes"), "1048576\n");
  write(path.join(tmp, "v1/memory", cg, "memory.max_usage_in_bytes"), "2097152\n");
  write(path.join(tmp, "v1/pids", cg, "pids.current"), "3\n");
  write(path.join(tmp, "v1/cpu,cpuacct", cg, "cpu.stat"), "nr_periods 40\nnr_throttled 12\nthrottled_time 750000000\n");
  write(path.join(tmp, "v1/memory", cg, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  write(path.join(tmp, "v1/blkio", cg, "blkio.throttle.io_service_bytes_recursive"), "8:0 Read 4096\n8:0 Write 12288\n8:0 Sync 0\n8:0 Async 16384\n8:0 Total 16384\n8:16 Read 1000\n8:16 Write 0\n8:16 Total 1000\nTotal 17384\n");
  const v1 = [
    { dir: path.join(tmp, "v1/cpu,cpuacct"), version: 1 as const, controllers: ["cpu", "cpuacct"] },
    { dir: path.join(tmp, "v1/memory"), version: 1 as const, controllers: ["memory"] },
    { dir: path.join(tmp, "v1/pids"), version: 1 as const, controllers: ["pids"] },
    { dir: path.join(tmp, "v1/blkio"), version: 1 as const, controllers: ["blkio"] },
    { dir: path.join(tmp, "unified"), version: 2 as const, controllers: [] },
  ];
  assert.deepEqual(readCgroupCounters(cg, v1), { cpuNs: 2.5e9, memoryBytes: 1048576, memoryPeakBytes: 2097152, pids: 3, throttledNs: 7.5e8, periods: 40, throttledPeriods: 12, oomKills: 2, ioReadBytes: 5096, ioWriteBytes: 12288 });
  assert.equal(readCgroupCounters("/tiffin/gone", v1), null);

  write(path.join(tmp, "v2", cg, "cpu.stat"), "usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n");
  write(path.join(tmp, "v2", cg, "memory.events"), "low 0\nhigh 3\nmax 1\noom 1\noom_kill 1\noom_group_kill 0\n");
  write(path.join(tmp, "v2", cg, "memory.current"), "4096\n");
  write(path.join(tmp, "v2", cg, "pids.current"), "7\n");
  write(path.join(tmp, "v2", cg, "io.stat"), "8:0 rbytes=2048 wbytes=4096 rios=2 wios=1 dbytes=0 dios=0\n8:16 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
  const v2 = [{ dir: path.join(tmp, "v2"), version: 2 as const, controllers: [] }];
  assert.deepEqual(readCgroupCounters(cg, v2), { cpuNs: 1.5e9, memoryBytes: 4096, memoryPeakBytes: null, pids: 7, throttledNs: 2.5e8, periods: 10, throttledPeriods: 4, oomKills: 1, ioReadBytes: 2148, ioWriteBytes: 4096 }, "no memory.peak before Linux 5.19");
  write(path.join(tmp, "v2old", cg, "cpu.stat"), "usage_usec 1500000\n");
  write(path.join(tmp, "v2old", cg, "memory.current"), "4096\n");
  const old = [{ dir: path.join(tmp, "v2old"), version: 2 as const, controllers: [] }];
  assert.deepEqual(readCgroupCounters(cg, old), { cpuNs: 1.5e9, memoryBytes: 4096, memoryPeakBytes: null, pids: null, throttledNs: null, periods: null, throttledPeriods: null, oomKills: null, ioReadBytes: null, ioWriteBytes: null }, "no cpu controller, no memory.events, no io.stat: null, not 0");
});

void test("readCgroupCounters: throttling and v1 OOM kills from the runtime's leaf `task`, where the quota is (the level above counts none)", () => {
  const cg = "/tiffin/c2";
  const v1 = [
    { dir: path.join(tmp, "leaf1/cpu,cpuacct"), version: 1 as const, controllers: ["cpu", "cpuacct"] },
    { dir: path.join(tmp, "leaf1/memory"), version: 1 as const, controllers: ["memory"] },
  ];
  write(path.join(tmp, "leaf1/cpu,cpuacct", cg, "cpuacct.usage"), "2500000000\n");
  write(path.join(tmp, "leaf1/cpu,cpuacct", cg, "cpu.stat"), "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
  write(path.join(tmp, "leaf1/cpu,cpuacct", cg, "task/cpu.stat"), "nr_periods 40\nnr_throttled 12\nthrottled_time 750000000\n");
  write(path.join(tmp, "leaf1/memory", cg, "memory.usage_in_bytes"), "1048576\n");
  write(path.join(tmp, "leaf1/memory", cg, "memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  write(path.join(tmp, "leaf1/memory", cg, "task/memory.oom_control"), "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
  assert.deepEqual(readCgroupCounters(cg, v1), { cpuNs: 2.5e9, memoryBytes: 1048576, memoryPeakBytes: null, pids: null, throttledNs: 7.5e8, periods: 40, throttledPeriods: 12, oomKills: 1, ioReadBytes: null, ioWriteBytes: null });
  write(path.join(tmp, "leaf2", cg, "cpu.stat"), "usage_usec 1500000\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n");
  write(path.join(tmp, "leaf2", cg, "task/cpu.stat"), "usage_usec 1500000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n");
  write(path.join(tmp, "leaf2", cg, "memory.current"), "4096\n");
  write(path.join(tmp, "leaf2", cg, "memory.events"), "oom_kill 2\n");
  const v2 = [{ dir: path.join(tmp, "leaf2"), version: 2 as const, controllers: [] }];
  assert.deepEqual(readCgroupCounters(cg, v2), { cpuNs: 1.5e9, memoryBytes: 4096, memoryPeakBytes: null, pids: null, throttledNs: 2.5e8, periods: 10, throttledPeriods: 4, oomKills: 2, ioReadBytes: null, ioWriteBytes: null }, "v2 memory.events is hierarchical: the level above");
});

void test("toUsage: CPU rate between samples", () => {
  const c = { cpuNs: 1e9, memoryBytes: 10, memoryPeakBytes: 20, pids: 1 };
  const first = toUsage(c, 10_000, null);
  assert.deepEqual(first, { at: 10_000, cpuSeconds: 1, cpuCores: null, memoryBytes: 10, memoryPeakBytes: 20, pids: 1 });
  assert.deepEqual(toUsage({ ...c, throttledNs: 1_500_000_000, periods: 50, throttledPeriods: 20, oomKills: 1 }, 10_000, null), { ...first, throttledSeconds: 1.5, cpuPeriods: 50, cpuThrottledPeriods: 20, oomKills: 1 }, "throttling and OOM kills when the cgroup says");
  const cases: [string, number, number, number | null][] = [
    ["half a core over 2 s", 2e9, 12_000, 0.5],
    ["idle", 1e9, 15_000, 0],
    ["no time passed", 3e9, 10_000, null],
  ];
  for (const [name, cpuNs, at, want] of cases) assert.equal(toUsage({ ...c, cpuNs }, at, first).cpuCores, want, name);
  // Block I/O: totals and the rate since the previous sample (null for the first, never below 0).
  const io0 = toUsage({ ...c, ioReadBytes: 1000, ioWriteBytes: 5000 }, 10_000, null);
  assert.deepEqual([io0.ioReadBytes, io0.ioWriteBytes, io0.ioReadRate, io0.ioWriteRate], [1000, 5000, null, null]);
  const io1 = toUsage({ ...c, ioReadBytes: 3000, ioWriteBytes: 4000 }, 12_000, io0);
  assert.deepEqual([io1.ioReadRate, io1.ioWriteRate], [1000, 0], "2000 bytes over 2 s; a child's bytes gone from the sum: 0");
  assert.equal(toUsage({ ...c, ioReadBytes: null, ioWriteBytes: null }, 12_000, io0).ioReadRate, null, "unknown now: null");
});

void test("a sandboxed task's usage is sampled into its status: memory it holds, CPU it burns, its processes", { timeout: 60_000 }, async () => {
  const runtime = await testRuntime();
  // The shell holds ~40 MB in a variable, then spins: memory and CPU both show.
  const script = "x=$(head -c 40000000 /dev/zero | tr '\\0' a); while :; do :; done";
  const dir = h.attempt({
    command: ["sh", "-c", script],
    env: { PATH: "/usr/bin:/bin" },
    sandbox: testSandbox(runtime, { limits: { cpu: 1, memoryMiB: 256, pids: 64 } }),
    usageSampleMs: 250,
  });
  h.start(dir);
  const agent = await h.agent(dir);
  agent.startPinging(200);
  const s = await agent.waitStatus("usage with the memory held and CPU burnt", (st) => {
    const u = st.usage;
    return !!u && u.memoryBytes > 40e6 && u.cpuCores !== null && u.cpuCores > 0.3 && u.cpuSeconds > 0.5;
  }, 30_000);
  const u = s.usage!;
  assert.equal(s.state, "running");
  assert.ok(u.memoryBytes < 256 * 1024 * 1024, `under the limit: ${u.memoryBytes}`);
  assert.ok(u.memoryPeakBytes === null || u.memoryPeakBytes >= u.memoryBytes);
  assert.ok(u.pids !== null && u.pids >= 2 && u.pids < 10, `init and the shell: ${u.pids}`);
  assert.ok(u.cpuCores! <= 1.2, `within its 1-core quota: ${u.cpuCores}`);
  agent.send({ type: "stop", reason: "done" });
  const final = await agent.waitStatus("final", (st) => st.state === "failed" || st.state === "stopped" || st.state === "exited", 20_000);
  assert.ok(final.usage && final.usage.memoryBytes > 40e6, "the final status keeps the last sample");
  agent.send({ type: "ack" });
});

void test("a sandboxed task spinning at its 0.2-core quota is seen throttled: its leaf's quota periods", { timeout: 60_000 }, async () => {
  const runtime = await testRuntime();
  const dir = h.attempt({
    command: ["sh", "-c", "while :; do :; done"],
    env: { PATH: "/usr/bin:/bin" },
    sandbox: testSandbox(runtime, { limits: { cpu: 0.2, memoryMiB: 64, pids: 16 } }),
    usageSampleMs: 250,
  });
  h.start(dir);
  const agent = await h.agent(dir);
  agent.startPinging(200);
  // Waits for the ratio itself: on a host loaded by other processes the task may not get even its
  // quota for a while (then it is not throttled), and the counts are cumulative, so it comes.
  const s = await agent.waitStatus("throttled in most periods", (st) => (st.usage?.cpuPeriods ?? 0) >= 10 && (st.usage?.cpuThrottledPeriods ?? 0) / (st.usage?.cpuPeriods ?? 1) > 0.5, 30_000);
  const u = s.usage!;
  // A spinning task wants the whole period and gets 20 ms of every 100: throttled in nearly every period.
  assert.ok(u.cpuThrottledPeriods! / u.cpuPeriods! > 0.5, `throttled in most periods: ${u.cpuThrottledPeriods}/${u.cpuPeriods}`);
  assert.ok(u.throttledSeconds !== null && u.throttledSeconds !== undefined && u.throttledSeconds > 0, `throttled time: ${u.throttledSeconds}`);
  agent.send({ type: "stop", reason: "done" });
  await agent.waitStatus("final", (st) => st.state === "failed" || st.state === "stopped" || st.state === "exited", 20_000);
  agent.send({ type: "ack" });
});
