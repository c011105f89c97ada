// The OOM watch: parsing memory.oom_control, the recorded reason, and (needs root, a runtime and cgroup
// v1) a task allocating past its limit that the kernel pauses and the helper ends, whole, with the peak.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { readLogs } from "./logs.ts";
import { oomStopReason, underOom, v1MemoryDir } from "./sandbox-oom.ts";
import { collect, HelperHarness, hogMemory, testRuntime, testSandbox } from "./testkit.ts";

const h = new HelperHarness();
after(() => h.cleanup());

void test("underOom and oomStopReason", () => {
  const cases: [string, boolean][] = [
    ["oom_kill_disable 1\nunder_oom 1\noom_kill 0\n", true],
    ["oom_kill_disable 1\nunder_oom 0\noom_kill 0\n", false],
    ["oom_kill_disable 0\nunder_oom 0\n", false],
    ["", false],
  ];
  for (const [text, want] of cases) assert.equal(underOom(text), want, JSON.stringify(text));
  assert.equal(oomStopReason(32, 32 * 1024 * 1024), "out of memory: stopped at its memory limit of 32 MiB (peak 32.0 MiB)");
  assert.equal(oomStopReason(64, null), "out of memory: stopped at its memory limit of 64 MiB");
});

void test("cgroup v1: past its limit, the task is paused (no OOM killer), then ended whole by the helper with the reason and peak", { timeout: 60_000, skip: v1MemoryDir() === null && "cgroup v2 host: the kernel's OOM killer stays on (tested in sandbox.test.ts)" }, async () => {
  const runtime = await testRuntime();
  // A sleeper beside the hog: with the OOM killer on, either could be picked; here both end together.
  const dir = h.attempt({
    command: ["sh", "-c", `sleep 60 & echo started; ${hogMemory}; echo survived`],
    env: { PATH: "/usr/bin:/bin" },
    sandbox: testSandbox(runtime, { limits: { cpu: 1, memoryMiB: 32, pids: 64 } }),
  });
  h.start(dir);
  const agent = await h.agent(dir);
  agent.startPinging(200);
  const running = await agent.waitStatus("running", (s) => s.state === "running", 20_000);
  const config = JSON.parse(fs.readFileSync(path.join(dir, "sandbox", "config.json"), "utf8")) as { linux: { resources: { memory: { disableOOMKiller?: boolean } } } };
  assert.equal(config.linux.resources.memory.disableOOMKiller, true);
  const final = await agent.waitStatus("final", (s) => s.state === "failed" || s.state === "exited", 30_000);
  agent.send({ type: "ack" });
  assert.equal(final.state, "failed");
  assert.match(final.reason ?? "", /^out of memory: stopped at its memory limit of 32 MiB \(peak 3[12]\.\d MiB\)$/);
  assert.equal(final.signal, "SIGKILL");
  const out = await collect(readLogs(dir, "stdout"));
  assert.equal(out, "started\n", "nothing ran on after the limit: the shell did not see its pipeline die");
  assert.throws(() => process.kill(running.pid!, 0), "the container is gone");
});
