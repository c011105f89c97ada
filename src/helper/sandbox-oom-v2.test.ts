// cgroup v2 OOM handling, as tables over file contents. THE V2 KERNEL INTERFACE CANNOT RUN HERE: these
// machines mount the memory controller on cgroup v1 (sandbox-oom.test.ts runs that path for real), so
// memory.events, memory.peak and cgroup.controllers are mocked as text and temp files below.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ociConfig } from "./sandbox-config.ts";
import { parseCgroupMounts } from "./sandbox-cgroup.ts";
import type { MemoryEvents } from "./sandbox-oom-v2.ts";
import { memoryCgroupMode, memoryHigh, oomDecision, parseMemoryEvents, v2MemoryUnified, v2OomReason, watchOomV2 } from "./sandbox-oom-v2.ts";
import { testSandbox } from "./testkit.ts";

const hybrid = parseCgroupMounts("cgroup /sys/fs/cgroup/memory cgroup rw,nosuid,relatime,memory 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n");
const pureV2 = parseCgroupMounts("cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n");

void test("memoryCgroupMode: chosen from the host's layout", () => {
  const cases: [string, ReturnType<typeof parseCgroupMounts>, string | null, string][] = [
    ["these machines: memory on v1, a v2 mount beside it", hybrid, "hugetlb\n", "v1"],
    ["pure v2 with the memory controller", pureV2, "cpuset cpu io memory hugetlb pids rdma misc\n", "v2"],
    ["pure v2 without it", pureV2, "cpu pids\n", "none"],
    ["v2 whose controllers cannot be read", pureV2, null, "none"],
    ["no cgroups at all", [], null, "none"],
  ];
  for (const [name, mounts, ctl, want] of cases) assert.equal(memoryCgroupMode(mounts, ctl), want, name);
});

void test("memory.high sits below memory.max: 90%, at most 64 MiB below, whole pages", () => {
  const MiB = 1024 * 1024;
  const cases: [number, number][] = [
    [64 * MiB, Math.floor((64 * MiB * 0.9) / 4096) * 4096],
    [1024 * MiB, 960 * MiB],
    [100 * MiB + 1, 90 * MiB],
  ];
  for (const [limit, want] of cases) {
    assert.equal(memoryHigh(limit), want, String(limit));
    assert.ok(memoryHigh(limit) < limit && memoryHigh(limit) % 4096 === 0);
  }
  assert.deepEqual(v2MemoryUnified(1024 * MiB), { "memory.high": String(960 * MiB), "memory.oom.group": "1" });
  const c = ociConfig({
    command: ["true"], env: {}, workDir: "/w", hostname: "h", stopSignal: "SIGTERM", graceMs: 1000, tools: { timeout: null, setpriv: null },
    sandbox: { ...testSandbox({ name: "crun", path: "/usr/bin/crun", version: "1", rootless: false, stateDir: null }), limits: { cpu: 1, memoryMiB: 1024, pids: 64 } },
    systemDirs: [], cgroupsPath: "/tiffin/x/task", uid: 0, gid: 0, unified: v2MemoryUnified(1024 * MiB),
  });
  assert.deepEqual(c.linux.resources?.unified, { "memory.high": String(960 * MiB), "memory.oom.group": "1" }, "through the OCI spec");
  assert.equal(c.linux.resources?.memory.disableOOMKiller, undefined, "v2 has no such switch");
});

void test("memory.events: parsing and the decision between two polls", () => {
  const ev = parseMemoryEvents("low 0\nhigh 12\nmax 3\noom 1\noom_kill 2\noom_group_kill 1\n");
  assert.deepEqual(ev, { high: 12, max: 3, oom: 1, oomKill: 2 });
  assert.deepEqual(parseMemoryEvents(""), { high: 0, max: 0, oom: 0, oomKill: 0 }, "a kernel without some keys");
  const base: MemoryEvents = { high: 10, max: 0, oom: 0, oomKill: 0 };
  const cases: [string, Partial<MemoryEvents>, number | null, number, string][] = [
    ["nothing new", {}, null, 1000, "none"],
    ["the kernel killed the task (oom.group: all of it)", { oomKill: 1, oom: 1, max: 5 }, null, 1000, "killed"],
    ["reclaim failed at max without a kill yet", { oom: 1 }, null, 1000, "kill"],
    ["throttled at memory.high, just began", { high: 15 }, 1000, 1000, "none"],
    ["throttled at memory.high for 10 s", { high: 90 }, 1000, 11_000, "stop"],
    ["high events stopped growing", {}, 1000, 11_000, "none"],
  ];
  for (const [name, over, since, at, want] of cases) assert.equal(oomDecision(base, { ...base, ...over }, since, at, 10_000).action, want, name);
  assert.equal(v2OomReason({ action: "killed" }, 64, 64 * 1024 * 1024), "out of memory: killed at its memory limit of 64 MiB (peak 64.0 MiB)");
  assert.equal(v2OomReason({ action: "stop" }, 64, null), "out of memory: restarted under memory pressure near its limit of 64 MiB");
  assert.equal(v2OomReason({ action: "none" }, 64, null), null);
});

void test("watchOomV2 reads a (mocked) leaf's memory.events and memory.peak and reports once", async (t) => {
  const leaf = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-oomv2-"));
  t.after(() => fs.rmSync(leaf, { recursive: true, force: true }));
  fs.writeFileSync(path.join(leaf, "memory.events"), "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
  fs.writeFileSync(path.join(leaf, "memory.peak"), String(70 * 1024 * 1024));
  const seen: [string, number | null][] = [];
  const w = watchOomV2(leaf, 20, 10_000, () => Date.now(), (d, peak) => seen.push([d.action, peak]));
  t.after(() => w.stop());
  await new Promise((r) => setTimeout(r, 80));
  fs.writeFileSync(path.join(leaf, "memory.events"), "low 0\nhigh 4\nmax 2\noom 1\noom_kill 1\n");
  for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  fs.writeFileSync(path.join(leaf, "memory.events"), "low 0\nhigh 9\nmax 4\noom 2\noom_kill 2\n");
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(seen, [["killed", 70 * 1024 * 1024]], "once, with the peak");
});
