// The judge on named metrics (table): counter rates, gauges and histogram quantiles read from the raw
// readings agents report for a rollout's checks (JudgeReader.namedOf), and the efficiency check, CPU
// seconds per request (the task's cgroup CPU over its request counter, JudgeReader.cpuOf), new
// against old, through judgeBake as the controller calls it. Too few samples stays inconclusive.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobSpec, Rollout } from "../../model/index.ts";
import type { RawMetricPoint, RolloutChecks } from "../../model/judge/index.ts";
import { judgeBake } from "./rollout-judge.ts";
import type { JudgeReader } from "./rollout-judge.ts";
import type { StepTask } from "./rollout-step.ts";
import { startRollout } from "./rollout-start.ts";

const cmp = { tolerance: 0.05, slack: 0, alpha: 0.05, minSamples: 10 };
const checks: RolloutChecks = {
  health: false,
  crashRate: null,
  metrics: [
    { metric: { kind: "counter", name: "errors_total" }, better: "lower", ...cmp },
    { metric: { kind: "gauge", name: "queue_depth" }, better: "lower", ...cmp },
    { metric: { kind: "histogram", name: "request_seconds", quantile: 0.99 }, better: "lower", ...{ ...cmp, tolerance: 0.1 } },
  ],
  efficiency: { requests: "requests_total", tolerance: 0.05, alpha: 0.05, minSamples: 10 },
  custom: [],
};
const rollout: Rollout = (() => {
  const spec = { name: "web", replicas: 4, rollout: { phases: [1, "all"], bakeMs: 10_000, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback", checks } } as unknown as JobSpec; // only the fields a rollout reads
  const r = startRollout({ job: "web", version: 2, from: 1, cause: "apply", spec, tasks: [0, 1, 2, 3].map((index) => ({ index, domain: null })), now: 0 });
  return { ...r, phases: r.phases.map((p, i) => (i === 0 ? { ...p, healthyAt: 1000 } : p)) };
})();
const tasks: StepTask[] = [0, 1, 2, 3].map((index) => ({ index, isNew: index === 0, ready: true, newEnds: 0, oldEnds: 0 }));

/** How a side behaves: errors/s, queue depth, share of slow (2 s) requests, CPU seconds per request. */
interface Side { errors: number; queue: number; slow: number; cpu: number }
const good: Side = { errors: 1, queue: 10, slow: 0, cpu: 0.01 };
/** `n` readings a second apart from the bake's start, 100 requests a second, a little noise. */
function readerOf(n: number, sides: { new: Side; old: Side }): JudgeReader {
  const side = (index: number): Side => (index === 0 ? sides.new : sides.old);
  const series = (index: number, name: string): RawMetricPoint[] =>
    Array.from({ length: n }, (_, i) => {
      const s = side(index);
      const at = 1000 + i * 1000;
      const jitter = ((i * 7 + index) % 5) * 0.01;
      if (name === "errors_total") return { at, value: i * (s.errors + jitter) };
      if (name === "queue_depth") return { at, value: s.queue + jitter * 10 };
      if (name === "requests_total") return { at, value: i * 100 };
      // 100 requests a second: the slow share at 2 s, the rest at 0.05 s (+Inf holds them all).
      const slow = Math.round(i * 100 * s.slow);
      return { at, buckets: [[0.1, i * 100 - slow], [1, i * 100 - slow], [5, i * 100], [Infinity, i * 100]] };
    });
  return {
    seriesOf: () => [],
    domainOf: () => null,
    namedOf: series,
    cpuOf: (index) => Array.from({ length: n }, (_, i) => ({ at: 1000 + i * 1000, cpuSeconds: i * 100 * (side(index).cpu + ((i * 3 + index) % 4) * 0.0001) })),
  };
}
const judge = (n: number, sides: { new: Side; old: Side }) => judgeBake(rollout, checks, tasks, new Set([0]), 1000, 30_000, readerOf(n, sides));
const verdicts = (j: ReturnType<typeof judge>): Record<string, string> => Object.fromEntries((j?.checks ?? []).map((c) => [c.name, c.verdict]));

void test("judgeBake on named metrics and efficiency (table)", () => {
  const names = ["metric rate of errors_total", "metric queue_depth", "metric p99 of request_seconds", "efficiency"];
  const cases: { name: string; n: number; new: Side; want: string[] }[] = [
    { name: "equal: every check passes", n: 20, new: good, want: ["pass", "pass", "pass", "pass"] },
    { name: "5x the error rate: the counter rate fails", n: 20, new: { ...good, errors: 5 }, want: ["fail", "pass", "pass", "pass"] },
    { name: "a deeper queue: the gauge fails", n: 20, new: { ...good, queue: 30 }, want: ["pass", "fail", "pass", "pass"] },
    { name: "2% slow requests: p99 fails", n: 20, new: { ...good, slow: 0.02 }, want: ["pass", "pass", "fail", "pass"] },
    { name: "twice the CPU per request (Instagram's -12% and worse): efficiency fails", n: 20, new: { ...good, cpu: 0.02 }, want: ["pass", "pass", "pass", "fail"] },
    { name: "too few samples: inconclusive, never a pass", n: 4, new: good, want: ["inconclusive", "inconclusive", "inconclusive", "inconclusive"] },
  ];
  for (const c of cases) {
    const j = judge(c.n, { new: c.new, old: good });
    const v = verdicts(j);
    assert.deepEqual(names.map((k) => v[k]), c.want, `${c.name}: ${JSON.stringify(j?.checks.map((x) => [x.name, x.verdict, x.detail]))}`);
  }
});

void test("the verdicts carry their figures", () => {
  const j = judge(20, { new: { ...good, errors: 5, cpu: 0.02 }, old: good });
  const errors = j?.checks.find((c) => c.name === "metric rate of errors_total");
  assert.ok((errors?.figures["new.mean"] ?? 0) > 4.5 && (errors?.figures["old.mean"] ?? 9) < 1.5, JSON.stringify(errors));
  const eff = j?.checks.find((c) => c.name === "efficiency");
  assert.ok(Math.abs((eff?.figures["perRequest.new"] ?? 0) - 0.02) < 0.001 && Math.abs((eff?.figures["perRequest.old"] ?? 0) - 0.01) < 0.001, JSON.stringify(eff));
  assert.equal(j?.overall, "fail");
});
