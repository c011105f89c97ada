// The plan route against a real server and SQLite file with fake agents: per-task actions for a
// replica change, and a job that no host could ever run.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobStatus, PlanResult } from "../api/types.ts";
import { specOf } from "./testing/fixtures.ts";
import { call, eventually, FakeAgent, startTestServer } from "./testing/harness.ts";

void test("plan: a replica change keeps, starts and stops tasks; a job too big for every host can never run", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const agents = [new FakeAgent(url, "a1"), new FakeAgent(url, "a2")];
  for (const a of agents) {
    await a.register(joinToken, { memoryMiB: 8192 });
    await a.heartbeat();
  }
  const beat = setInterval(() => void Promise.all(agents.map((a) => a.heartbeat())).catch(() => undefined), 300);
  t.after(() => clearInterval(beat));
  await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf({ replicas: 3, resources: { cpu: 0.5, memoryMiB: 256, diskMiB: 10 } }) });
  await eventually("3 tasks placed", async () => ((await call(url, "GET", "/v1/jobs/web", adminToken)).body as JobStatus).tasks.filter((x) => x.hostId !== null).length === 3);

  const up = (await call(url, "POST", "/v1/plan", adminToken, { spec: specOf({ replicas: 4, resources: { cpu: 0.5, memoryMiB: 256, diskMiB: 10 } }) })).body as PlanResult;
  assert.deepEqual(up.tasks?.map((x) => [x.index, x.action]), [[0, "keep"], [1, "keep"], [2, "keep"], [3, "start"]]);
  assert.equal(up.neverFits, null);
  const down = (await call(url, "POST", "/v1/plan", adminToken, { spec: specOf({ replicas: 1, resources: { cpu: 0.5, memoryMiB: 256, diskMiB: 10 } }) })).body as PlanResult;
  assert.deepEqual(down.tasks?.map((x) => [x.index, x.action, x.reason]), [[0, "keep", "keeps running: only replicas, restart or maintenance changed"], [1, "stop", "replicas 3 -> 1"], [2, "stop", "replicas 3 -> 1"]]);
  const env = (await call(url, "POST", "/v1/plan", adminToken, { spec: specOf({ replicas: 3, env: { A: "1" }, resources: { cpu: 0.5, memoryMiB: 256, diskMiB: 10 } }) })).body as PlanResult;
  assert.deepEqual(env.tasks?.map((x) => [x.action, x.reason]), [["replace", "env changed"], ["replace", "env changed"], ["replace", "env changed"]]);
  // The phases the apply would run (issue 14): a 3-task job gets 1 -> all, each task with its host and domain.
  assert.deepEqual(env.rollout?.map((ph) => [ph.spec, ph.tasks.length]), [[1, 1], ["all", 2]]);
  assert.ok(env.rollout?.flatMap((ph) => ph.tasks).every((x) => (x.hostName === "a1" || x.hostName === "a2") && x.domain !== null));
  assert.deepEqual(up.rollout, [], "nothing replaced: no rollout");
  // A bad rollout spec is refused at plan with its field path, like every other spec error.
  const rollout = { phases: [1, "all"], bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" };
  for (const [over, path] of [[{ phases: ["rak"] }, "rollout.phases[0]"], [{ phases: ["0%", "all"] }, "rollout.phases[0]"], [{ bakeMs: 600_000 }, "rollout.bakeMs"]] as const) {
    const bad = await call(url, "POST", "/v1/plan", adminToken, { spec: specOf({ replicas: 3, rollout: { ...rollout, ...over } as never }) });
    assert.equal(bad.status, 422);
    assert.deepEqual((bad.body as { error: { problems: { path: string }[] } }).error.problems.map((x) => x.path), [path]);
  }

  const huge = (await call(url, "POST", "/v1/plan", adminToken, { spec: specOf({ name: "huge", resources: { cpu: 1, memoryMiB: 65536, diskMiB: 10 } }) })).body as PlanResult;
  assert.equal(huge.neverFits, "no host could ever fit it: it needs 64Gi memory (the largest of 2 hosts has 8Gi)");
  // Applied anyway: the task says the same, flagged, so `tiffin apply` stops waiting at once.
  await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf({ name: "huge", resources: { cpu: 1, memoryMiB: 65536, diskMiB: 10 } }) });
  const t0 = await eventually("huge/0 unplaced", async () => ((await call(url, "GET", "/v1/jobs/huge", adminToken)).body as JobStatus).tasks.find((x) => x.reason !== null));
  assert.deepEqual([t0.state, t0.reason, t0.neverFits], ["unplaced", "no host could ever fit it: it needs 64Gi memory (the largest of 2 hosts has 8Gi)", true]);
});

