// The judge wired into a rollout's step: judgeBake on made-up per-task series, then stepRollout acting
// on its verdict (fail rolls back with figures, pass moves on, too few samples waits and never passes).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobSpec, Rollout, RolloutInconclusiveAction, TaskMetricsPoint } from "../../model/index.ts";
import { defaultRolloutChecks } from "../../model/judge/index.ts";
import { judgeBake } from "./rollout-judge.ts";
import { stepRollout } from "./rollout-step.ts";
import type { StepTask } from "./rollout-step.ts";
import { startRollout } from "./rollout-start.ts";

const checks = { ...defaultRolloutChecks({ errors: "errors_total", latency: null }), crashRate: null };
function rolloutOf(inconclusive?: RolloutInconclusiveAction): Rollout {
  const rollout = { phases: [1, "all"], bakeMs: 10_000, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback", checks, ...(inconclusive ? { inconclusive } : {}) };
  const spec = { name: "web", replicas: 4, rollout } as unknown as JobSpec; // only the fields a rollout reads
  const r = startRollout({ job: "web", version: 2, from: 1, cause: "apply", spec, tasks: [0, 1, 2, 3].map((index) => ({ index, domain: null })), now: 0 });
  return { ...r, phases: r.phases.map((p, i) => (i === 0 ? { ...p, healthyAt: 1000 } : p)) };
}
const tasks: StepTask[] = [0, 1, 2, 3].map((index) => ({ index, isNew: index === 0, ready: true, newEnds: 0, oldEnds: 0 }));
/** `n` points a second apart from the bake's start, errors per second `rate` plus a little noise. */
const points = (n: number, rate: number): TaskMetricsPoint[] =>
  Array.from({ length: n }, (_, i) => ({ at: 1000 + i * 1000, up: true, scrapeErrors: 0, clients: null, errorsPerSec: rate + ((i * 7) % 5) * 0.01, latencySeconds: null }));
const reader = (n: number, newRate: number) => ({ seriesOf: (i: number) => points(n, i === 0 ? newRate : 0.1), domainOf: () => null });
const step = (r: Rollout, n: number, newRate: number, now: number) =>
  stepRollout(r, tasks, now, (healthyAt, reached) => judgeBake(r, r.policy.checks, tasks, reached, healthyAt, now, reader(n, newRate)));

void test("judgeBake: the comparison's verdict with its figures", () => {
  const r = rolloutOf();
  const worse = judgeBake(r, checks, tasks, new Set([0]), 1000, 20_000, reader(15, 1));
  assert.equal(worse?.overall, "fail");
  const errors = worse?.checks.find((c) => c.name === "metric errors");
  assert.equal(errors?.verdict, "fail");
  assert.equal(errors?.figures["new.n"], 15);
  assert.equal(errors?.figures["old.n"], 45);
  assert.ok((errors?.figures["effect"] ?? 0) > 5, JSON.stringify(errors));
  assert.equal(judgeBake(r, checks, tasks, new Set([0]), 1000, 20_000, reader(15, 0.1))?.overall, "pass");
  assert.equal(judgeBake(r, checks, tasks, new Set([0]), 1000, 20_000, reader(3, 0.1))?.overall, "inconclusive");
  assert.equal(judgeBake(r, undefined, tasks, new Set([0]), 1000, 20_000, reader(15, 1)), null, "no checks: nothing judged");
  assert.equal(judgeBake(r, checks, tasks, new Set([0]), null, 20_000, reader(15, 1)), null, "no bake yet: nothing judged");
  const allNew = tasks.map((t) => ({ ...t, isNew: true }));
  assert.equal(judgeBake(r, checks, allNew, new Set([0, 1, 2, 3]), 1000, 20_000, reader(15, 1)), null, "no old task left: nothing to compare with");
});

void test("stepRollout with the judge: fail rolls back, pass moves on, too few samples waits then follows the policy", () => {
  const cases: { name: string; r: Rollout; n: number; rate: number; now: number; want: [string, number, boolean, string | null] }[] = [
    { name: "higher error rate: fails at once, rolls back", r: rolloutOf(), n: 15, rate: 1, now: 5000, want: ["failed", 0, true, "metric errors"] },
    { name: "equal metrics, baked: passes", r: rolloutOf(), n: 15, rate: 0.1, now: 12_000, want: ["running", 1, false, null] },
    { name: "equal metrics, not yet baked: waits", r: rolloutOf(), n: 15, rate: 0.1, now: 5000, want: ["running", 0, false, null] },
    { name: "too few samples, baked: waits", r: rolloutOf(), n: 3, rate: 0.1, now: 12_000, want: ["running", 0, false, null] },
    { name: "too few samples at the deadline: fails (default)", r: rolloutOf(), n: 3, rate: 0.1, now: 60_000, want: ["failed", 0, true, "inconclusive"] },
    { name: "too few samples at the deadline, pause: pauses", r: rolloutOf("pause"), n: 3, rate: 0.1, now: 60_000, want: ["paused", 0, false, "inconclusive"] },
    { name: "too few samples at the deadline, pass: passes (written)", r: rolloutOf("pass"), n: 3, rate: 0.1, now: 60_000, want: ["running", 1, false, null] },
  ];
  for (const c of cases) {
    const { rollout, rollback } = step(c.r, c.n, c.rate, c.now);
    assert.deepEqual([rollout.state, rollout.phase, rollback, rollout.failure?.check ?? null], c.want, c.name);
    assert.ok(rollout.phases[0]?.checks.some((k) => k.name === "metric errors"), `${c.name}: the verdict is in the record`);
  }
  const failed = step(rolloutOf(), 15, 1, 5000).rollout;
  assert.match(failed.why ?? "", /failed its metric errors check: errors/);
});
