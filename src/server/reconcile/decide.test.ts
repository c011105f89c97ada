import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobInput, JobDecision } from "./types.ts";
import { backoffMs, decideJob, placementNeeds } from "./decide.ts";
import { attempt, hostState, input, schedHostOf, specOf, task } from "../testing/fixtures.ts";
import { startRollout } from "./rollout-start.ts";

/** The input after a decision's writes (what the next pass sees). */
function applied(inp: JobInput, d: JobDecision): JobInput {
  const tasks = new Map(inp.tasks.map((t) => [t.index, t]));
  for (const t of d.putTasks) tasks.set(t.index, t);
  for (const i of d.deleteTasks) tasks.delete(i);
  const atts = new Map(inp.attempts.map((a) => [a.id, a]));
  for (const a of d.putAttempts) atts.set(a.id, a);
  for (const id of d.deleteAttempts) atts.delete(id);
  return { ...inp, tasks: [...tasks.values()], attempts: [...atts.values()] };
}

function assertSettled(inp: JobInput, d: JobDecision): void {
  const again = decideJob(applied(inp, d));
  assert.deepEqual(again, { putTasks: [], deleteTasks: [], putAttempts: [], deleteAttempts: [] }, "running the decision twice does nothing more");
}

/**
 * An at-most-one task on a down host is lost (and replaced) only once no copy can run there: its
 * helper fences fenceMs after the agent's last ping, and the agent pings until it dies, which may be
 * a heartbeat interval after its last heartbeat, or up to stopAfter when it was cut off from the
 * server first (then it stops the task itself at stopAfter); the task then has its grace; 1 s margin.
 */
function lostAfterCases(): { name: string; inp: JobInput; check: (d: JobDecision) => void }[] {
  const down = (over: { stopAfterMs: number; graceMs: number; heartbeatMs: number; since: number }): JobInput =>
    input({
      spec: specOf({ disconnect: { stopAfterMs: over.stopAfterMs }, stop: { signal: "SIGTERM", graceMs: over.graceMs } }),
      hosts: new Map([["h1", hostState("h1", { status: "down", lastContactAt: 100_000 - over.since })]]),
      heartbeatMs: over.heartbeatMs,
      fenceMs: 3000,
      tasks: [task(0)],
      attempts: [attempt("a0", 0)],
    });
  const nothing = (d: JobDecision): void => assert.deepEqual(d, { putTasks: [], deleteTasks: [], putAttempts: [], deleteAttempts: [] });
  const lost = (d: JobDecision): void => {
    assert.equal(d.putAttempts[0]?.state, "lost");
    assert.equal(d.putTasks[0]?.hostId, null);
  };
  // stopAfter 4 s, heartbeat 1 s, fence 3 s, grace 2 s: cut off, the agent may ping its helper until
  // 4 s after its last heartbeat, the fence falls 3 s later, the grace runs out 2 s after that.
  const cutOff = { stopAfterMs: 4000, graceMs: 2000, heartbeatMs: 1000 };
  // Heartbeats stretched to 5 s (a big fleet), stopAfter 1 s: the agent may die 5 s after its last one.
  const stretched = { stopAfterMs: 1000, graceMs: 2000, heartbeatMs: 5000 };
  return [
    { name: "host down, at most one live copy: nothing until max(heartbeat, stopAfter) + fence + grace + 1 s", inp: down({ ...cutOff, since: 9999 }), check: nothing },
    { name: "host down, at most one live copy: lost once max(heartbeat, stopAfter) + fence + grace + 1 s have passed", inp: down({ ...cutOff, since: 10_000 }), check: lost },
    { name: "host down, at most one live copy, stretched heartbeats: nothing before heartbeat + fence + grace + 1 s", inp: down({ ...stretched, since: 10_999 }), check: nothing },
    { name: "host down, at most one live copy, stretched heartbeats: lost after heartbeat + fence + grace + 1 s", inp: down({ ...stretched, since: 11_000 }), check: lost },
  ];
}

void test("backoffMs doubles from the initial delay and stops at the cap", () => {
  const r = { backoffInitialMs: 1000, backoffMaxMs: 5000, moveAfterFailures: 9 };
  for (const [failures, want] of [[1, 1000], [2, 2000], [3, 4000], [4, 5000], [10, 5000]] as const) assert.equal(backoffMs(r, failures), want, `failures=${failures}`);
});