void test("plan and apply agree: a job switched from isolation none to sandbox on a host without a runtime moves", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const bare = new FakeAgent(url, "bare");
  await bare.register(joinToken, { runtime: "none" });
  await bare.heartbeat();
  const agents = [bare];
  const beat = setInterval(() => void Promise.all(agents.map((a) => a.heartbeat())).catch(() => undefined), 300);
  t.after(() => clearInterval(beat));
  const v1 = specOf({ isolation: "none" });
  await call(url, "POST", "/v1/jobs", adminToken, { spec: v1 });
  const placed = await eventually("on the host without a runtime", async () => ((await call(url, "GET", "/v1/jobs/web", adminToken)).body as JobStatus).tasks.find((x) => x.hostId !== null));
  await bare.report([{ id: placed.attemptId ?? "", state: "running", pid: 10, startedAt: Date.now() }]);
  const oci = new FakeAgent(url, "oci");
  await oci.register(joinToken, {});
  await oci.heartbeat();
  agents.push(oci);

  const v2 = specOf({ isolation: "sandbox" });
  const plan = (await call(url, "POST", "/v1/plan", adminToken, { spec: v2 })).body as PlanResult;
  assert.deepEqual(plan.placements.map((p) => [p.index, p.hostName, p.moved]), [[0, "oci", true]], "the plan moves it");
  assert.deepEqual(plan.tasks?.map((x) => [x.action, x.reason]), [["replace", "isolation changed; no room on its host, moves"]]);
  await call(url, "POST", "/v1/jobs", adminToken, { spec: v2 });
  await eventually("the old attempt is asked to stop", async () => ((await call(url, "GET", "/v1/jobs/web", adminToken)).body as JobStatus).tasks[0]?.attempts.find((a) => a.id === placed.attemptId)?.desired === "stop");
  await bare.report([{ id: placed.attemptId ?? "", state: "stopped", endCause: "stop", endedAt: Date.now() }]);
  const moved = await eventually("placed again", async () => ((await call(url, "GET", "/v1/jobs/web", adminToken)).body as JobStatus).tasks.find((x) => x.hostId !== null && x.attemptId !== placed.attemptId));
  assert.equal(moved.hostName, "oci", "apply moved it where the plan said, instead of retrying it on the host without a runtime");
});

