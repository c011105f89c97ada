import { test } from "node:test";
import assert from "node:assert/strict";
import type { Rollout } from "../../model/index.ts";
import { gateOf, stepRollout } from "./rollout-step.ts";
import type { StepTask } from "./rollout-step.ts";
import { lastGoodVersion, startRollout } from "./rollout-start.ts";
import type { JobSpec } from "../../model/index.ts";

const spec = { name: "web", replicas: 6, rollout: { phases: [1, "50%", "all"], bakeMs: 10_000, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" } } as unknown as JobSpec; // only the fields a rollout reads
const six = [0, 1, 2, 3, 4, 5].map((index) => ({ index, domain: null }));
const start = (over: Partial<Rollout> = {}): Rollout => ({ ...startRollout({ job: "web", version: 2, from: 1, cause: "apply", spec, tasks: six, now: 0 }), ...over });
const old = (index: number, over: Partial<StepTask> = {}): StepTask => ({ index, isNew: false, ready: true, newEnds: 0, oldEnds: 0, ...over });
const fresh = (index: number, over: Partial<StepTask> = {}): StepTask => old(index, { isNew: true, ...over });

void test("startRollout: phases planned from the spec, the first started", () => {
  const r = start();
  assert.deepEqual(r.phases.map((p) => [p.spec, p.tasks]), [[1, [0]], ["50%", [1, 2]], ["all", [3, 4, 5]]]);
  assert.equal(r.phases[0]?.startedAt, 0);
  assert.equal(r.maxUnavailable, 1);
});

void test("stepRollout: each rule, one step", () => {
  const cases: { name: string; r: Rollout; tasks: StepTask[]; now: number; check: (r: Rollout, rollback: boolean) => void }[] = [
    {
      name: "phase 1 not yet healthy: waits, checks inconclusive",
      r: start(), tasks: [fresh(0, { ready: false }), old(1), old(2), old(3), old(4), old(5)], now: 1000,
      check: (r, rb) => {
        assert.equal(rb, false);
        assert.equal(r.phase, 0);
        assert.equal(r.phases[0]?.healthyAt, null);
        assert.deepEqual(r.phases[0]?.checks.map((c) => c.verdict), ["inconclusive", "inconclusive"]);
      },
    },
    {
      name: "phase 1 healthy: the bake starts",
      r: start(), tasks: [fresh(0), old(1), old(2), old(3), old(4), old(5)], now: 2000,
      check: (r) => assert.deepEqual([r.phase, r.phases[0]?.healthyAt], [0, 2000]),
    },
    {
      name: "baked: phase 1 passes with its verdicts and figures, phase 2 starts",
      r: start({ phases: start().phases.map((p, i) => (i === 0 ? { ...p, healthyAt: 2000 } : p)) }), tasks: [fresh(0), old(1), old(2), old(3), old(4), old(5)], now: 12_000,
      check: (r) => {
        assert.equal(r.phase, 1);
        assert.equal(r.phases[0]?.outcome, "passed");
        assert.deepEqual(r.phases[0]?.checks.map((c) => [c.name, c.verdict, c.figures]), [
          ["health", "pass", { tasks: 1, healthy: 1, restarts: 0 }],
          ["restarts", "pass", { newRestarts: 0, newTasks: 1, oldRestarts: 0, oldTasks: 5 }],
        ]);
        assert.equal(r.phases[1]?.startedAt, 12_000);
      },
    },
    {
      name: "a healthy task that stops serving restarts the bake",
      r: start({ phases: start().phases.map((p, i) => (i === 0 ? { ...p, healthyAt: 2000 } : p)) }), tasks: [fresh(0, { ready: false }), old(1), old(2), old(3), old(4), old(5)], now: 5000,
      check: (r) => assert.deepEqual([r.phase, r.phases[0]?.healthyAt], [0, null]),
    },
    {
      name: "a new task that ended by itself fails the phase: rollback, why recorded",
      r: start(), tasks: [fresh(0, { ready: false, newEnds: 1 }), old(1), old(2), old(3), old(4), old(5)], now: 3000,
      check: (r, rb) => {
        assert.equal(rb, true);
        assert.equal(r.state, "failed");
        assert.deepEqual(r.failure, { phase: 0, check: "health" });
        assert.equal(r.phases[0]?.outcome, "failed");
        assert.match(r.why ?? "", /phase 1 \(1\) failed its health check: 1 end of new tasks/);
        assert.deepEqual(r.phases[0]?.checks.map((c) => c.verdict), ["fail", "fail"]);
      },
    },
    {
      name: "the deadline passes before the bake: fails",
      r: start(), tasks: [fresh(0, { ready: false }), old(1), old(2), old(3), old(4), old(5)], now: 60_000,
      check: (r, rb) => {
        assert.equal(rb, true);
        assert.match(r.why ?? "", /missed its deadline of 1m: 0 of 1 new tasks healthy/);
      },
    },
    {
      name: "onFailure pause: paused with the failure, no rollback",
      r: start({ policy: { ...start().policy, onFailure: "pause" } }), tasks: [fresh(0, { newEnds: 2 }), old(1), old(2), old(3), old(4), old(5)], now: 3000,
      check: (r, rb) => assert.deepEqual([rb, r.state, r.failure?.check], [false, "paused", "health"]),
    },
    {
      name: "promote skips the bake",
      r: start({ promote: true }), tasks: [fresh(0), old(1), old(2), old(3), old(4), old(5)], now: 1000,
      check: (r) => assert.deepEqual([r.phase, r.phases[0]?.outcome, r.promote], [1, "promoted", false]),
    },
    {
      name: "the last phase passes: succeeded",
      r: start({ phase: 2, phases: start().phases.map((p, i) => (i === 2 ? { ...p, startedAt: 0, healthyAt: 0 } : p)) }), tasks: [0, 1, 2, 3, 4, 5].map((i) => fresh(i)), now: 10_000,
      check: (r) => assert.deepEqual([r.state, r.endedAt, r.why], ["succeeded", 10_000, "all 6 tasks run version 2"]),
    },
    {
      name: "paused: nothing moves",
      r: start({ state: "paused" }), tasks: [fresh(0), old(1), old(2), old(3), old(4), old(5)], now: 100_000,
      check: (r) => assert.deepEqual([r.state, r.phase, r.phases[0]?.healthyAt], ["paused", 0, null]),
    },
  ];
  for (const c of cases) {
    const { rollout, rollback } = stepRollout(c.r, c.tasks, c.now);
    try {
      c.check(rollout, rollback);
    } catch (err) {
      (err as Error).message = `${c.name}: ${(err as Error).message}`;
      throw err;
    }
  }
});

void test("stepRollout: an unchanged rollout is the very same object (no write)", () => {
  const tasks = [fresh(0, { ready: false }), old(1), old(2), old(3), old(4), old(5)];
  const once = stepRollout(start(), tasks, 1000).rollout;
  assert.equal(stepRollout(once, tasks, 2000).rollout, once);
});

void test("gateOf: what each state admits", () => {
  const r = start({ phase: 1 });
  assert.deepEqual([0, 1, 2, 3, 6].map((i) => gateOf(r, 9).admitted(i)), [true, true, true, false, true], "phases so far, and slots no phase planned");
  assert.deepEqual([0, 3].map((i) => gateOf({ ...r, state: "paused" }, 9).admitted(i)), [false, false]);
  assert.deepEqual([0, 3].map((i) => gateOf({ ...r, state: "succeeded" }, 9).admitted(i)), [true, true]);
  assert.equal(gateOf(null, 9).budget, 9);
  assert.equal(gateOf(r, 9).budget, 1, "a rollout's budget is its own");
});

void test("lastGoodVersion: the version most other tasks run", () => {
  const t = (index: number, version: number) => ({ job: "web", index, version, hostId: null, attemptId: null, failures: 0, avoidHosts: [], unplacedReason: null });
  assert.equal(lastGoodVersion([t(0, 3), t(1, 1), t(2, 1), t(3, 2)], 3), 1);
  assert.equal(lastGoodVersion([t(0, 3)], 3), null);
});

void test("applyRolloutCommand: pause, resume, promote, abort", async () => {
  const { applyRolloutCommand } = await import("./rollout-commands.ts");
  const r = start();
  const paused = applyRolloutCommand(r, "pause", 5);
  assert.ok(paused.ok && paused.rollout.state === "paused" && !paused.rollback);
  assert.equal(applyRolloutCommand(paused.ok ? paused.rollout : null, "pause", 6).ok, false, "already paused");
  assert.equal(applyRolloutCommand(r, "resume", 6).ok, false, "not paused");
  const resumed = applyRolloutCommand(paused.ok ? paused.rollout : null, "resume", 7);
  assert.ok(resumed.ok && resumed.rollout.state === "running");
  const failed = { ...r, state: "paused" as const, failure: { phase: 0, check: "health" }, phases: r.phases.map((p, i) => (i === 0 ? { ...p, outcome: "failed" as const, endedAt: 3 } : p)) };
  const again = applyRolloutCommand(failed, "resume", 9);
  assert.ok(again.ok);
  assert.deepEqual([again.rollout.failure, again.rollout.phases[0]?.startedAt, again.rollout.phases[0]?.outcome], [null, 9, null], "a failed phase starts again");
  const promoted = applyRolloutCommand(r, "promote", 8);
  assert.ok(promoted.ok && promoted.rollout.promote);
  const aborted = applyRolloutCommand(r, "abort", 10);
  assert.ok(aborted.ok && aborted.rollback && aborted.rollout.state === "failed" && aborted.rollout.failure?.check === "abort");
  const noOlder = applyRolloutCommand({ ...r, from: null }, "abort", 10);
  assert.ok(noOlder.ok && !noOlder.rollback && noOlder.rollout.state === "paused");
  assert.equal(applyRolloutCommand({ ...r, state: "succeeded" }, "abort", 10).ok, false);
  assert.equal(applyRolloutCommand(null, "pause", 10).ok, false);
});
