import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultRolloutChecks } from "./checks-spec.ts";
import type { RolloutChecks } from "./checks-spec.ts";
import { judgeHealth } from "./health.ts";
import type { NewTaskHealth } from "./health.ts";
import { judgePhase, overallVerdict } from "./phase.ts";
import type { PhaseEvidence, TaskUsage } from "./phase.ts";
import type { TaskSeries } from "./samples.ts";
import type { Verdict } from "./verdict.ts";

void test("judgeHealth: named cases", () => {
  const h = (index: number, healthy: boolean | null, restarts = 0): NewTaskHealth => ({ index, healthy, restarts });
  const cases: [string, NewTaskHealth[], Verdict, string][] = [
    ["all healthy", [h(0, true), h(1, true)], "pass", "health: all 2 new tasks healthy, none restarted"],
    ["one restarted, healthy again", [h(0, true), h(1, true, 1)], "fail", "health: restarted: 1 (of 2 new tasks)"],
    ["one unhealthy", [h(0, false), h(1, true)], "fail", "health: unhealthy: 0 (of 2 new tasks)"],
    ["one not known yet", [h(0, true), h(1, null)], "inconclusive", "health: not known yet for 1"],
    ["no new task yet", [], "inconclusive", "health: no new task yet"],
  ];
  for (const [name, tasks, verdict, summary] of cases) {
    const v = judgeHealth(tasks);
    assert.deepEqual({ verdict: v.verdict, summary: v.summary }, { verdict, summary }, name);
  }
});

void test("overallVerdict: any fail fails; pass only when all pass", () => {
  const v = (...xs: Verdict[]) => overallVerdict(xs.map((verdict) => ({ verdict })));
  assert.equal(v("pass", "inconclusive", "fail"), "fail");
  assert.equal(v("pass", "inconclusive"), "inconclusive");
  assert.equal(v("pass", "pass"), "pass");
  assert.equal(v(), "pass");
});

/** A task's error counter over 30 scrapes 10 s apart from t=0, growing by `perScrape` (+ a wobble). */
function errorsSeries(index: number, domain: string, perScrape: number): TaskSeries {
  let total = 0;
  return { index, domain, raw: Array.from({ length: 31 }, (_, i) => ({ at: i * 10_000, value: (total += i === 0 ? 0 : perScrape * (1 + 0.1 * Math.sin(index * 5 + i))) })) };
}

function usage(domain: string, cpuPerRequest: number): TaskUsage {
  return { domain, points: Array.from({ length: 31 }, (_, i) => ({ at: i * 10_000, cpuSeconds: i * 1000 * cpuPerRequest * (1 + 0.02 * Math.sin(i)), requests: i * 1000 })) };
}

void test("judgePhase: every configured check, old tasks of the phase's domain only", () => {
  const checks: RolloutChecks = {
    ...defaultRolloutChecks(),
    crashRate: { tolerance: 0, alpha: 0.05, minExposureMs: 60_000 },
    metrics: [{ metric: { kind: "counter", name: "errors_total" }, better: "lower", tolerance: 0.05, slack: 0, alpha: 0.05, minSamples: 10 }],
    efficiency: { requests: "requests_total", tolerance: 0.05, alpha: 0.05, minSamples: 10 },
  };
  const evidence = (newErrors: number, newCpu: number): PhaseEvidence => ({
    domain: "rack-a",
    since: 0,
    health: [{ index: 0, healthy: true, restarts: 0 }],
    crashes: { new: { crashes: 0, exposureMs: 300_000 }, old: { crashes: 0, exposureMs: 3_000_000 } },
    // The old task in rack-b errs 10 times as much: were it pooled, a bad v2 would look fine.
    series: { new: [errorsSeries(0, "rack-a", newErrors)], old: [errorsSeries(1, "rack-a", 1), errorsSeries(2, "rack-a", 1), errorsSeries(3, "rack-b", 10)] },
    usage: { new: [usage("rack-a", newCpu)], old: [usage("rack-a", 0.01), usage("rack-b", 0.05)] },
  });
  const good = judgePhase(checks, evidence(1, 0.01));
  assert.deepEqual(good.checks.map((c) => [c.check, c.verdict]), [["health", "pass"], ["crash-rate", "pass"], ["metric", "pass"], ["efficiency", "pass"]]);
  assert.equal(good.overall, "pass");
  const bad = judgePhase(checks, evidence(3, 0.02));
  assert.deepEqual(bad.checks.map((c) => [c.check, c.verdict]), [["health", "pass"], ["crash-rate", "pass"], ["metric", "fail"], ["efficiency", "fail"]]);
  assert.equal(bad.overall, "fail");
  const metric = bad.checks[2];
  assert.ok(metric?.check === "metric" && metric.metric === "rate of errors_total" && metric.new.n === 30 && metric.old.n === 60, JSON.stringify(metric));
  // The same evidence judged against every old task (a phase with no domain): rack-b hides the regression.
  assert.equal(judgePhase(checks, { ...evidence(3, 0.02), domain: null }).checks[2]?.verdict, "pass");
  // Too early in the bake: the samples since `since` are too few, so inconclusive, never a pass.
  const early = judgePhase(checks, { ...evidence(1, 0.01), since: 250_000 });
  assert.equal(early.checks[2]?.verdict, "inconclusive");
  assert.equal(early.overall, "inconclusive");
});
