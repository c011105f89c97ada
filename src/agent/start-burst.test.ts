// Many assignments at once on one agent: starting 200 helpers together starved the agent's event loop
// (and the machine), pings to helpers already up came late and those helpers fenced their tasks. The
// agent now starts at most `maxConcurrentStarts` helpers at a time (attempts.ts); this test assigns a
// burst of small tasks with a short fence and checks that none is fenced and all reach running.
// Real helpers and `sleep` tasks against FakeServer (test-fixtures.ts).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { alive, FakeServer, killAttempts, testAssignment, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

const N = Number(process.env["TIFFIN_BURST_N"] ?? 50);
// TIFFIN_BURST_MAX_STARTS=1000 reruns it as without the gate (it then fails: tasks fenced).
const maxStarts = process.env["TIFFIN_BURST_MAX_STARTS"];

void test(`a burst of ${N} assignments: every task reaches running and none is fenced`, async (t) => {
  const server = new FakeServer();
  // Short fence (pings every 250 ms): a loop starved by starts misses it.
  server.timing.fenceMs = 1000;
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-burst-"));
  let agent: AgentHandle | null = null;
  t.after(async () => {
    await agent?.close("leave-tasks").catch(() => {});
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  agent = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, resources: { cores: 4, memoryMiB: 65536 }, log: testLogger(), allowUnsandboxed: true, ...(maxStarts ? { maxConcurrentStarts: Number(maxStarts) } : {}) });
  // The agent runs in this process: its event loop's worst delay is what late pings come from.
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  t.after(() => lag.disable());
  const spec = testSpec({ name: "burst", command: ["sleep", "600"], isolation: "none", replicas: N });
  const ids = Array.from({ length: N }, (_, i) => `burst-${i}`);
  server.assign(ids.map((id, index) => testAssignment(id, spec, { index })));
  const ended = () => server.log.updates.filter((u) => u.endedAt !== null || u.state === "failed" || u.state === "stopped" || u.state === "exited");
  await waitFor(
    `all ${N} running`,
    () => {
      const bad = ended();
      if (bad.length > 0) throw new Error(`attempts ended during the burst: ${bad.map((u) => `${u.id} ${u.state} (${u.endCause ?? ""}: ${u.reason ?? ""})`).join(", ")}`);
      return ids.every((id) => server.updatesOf(id).some((u) => u.state === "running"));
    },
    240_000,
  );
  t.diagnostic(`all running; agent event loop delay max ${Math.round(lag.max / 1e6)} ms, p99 ${Math.round(lag.percentile(99) / 1e6)} ms`);
  // Several fence periods with every task up: pings keep coming.
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(ended().map((u) => `${u.id} ${u.state} ${u.reason ?? ""}`), []);
});

void test("a helper starved past its fence (SIGSTOP) reads the pings that came meanwhile before it decides: no fence", async (t) => {
  const server = new FakeServer();
  server.timing.fenceMs = 1000;
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-starved-"));
  let agent: AgentHandle | null = null;
  let helperPid = 0;
  t.after(async () => {
    if (helperPid > 0) process.kill(helperPid, "SIGCONT");
    await agent?.close("leave-tasks").catch(() => {});
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  agent = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, log: testLogger(), allowUnsandboxed: true });
  const a = testAssignment("starved-1", testSpec({ name: "starved", command: ["sleep", "600"], isolation: "none" }));
  server.assign([a]);
  const up = await waitFor("running", () => server.updatesOf(a.attempt.id).find((u) => u.state === "running" && u.pid !== null));
  const status = JSON.parse(fs.readFileSync(path.join(dataDir, "attempts", a.attempt.id, "status.json"), "utf8")) as { helperPid: number };
  helperPid = status.helperPid;
  // Descheduled for 1.5 fence periods, as a helper on a machine swamped by starts can be; the agent
  // pings all along and its pings wait in the socket.
  process.kill(helperPid, "SIGSTOP");
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(helperPid, "SIGCONT");
  await new Promise((r) => setTimeout(r, 2000));
  assert.deepEqual(server.updatesOf(a.attempt.id).filter((u) => u.endedAt !== null).map((u) => `${u.state} ${u.reason ?? ""}`), []);
  assert.ok(alive(up.pid!), "the task still runs");
});