void test("decideJob", async (t) => {
  const cases: { name: string; inp: JobInput; check: (d: JobDecision) => void }[] = [
    {
      name: "a new job gets its tasks, unplaced",
      inp: input({ spec: specOf({ replicas: 3 }) }),
      check: (d) => {
        assert.deepEqual(d.putTasks.map((x) => [x.index, x.hostId, x.attemptId]), [[0, null, null], [1, null, null], [2, null, null]]);
        assert.equal(d.putAttempts.length, 0);
      },
    },
    {
      name: "fewer replicas: the extra tasks' attempts are stopped, the tasks kept until they end",
      inp: input({ spec: specOf({ replicas: 1 }), tasks: [task(0), task(1)], attempts: [attempt("a0", 0), attempt("a1", 1)] }),
      check: (d) => {
        assert.deepEqual(d.putAttempts.map((a) => [a.id, a.desired]), [["a1", "stop"]]);
        assert.deepEqual(d.deleteTasks, []);
      },
    },
    {
      name: "fewer replicas: ended extra tasks are deleted with their attempts",
      inp: input({ spec: specOf({ replicas: 1 }), tasks: [task(0), task(1)], attempts: [attempt("a0", 0), attempt("a1", 1, { state: "exited", desired: "stop" })] }),
      check: (d) => {
        assert.deepEqual(d.deleteTasks, [1]);
        assert.deepEqual(d.deleteAttempts, ["a1"]);
      },
    },
    {
      name: "a removed job stops everything",
      inp: input({ job: { name: "web", version: 1, removedAt: 5, updatedAt: 5 }, tasks: [task(0)], attempts: [attempt("a0", 0)] }),
      check: (d) => assert.deepEqual(d.putAttempts.map((a) => [a.id, a.desired]), [["a0", "stop"]]),
    },
    {
      name: "an exited attempt restarts on the same host after the initial back-off",
      inp: input({ tasks: [task(0)], attempts: [attempt("a0", 0, { state: "exited", exitCode: 1 })] }),
      check: (d) => {
        const [t0] = d.putTasks;
        assert.equal(t0?.failures, 1);
        assert.equal(t0?.attemptId, "n1");
        const fresh = d.putAttempts.find((a) => a.id === "n1");
        assert.equal(fresh?.hostId, "h1");
        assert.equal(fresh?.startAfter, 100_000 + 1000);
      },
    },
    {
      name: "the second failure waits twice as long",
      inp: input({ tasks: [task(0, { failures: 1 })], attempts: [attempt("a0", 0, { state: "failed" })] }),
      check: (d) => assert.equal(d.putAttempts.find((a) => a.id === "n1")?.startAfter, 100_000 + 2000),
    },
    {
      name: "after moveAfterFailures failures the task moves: unplaced, its host avoided",
      inp: input({ tasks: [task(0, { failures: 2 })], attempts: [attempt("a0", 0, { state: "exited" })] }),
      check: (d) => {
        assert.deepEqual(d.putTasks.map((x) => [x.hostId, x.attemptId, x.failures, x.avoidHosts]), [[null, null, 3, ["h1"]]]);
        assert.equal(d.putAttempts.length, 0);
      },
    },
    {
      name: "after a move the failure count goes on: the 4th failure restarts in place with its longer back-off",
      inp: input({ tasks: [task(0, { hostId: "h2", failures: 3, avoidHosts: ["h1"] })], attempts: [attempt("a0", 0, { hostId: "h2", state: "exited", exitCode: 1 })] }),
      check: (d) => {
        assert.deepEqual(d.putTasks.map((x) => [x.hostId, x.failures, x.attemptId]), [["h2", 4, "n1"]]);
        assert.equal(d.putAttempts.find((a) => a.id === "n1")?.startAfter, 100_000 + 8000);
      },
    },
    {
      name: "failed moveAfterFailures times on every host (2 up): parked, with how it ended, no new attempt",
      inp: input({
        tasks: [task(0, { hostId: "h2", failures: 5, avoidHosts: ["h1"] })],
        attempts: [attempt("a9", 0, { state: "exited", exitCode: 3, createdAt: 1 }), attempt("a0", 0, { hostId: "h2", state: "exited", exitCode: 3, createdAt: 2 })],
      }),
      check: (d) => {
        assert.deepEqual(d.putAttempts, []);
        const [t0] = d.putTasks;
        assert.deepEqual([t0?.hostId, t0?.attemptId, t0?.failures], [null, "a0", 6]);
        assert.deepEqual(t0?.parked, { at: 100_000, reason: "failed 6 times in a row on 2 hosts (exit code 3); `tiffin restart` or the next apply tries again" });
      },
    },
    {
      name: "a parked task stays parked: nothing to write, nothing to place",
      inp: input({ tasks: [task(0, { hostId: null, attemptId: "a0", failures: 6, parked: { at: 1, reason: "r" } })], attempts: [attempt("a0", 0, { state: "exited", exitCode: 3 })] }),
      check: (d) => assert.deepEqual(d, { putTasks: [], deleteTasks: [], putAttempts: [], deleteAttempts: [] }),
    },
    {
      name: "a parked task and a new version (even one changing replicas only): unparked, to be placed afresh",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ replicas: 2 }),
        specs: { 1: specOf() },
        tasks: [task(0, { hostId: null, attemptId: "a0", failures: 6, avoidHosts: ["h1", "h2"], parked: { at: 1, reason: "r" } })],
        attempts: [attempt("a0", 0, { state: "exited", exitCode: 3 })],
      }),
      check: (d) => {
        const t0 = d.putTasks.find((x) => x.index === 0);
        assert.deepEqual([t0?.version, t0?.parked, t0?.failures, t0?.avoidHosts, t0?.hostId], [2, null, 0, [], null]);
      },
    },
    {
      name: "a failed health check with action move moves at once",
      inp: input({
        spec: specOf({ health: { kind: "tcp", port: "http", intervalMs: 1000, timeoutMs: 500, failures: 3, graceMs: 0, action: "move" } }),
        tasks: [task(0)],
        attempts: [attempt("a0", 0, { state: "failed", reason: "health check failed 3 times", endCause: "health" })],
      }),
      check: (d) => assert.deepEqual(d.putTasks.map((x) => [x.hostId, x.avoidHosts]), [[null, ["h1"]]]),
    },
    {
      name: "health action move: an exit whose reason merely mentions health restarts in place (the typed cause decides)",
      inp: input({
        spec: specOf({ health: { kind: "tcp", port: "http", intervalMs: 1000, timeoutMs: 500, failures: 3, graceMs: 0, action: "move" } }),
        tasks: [task(0)],
        attempts: [attempt("a0", 0, { state: "failed", reason: "out of memory: the health-probe cache grew to 256 MiB", endCause: "oom" })],
      }),
      check: (d) => assert.deepEqual(d.putTasks.map((x) => [x.hostId, x.avoidHosts, x.failures]), [["h1", [], 1]]),
    },
    {
      name: "a start failure no retry can cure is neither restarted nor moved: the task keeps its failed attempt (issue 10 item 8)",
      inp: input({ tasks: [task(0, { failures: 1 })], attempts: [attempt("a0", 0, { state: "failed", reason: "start failed: an env value may not contain a NUL byte", incurable: true })] }),
      check: (d) => {
        assert.deepEqual(d.putTasks, []);
        assert.deepEqual(d.putAttempts, []);
      },
    },
    {
      name: "after an incurable start failure, a new version starts again",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        tasks: [task(0, { failures: 1 })],
        attempts: [attempt("a0", 0, { state: "failed", reason: "start failed: x", incurable: true })],
      }),
      check: (d) => assert.deepEqual(d.putTasks.map((x) => [x.version, x.failures, x.attemptId]), [[2, 0, "n1"]]),
    },
    {
      name: "running for 10 s resets the failure count",
      inp: input({ tasks: [task(0, { failures: 2 })], attempts: [attempt("a0", 0, { startedAt: 90_000 })] }),
      check: (d) => assert.equal(d.putTasks[0]?.failures, 0),
    },
    {
      name: "running for 5 s does not reset it",
      inp: input({ tasks: [task(0, { failures: 2 })], attempts: [attempt("a0", 0, { startedAt: 95_000 })] }),
      check: (d) => assert.equal(d.putTasks.length, 0),
    },
    {
      name: "host down: the attempt is lost, the task unplaced without counting a failure",
      inp: input({ hosts: new Map([["h1", hostState("h1", { status: "down" })]]), tasks: [task(0)], attempts: [attempt("a0", 0)] }),
      check: (d) => {
        assert.deepEqual(d.putAttempts.map((a) => [a.id, a.state, a.desired]), [["a0", "lost", "stop"]]);
        assert.deepEqual(d.putTasks.map((x) => [x.hostId, x.attemptId, x.failures]), [[null, null, 0]]);
      },
    },
    ...lostAfterCases(),
    {
      name: "new version: as many serving tasks as the spec's budget (maxUnavailable 25% of 8) are stopped at a time",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ replicas: 8, env: { V: "2" }, rollout: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: "25%", maxSurge: 0, onFailure: "rollback" } }),
        specs: { 1: specOf({ replicas: 8 }) },
        tasks: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => task(i)),
        attempts: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => attempt(`a${i}`, i)),
      }),
      check: (d) => {
        assert.deepEqual(d.putAttempts.map((a) => [a.id, a.desired]), [["a0", "stop"], ["a1", "stop"]]);
        assert.deepEqual(d.putTasks.map((x) => [x.index, x.version]), [[0, 2], [1, 2]]);
      },
    },
    {
      name: "new version with maxSurge 1 over a budget of 1: one stops, one more starts beside its old attempt",
      inp: (() => {
        const spec = specOf({ replicas: 4, env: { V: "2" }, rollout: { phases: ["all"], bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 1, onFailure: "rollback" } });
        const rollout = startRollout({ job: "web", version: 2, from: 1, cause: "apply", spec, tasks: [0, 1, 2, 3].map((index) => ({ index, domain: null })), now: 0 });
        return input({ job: { name: "web", version: 2, removedAt: null, updatedAt: 0 }, spec, specs: { 1: specOf({ replicas: 4 }) }, tasks: [0, 1, 2, 3].map((i) => task(i)), attempts: [0, 1, 2, 3].map((i) => attempt(`a${i}`, i)), rollout });
      })(),
      check: (d) => {
        assert.deepEqual(d.putAttempts.filter((a) => a.id.startsWith("a")).map((a) => [a.id, a.desired]), [["a0", "stop"]], "only a0 stops; a1 keeps serving");
        const fresh = d.putAttempts.filter((a) => !a.id.startsWith("a"));
        assert.deepEqual(fresh.map((a) => [a.index, a.version, a.hostId]), [[1, 2, "h1"]], "task 1's new attempt starts beside the old one");
        assert.deepEqual(d.putTasks.map((x) => [x.index, x.version, x.attemptId === "a1"]), [[0, 2, false], [1, 2, false]]);
      },
    },
    {
      name: "new version, phases [1, all]: tasks outside phase 1 whose start the server has not read (pending) are not stopped",
      inp: (() => {
        const spec = specOf({ replicas: 6, env: { V: "2" }, rollout: { phases: [1, "all"], bakeMs: 60_000, deadlineMs: 600_000, maxUnavailable: 5, maxSurge: 0, onFailure: "rollback" } });
        const rollout = startRollout({ job: "web", version: 2, from: 1, cause: "apply", spec, tasks: [0, 1, 2, 3, 4, 5].map((index) => ({ index, domain: null })), now: 0 });
        // Tasks 3..5 run on their agent, but their "running" reports are still queued at the server.
        const attempts = [0, 1, 2, 3, 4, 5].map((i) => attempt(`a${i}`, i, i >= 3 ? { state: "pending" } : {}));
        return input({ job: { name: "web", version: 2, removedAt: null, updatedAt: 0 }, spec, specs: { 1: specOf({ replicas: 6 }) }, tasks: [0, 1, 2, 3, 4, 5].map((i) => task(i)), attempts, rollout });
      })(),
      check: (d) => {
        assert.deepEqual(d.putAttempts.map((a) => [a.id, a.desired]), [["a0", "stop"]], "only phase 1's task stops");
        assert.deepEqual(d.putTasks.map((x) => [x.index, x.version]), [[0, 2]]);
      },
    },
    {
      name: "new version changing only replicas (3 -> 4): the running attempts are kept, one task is added",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ replicas: 4 }),
        specs: { 1: specOf({ replicas: 3 }) },
        tasks: [0, 1, 2].map((i) => task(i)),
        attempts: [0, 1, 2].map((i) => attempt(`a${i}`, i)),
      }),
      check: (d) => {
        assert.deepEqual(d.putAttempts.map((a) => [a.id, a.version, a.desired, a.state]), [["a0", 2, "run", "running"], ["a1", 2, "run", "running"], ["a2", 2, "run", "running"]], "kept, now of version 2");
        assert.deepEqual(d.putTasks.map((x) => [x.index, x.version, x.attemptId]), [[0, 2, "a0"], [1, 2, "a1"], [2, 2, "a2"], [3, 2, null]]);
      },
    },
    {
      name: "new version changing only replicas (5 -> 1): task 0 keeps its attempt, the others are stopped",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ replicas: 1 }),
        specs: { 1: specOf({ replicas: 5 }) },
        tasks: [0, 1, 2, 3, 4].map((i) => task(i)),
        attempts: [0, 1, 2, 3, 4].map((i) => attempt(`a${i}`, i)),
      }),
      check: (d) => {
        assert.deepEqual(d.putAttempts.map((a) => [a.id, a.desired, a.version]), [["a0", "run", 2], ["a1", "stop", 1], ["a2", "stop", 1], ["a3", "stop", 1], ["a4", "stop", 1]]);
        assert.deepEqual(d.putTasks.map((x) => [x.index, x.version, x.attemptId]), [[0, 2, "a0"]]);
      },
    },
    {
      name: "new version changing only the restart policy and replicas: kept, failure count too",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ replicas: 2, restart: { backoffInitialMs: 5, backoffMaxMs: 10, moveAfterFailures: 2 } }),
        specs: { 1: specOf({ replicas: 2 }) },
        tasks: [task(0, { failures: 1 }), task(1)],
        attempts: [attempt("a0", 0, { startedAt: 95_000 }), attempt("a1", 1)],
      }),
      check: (d) => {
        assert.deepEqual(d.putAttempts.map((a) => [a.id, a.version, a.desired]), [["a0", 2, "run"], ["a1", 2, "run"]]);
        assert.deepEqual(d.putTasks.map((x) => [x.index, x.version, x.attemptId, x.failures]), [[0, 2, "a0", 1], [1, 2, "a1", 0]]);
      },
    },
    {
      name: "new version: tasks that do not serve anyway are replaced without waiting",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ replicas: 4, env: { V: "2" } }),
        specs: { 1: specOf({ replicas: 4 }) },
        tasks: [0, 1, 2, 3].map((i) => task(i)),
        attempts: [0, 1, 2, 3].map((i) => attempt(`a${i}`, i, { state: i < 2 ? "starting" : "running" })),
      }),
      check: (d) => assert.deepEqual(d.putAttempts.map((a) => a.id), ["a0", "a1"]),
    },
    {
      name: "new version: the stopped old attempt is replaced in place when the new spec fits",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ env: { V: "2" } }),
        specs: { 1: specOf() },
        tasks: [task(0, { version: 2 })],
        attempts: [attempt("a0", 0, { state: "exited", desired: "stop" })],
      }),
      check: (d) => {
        assert.deepEqual(d.putTasks.map((x) => [x.hostId, x.attemptId, x.failures]), [["h1", "n1", 0]]);
        assert.deepEqual(d.putAttempts.map((a) => [a.id, a.version, a.hostId, a.startAfter]), [["n1", 2, "h1", 100_000]]);
      },
    },
    {
      name: "new version: isolation none -> sandbox on a host without a runtime moves instead of restarting there",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ isolation: "sandbox" }),
        specs: { 1: specOf({ isolation: "none" }) },
        schedHost: (id) => ({ ...schedHostOf(hostState(id)), sandbox: id !== "h1" }),
        tasks: [task(0, { version: 2 })],
        attempts: [attempt("a0", 0, { state: "exited", desired: "stop" })],
      }),
      check: (d) => {
        assert.deepEqual(d.putTasks.map((x) => [x.hostId, x.attemptId]), [[null, null]]);
        assert.deepEqual(d.putAttempts, []);
      },
    },
    {
      name: "new version: re-placed when the new resources do not fit the host",
      inp: input({
        job: { name: "web", version: 2, removedAt: null, updatedAt: 0 },
        spec: specOf({ resources: { cpu: 1, memoryMiB: 8000, diskMiB: 100 } }),
        specs: { 1: specOf() },
        // usage counts the task at the version it now has
        usage: new Map([["h1", { cpu: 1, memoryMiB: 8000, diskMiB: 100 }]]),
        tasks: [task(0, { version: 2 })],
        attempts: [attempt("a0", 0, { state: "exited", desired: "stop" })],
      }),
      check: (d) => assert.deepEqual(d.putTasks.map((x) => [x.hostId, x.attemptId]), [[null, null]]),
    },
    {
      name: "drain, at most one live copy: one serving task stopped first (break-before-make)",
      inp: input({
        spec: specOf({ replicas: 2, disconnect: { stopAfterMs: 5000 } }),
        hosts: new Map([["h1", hostState("h1", { draining: true })]]),
        tasks: [task(0), task(1)],
        attempts: [attempt("a0", 0), attempt("a1", 1)],
      }),
      check: (d) => assert.deepEqual(d.putAttempts.map((a) => [a.id, a.desired]), [["a0", "stop"]]),
    },
    {
      name: "drain, make-before-break: the old copy keeps running until the new one serves",
      inp: input({
        hosts: new Map([["h1", hostState("h1", { draining: true })], ["h2", hostState("h2")]]),
        tasks: [task(0, { hostId: "h2", attemptId: "b0" })],
        attempts: [attempt("a0", 0), attempt("b0", 0, { hostId: "h2", state: "starting", createdAt: 1 })],
      }),
      check: (d) => assert.equal(d.putAttempts.length, 0),
    },
    {
      name: "drain, make-before-break: the old copy stops once the new one runs",
      inp: input({
        hosts: new Map([["h1", hostState("h1", { draining: true })], ["h2", hostState("h2")]]),
        tasks: [task(0, { hostId: "h2", attemptId: "b0" })],
        attempts: [attempt("a0", 0), attempt("b0", 0, { hostId: "h2", createdAt: 1 })],
      }),
      check: (d) => assert.deepEqual(d.putAttempts.map((a) => [a.id, a.desired]), [["a0", "stop"]]),
    },
    {
      name: "old ended attempts beyond the newest ten are deleted",
      inp: input({
        tasks: [task(0, { attemptId: "c11" })],
        attempts: [...Array.from({ length: 11 }, (_, i) => attempt(`c${i}`, 0, { state: "exited", createdAt: i })), attempt("c11", 0, { createdAt: 11 })],
      }),
      check: (d) => assert.deepEqual(d.deleteAttempts.sort(), ["c0", "c1"]),
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const d = decideJob(c.inp);
      c.check(d);
      assertSettled(c.inp, d);
    });
  }
});

