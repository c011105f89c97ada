// The judge when a comparison has no baseline (table): a first rollout (no old version, no old task),
// and a failure-domain phase that takes whole domains (no old task left in the phase's domains).
// Absolute checks (health, custom) still pass or fail; comparisons say why they were skipped or what
// they compared with instead, and never hold the phase for want of old samples.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { FailureDomain, JobSpec, Rollout } from "../../model/index.ts";
import type { RawMetricPoint, RolloutChecks } from "../../model/judge/index.ts";
import { judgeBake } from "./rollout-judge.ts";
import type { JudgeReader } from "./rollout-judge.ts";
import { stepRollout } from "./rollout-step.ts";
import type { StepTask } from "./rollout-step.ts";
import { startRollout } from "./rollout-start.ts";

const checks: RolloutChecks = {
  health: false,
  crashRate: { tolerance: 0, alpha: 0.05, minExposureMs: 0 },
  metrics: [{ metric: { kind: "counter", name: "errors_total" }, better: "lower", tolerance: 0.05, slack: 0, alpha: 0.05, minSamples: 10 }],
  efficiency: null,
  custom: [{ kind: "http", url: "http://127.0.0.1:1/ok", statuses: [200, 299], timeoutMs: 1000 }],
};
const dom = (cluster: string): FailureDomain => ({ region: "r", datacenter: "dc", cluster, rack: `${cluster}-r` });
/** Tasks 0-1 in cluster a, 2-3 in cluster b. */
const domains = [dom("a"), dom("a"), dom("b"), dom("b")];
function rolloutOf(phases: (number | string)[], from: number | null, phase: number): Rollout {
  const spec = { name: "web", replicas: 4, rollout: { phases, bakeMs: 10_000, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback", checks } } as unknown as JobSpec; // only the fields a rollout reads
  const r = startRollout({ job: "web", version: 2, from, cause: "apply", spec, tasks: [0, 1, 2, 3].map((index) => ({ index, domain: domains[index] ?? null })), now: 0 });
  return { ...r, phase, phases: r.phases.map((p, i) => (i === phase ? { ...p, startedAt: 0, healthyAt: 1000 } : p)) };
}
/** 20 readings a second apart: `errs(index)` errors a second, a little noise. */
function readerOf(errs: (index: number) => number, custom: "pass" | "fail"): JudgeReader {
  return {
    seriesOf: () => [],
    domainOf: (i) => domains[i] ?? null,
    namedOf: (index): RawMetricPoint[] => Array.from({ length: 20 }, (_, i) => ({ at: 1000 + i * 1000, value: i * (errs(index) + ((i * 7 + index) % 5) * 0.01) })),
    customOf: () => [{ verdict: custom, reason: "answered", kind: "http", target: "http://127.0.0.1:1/ok", summary: custom === "pass" ? "200 OK" : "503", output: "", durationMs: 3, status: custom === "pass" ? 200 : 503, exitCode: null }],
  };
}
const task = (index: number, isNew: boolean): StepTask => ({ index, isNew, ready: true, newEnds: 0, oldEnds: 0 });

void test("comparisons without a baseline: skipped or widened, with the reason (table)", () => {
  const cases: { name: string; r: Rollout; tasks: StepTask[]; reached: number[]; errs: (i: number) => number; custom: "pass" | "fail"; want: Record<string, string>; detail: RegExp; overall: string }[] = [
    {
      name: "first rollout (no old version): the comparison is skipped with its reason, the custom check passes the phase",
      r: rolloutOf([1, "all"], null, 0), tasks: [task(0, true), task(1, true), task(2, true), task(3, true)], reached: [0], errs: () => 1, custom: "pass",
      want: { "metric rate of errors_total": "inconclusive", "crash-rate": "inconclusive", "custom GET http://127.0.0.1:1/ok": "pass" }, detail: /skipped: no old version to compare with/, overall: "pass",
    },
    {
      name: "first rollout: an absolute check that fails still fails the phase",
      r: rolloutOf([1, "all"], null, 0), tasks: [task(0, true), task(1, true), task(2, true), task(3, true)], reached: [0], errs: () => 1, custom: "fail",
      want: { "metric rate of errors_total": "inconclusive", "custom GET http://127.0.0.1:1/ok": "fail" }, detail: /skipped/, overall: "fail",
    },
    {
      name: "a cluster phase took all of cluster a: compared with old tasks elsewhere (equal: pass)",
      r: rolloutOf(["cluster", "all"], 1, 0), tasks: [task(0, true), task(1, true), task(2, false), task(3, false)], reached: [0, 1], errs: () => 1, custom: "pass",
      want: { "metric rate of errors_total": "pass" }, detail: /no old task left in the phase's cluster: compared with old tasks of other clusters/, overall: "pass",
    },
    {
      name: "a cluster phase took all of cluster a, 5x the errors: compared with old tasks elsewhere, fails",
      r: rolloutOf(["cluster", "all"], 1, 0), tasks: [task(0, true), task(1, true), task(2, false), task(3, false)], reached: [0, 1], errs: (i) => (i < 2 ? 5 : 1), custom: "pass",
      want: { "metric rate of errors_total": "fail" }, detail: /compared with old tasks of other clusters/, overall: "fail",
    },
  ];
  for (const c of cases) {
    const j = judgeBake(c.r, checks, c.tasks, new Set(c.reached), 1000, 30_000, readerOf(c.errs, c.custom));
    const got = Object.fromEntries((j?.checks ?? []).map((x) => [x.name, x.verdict]));
    const shown = JSON.stringify(j?.checks.map((x) => [x.name, x.verdict, x.detail]));
    for (const [name, v] of Object.entries(c.want)) assert.equal(got[name], v, `${c.name}: ${name} in ${shown}`);
    assert.match(j?.checks.find((x) => x.name === "metric rate of errors_total")?.detail ?? "", c.detail, `${c.name}: ${shown}`);
    assert.equal(j?.overall, c.overall, `${c.name}: ${shown}`);
  }
});

void test("a version adding a named comparison: old tasks never reported the metric, so it is skipped with why, not inconclusive", () => {
  const r = rolloutOf([1, "all"], 1, 0);
  const tasks = [task(0, true), task(1, false), task(2, false), task(3, false)];
  // Agents scrape the names an attempt's own version's checks name: v1's named none.
  const base = readerOf(() => 1, "pass");
  const read: JudgeReader = { ...base, namedOf: (i, name) => (i === 0 ? (base.namedOf?.(i, name) ?? []) : []), oldNamed: new Set<string>() };
  const j = judgeBake(r, checks, tasks, new Set([0]), 1000, 30_000, read);
  const metric = j?.checks.find((x) => x.name === "metric rate of errors_total");
  assert.match(metric?.detail ?? "", /skipped: the old tasks' version does not report errors_total/, JSON.stringify(j?.checks));
  assert.equal(j?.overall, "pass", JSON.stringify(j?.checks));
  // The old version reports it: compared as usual.
  const both = judgeBake(r, checks, tasks, new Set([0]), 1000, 30_000, { ...base, oldNamed: new Set(["errors_total"]) });
  assert.equal(both?.checks.find((x) => x.name === "metric rate of errors_total")?.verdict, "pass", JSON.stringify(both?.checks));
});

void test("a first rollout with a comparison check passes its phase after the bake (no wait for old samples)", () => {
  const r = rolloutOf([1, "all"], null, 0);
  const tasks = [task(0, true), task(1, true), task(2, true), task(3, true)];
  const read = readerOf(() => 1, "pass");
  const step = stepRollout(r, tasks, 12_000, (healthyAt, reached) => judgeBake(r, checks, tasks, reached, healthyAt, 12_000, read));
  assert.equal(step.rollout.phases[0]?.outcome, "passed", JSON.stringify(step.rollout.phases[0]?.checks));
  assert.equal(step.rollout.phase, 1);
});