void test("plan and apply agree: a replaced task keeps avoiding the host it failed on", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const agents = [new FakeAgent(url, "x"), new FakeAgent(url, "y"), new FakeAgent(url, "z")];
  for (const a of agents) {
    await a.register(joinToken, { memoryMiB: 8192 });
    await a.heartbeat();
  }
  const beat = setInterval(() => void Promise.all(agents.map((a) => a.heartbeat())).catch(() => undefined), 300);
  t.after(() => clearInterval(beat));
  const job = async (): Promise<JobStatus> => (await call(url, "GET", "/v1/jobs/web", adminToken)).body as JobStatus;
  const agentOn = (hostName: string | null): FakeAgent => agents.find((a) => a.name === hostName)!;
  // x is the fullest: a filler pinned there.
  await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf({ name: "fill", resources: { cpu: 0.5, memoryMiB: 512, diskMiB: 10 }, constraints: { os: null, kernel: null, labels: { rack: "rack-x" } } }) });
  await eventually("filler on x", async () => ((await call(url, "GET", "/v1/jobs/fill", adminToken)).body as JobStatus).tasks[0]?.hostName === "x");
  const restart = { backoffInitialMs: 1, backoffMaxMs: 30_000, moveAfterFailures: 1 };
  await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf({ restart, resources: { cpu: 0.5, memoryMiB: 1024, diskMiB: 10 } }) });
  const first = await eventually("web placed", async () => (await job()).tasks.find((x) => x.hostId !== null));
  await agentOn(first.hostName).report([{ id: first.attemptId ?? "", state: "failed", reason: "exit 1", endCause: "exit", endedAt: Date.now() }]);
  const moved = await eventually("web moved", async () => (await job()).tasks.find((x) => x.hostId !== null && x.hostId !== first.hostId));
  await agentOn(moved.hostName).report([{ id: moved.attemptId ?? "", state: "running", pid: 10, startedAt: Date.now() }]);
  // Its new host fills up.
  await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf({ name: "fill2", resources: { cpu: 0.5, memoryMiB: 4096, diskMiB: 10 }, constraints: { os: null, kernel: null, labels: { rack: `rack-${moved.hostName}` } } }) });
  await eventually("filler 2 placed", async () => ((await call(url, "GET", "/v1/jobs/fill2", adminToken)).body as JobStatus).tasks[0]?.hostName === moved.hostName);

  // Too big for its host now: re-placed, but not on the host it failed on while another one fits.
  const v2 = specOf({ restart, env: { V: "2" }, resources: { cpu: 0.5, memoryMiB: 6144, diskMiB: 10 } });
  const plan = (await call(url, "POST", "/v1/plan", adminToken, { spec: v2 })).body as PlanResult;
  await call(url, "POST", "/v1/jobs", adminToken, { spec: v2 });
  await eventually("the old attempt is asked to stop", async () => (await job()).tasks[0]?.attempts.find((a) => a.id === moved.attemptId)?.desired === "stop");
  await agentOn(moved.hostName).report([{ id: moved.attemptId ?? "", state: "stopped", endCause: "stop", endedAt: Date.now() }]);
  const after = await eventually("placed again", async () => (await job()).tasks.find((x) => x.hostId !== null && x.attemptId !== moved.attemptId));
  assert.deepEqual(plan.placements.map((p) => p.hostName), [after.hostName], `plan and apply agree (failed on ${first.hostName}, then ran on ${moved.hostName})`);
});

void test("plan and apply agree: tasks that grow in place book their new size before the next one is checked", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const a = new FakeAgent(url, "a");
  await a.register(joinToken, { memoryMiB: 1024 });
  await a.heartbeat();
  const beat = setInterval(() => void a.heartbeat().catch(() => undefined), 300);
  t.after(() => clearInterval(beat));
  const job = async (): Promise<JobStatus> => (await call(url, "GET", "/v1/jobs/web", adminToken)).body as JobStatus;
  const v1 = specOf({ replicas: 2, resources: { cpu: 0.5, memoryMiB: 256, diskMiB: 10 } });
  await call(url, "POST", "/v1/jobs", adminToken, { spec: v1 });
  const placed = await eventually("both on a", async () => ((await job()).tasks.filter((x) => x.hostName === "a").length === 2 ? (await job()).tasks : null));
  await a.report(placed.map((x) => ({ id: x.attemptId ?? "", state: "running" as const, pid: 10, startedAt: Date.now() })));

  // Each grown task fits beside the other at its old size (510 + 256 + 2 x 8 MiB), not both grown (1036 MiB).
  const v2 = specOf({ replicas: 2, resources: { cpu: 0.5, memoryMiB: 510, diskMiB: 10 } });
  const plan = (await call(url, "POST", "/v1/plan", adminToken, { spec: v2 })).body as PlanResult;
  assert.deepEqual([plan.placements.map((p) => [p.index, p.hostName]), plan.unplaced.map((u) => u.index)], [[[0, "a"]], [1]], "the plan keeps one in place and cannot place the other");
  await call(url, "POST", "/v1/jobs", adminToken, { spec: v2 });
  // The agent stops what it is asked to and starts what it is given, until the rollout is done.
  const done = await eventually("rolled out", async () => {
    const s = await job();
    for (const x of s.tasks) {
      for (const at of x.attempts) {
        if (at.desired === "stop" && at.state === "running") await a.report([{ id: at.id, state: "stopped", endCause: "stop", endedAt: Date.now() }]);
        else if (at.desired === "run" && at.state === "pending") await a.report([{ id: at.id, state: "running", pid: 11, startedAt: Date.now() }]);
      }
    }
    const t1 = s.tasks.find((x) => x.index === 1);
    return t1?.version === s.version && t1.hostId === null && t1.reason !== null ? s : null;
  });
  assert.deepEqual(
    done.tasks.map((x) => [x.index, x.hostName]),
    [
      [0, "a"],
      [1, null],
    ],
    "apply did what the plan said",
  );
});