void test("placementNeeds", async (t) => {
  const draining = new Map([["h1", hostState("h1", { draining: true })], ["h2", hostState("h2")]]);
  const cases: { name: string; inp: JobInput; want: { index: number; avoid: string[]; move: boolean }[] }[] = [
    {
      name: "unplaced tasks, with their avoid lists",
      inp: input({ spec: specOf({ replicas: 2 }), tasks: [task(0, { hostId: null, attemptId: null, avoidHosts: ["h9"] }), task(1)], attempts: [attempt("a1", 1)] }),
      want: [{ index: 0, avoid: ["h9"], move: false }],
    },
    {
      name: "parked tasks are not placed",
      inp: input({ spec: specOf({ replicas: 2 }), tasks: [task(0, { hostId: null, attemptId: "a0", parked: { at: 1, reason: "r" } }), task(1, { hostId: null, attemptId: null })] }),
      want: [{ index: 1, avoid: [], move: false }],
    },
    {
      name: "drain: one serving task of the job moves, avoiding its host",
      inp: input({ spec: specOf({ replicas: 2 }), hosts: draining, tasks: [task(0), task(1)], attempts: [attempt("a0", 0), attempt("a1", 1)] }),
      want: [{ index: 0, avoid: ["h1"], move: true }],
    },
    {
      name: "drain: nothing more while a move is under way",
      inp: input({
        spec: specOf({ replicas: 2 }),
        hosts: draining,
        tasks: [task(0, { hostId: "h2", attemptId: "b0" }), task(1)],
        attempts: [attempt("a0", 0), attempt("b0", 0, { hostId: "h2", state: "starting" }), attempt("a1", 1)],
      }),
      want: [],
    },
    {
      name: "drain: at most one live copy jobs are not moved here",
      inp: input({ spec: specOf({ disconnect: { stopAfterMs: 5000 } }), hosts: draining, tasks: [task(0)], attempts: [attempt("a0", 0)] }),
      want: [],
    },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(placementNeeds(c.inp), c.want));
});
