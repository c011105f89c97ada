import { test } from "node:test";
import assert from "node:assert/strict";
import { compareCrashRates } from "./crash-rate.ts";
import type { CrashExposure } from "./crash-rate.ts";
import { compareEfficiency, cpuPerRequestSamples, cpuPerRequestTotal, joinUsage } from "./efficiency.ts";
import type { UsagePoint } from "./efficiency.ts";
import { metricLabel, pools, taskSamples } from "./samples.ts";
import type { TaskSeries } from "./samples.ts";
import type { Verdict, VerdictReason } from "./verdict.ts";

const MIN = 60_000;
const HOUR = 3_600_000;

void test("taskSamples: counters as per-interval rates (resets), gauges as they are, histogram quantiles per interval, signals from the server's points", () => {
  const raw: TaskSeries = { index: 0, domain: "r1", raw: [{ at: 0, value: 10 }, { at: 10_000, value: 30 }, { at: 20_000, value: 5 }, { at: 30_000, value: null }, { at: 40_000, value: 45 }] };
  assert.deepEqual(taskSamples({ kind: "counter", name: "errors_total" }, raw), [null, 2, 0.5, null, null]);
  assert.deepEqual(taskSamples({ kind: "gauge", name: "clients" }, raw), [10, 30, 5, null, 45]);
  assert.deepEqual(taskSamples({ kind: "gauge", name: "clients" }, raw, 15_000), [5, null, 45]);
  const hist: TaskSeries = {
    index: 1,
    domain: null,
    raw: [
      { at: 0, buckets: [[0.1, 0], [1, 0], [Infinity, 0]] },
      { at: 10_000, buckets: [[0.1, 50], [1, 100], [Infinity, 100]] },
      { at: 20_000, buckets: [[0.1, 50], [1, 100], [Infinity, 100]] },
      { at: 30_000, buckets: [[0.1, 150], [1, 200], [Infinity, 200]] },
    ],
  };
  // Interval 2: 100 observations, half under 0.1 and half in (0.1, 1]: p75 halfway into the second bucket.
  // Interval 3: none observed, no reading. Interval 4: 100 more, all under 0.1: p75 three quarters into the first.
  const q = taskSamples({ kind: "histogram", name: "req_seconds", quantile: 0.75 }, hist).map((v) => (v === null ? null : Number(v.toFixed(9))));
  assert.deepEqual(q, [null, 0.55, null, 0.075]);
  const points: TaskSeries = {
    index: 2,
    domain: "r1",
    points: [
      { at: 0, up: true, scrapeErrors: 0, clients: 3, errorsPerSec: 0.5, latencySeconds: 0.2 },
      { at: 10_000, up: false, scrapeErrors: 1, clients: 3, errorsPerSec: 0.5, latencySeconds: 0.2 },
    ],
  };
  assert.deepEqual(taskSamples({ kind: "signal", signal: "errors" }, points), [0.5, null]);
  assert.equal(metricLabel({ kind: "histogram", name: "req_seconds", quantile: 0.99 }), "p99 of req_seconds");
});

void test("pools: old tasks only from the phase's failure domain, every old task when the phase has none", () => {
  const t = (index: number, domain: string, v: number): TaskSeries => ({ index, domain, raw: [{ at: 0, value: v }] });
  const g = { kind: "gauge", name: "x" } as const;
  const olds = [t(1, "r1", 1), t(2, "r2", 2), t(3, "r1", 3)];
  assert.deepEqual(pools(g, [t(0, "r1", 9)], olds, "r1"), { new: [9], old: [1, 3] });
  assert.deepEqual(pools(g, [t(0, "r1", 9)], olds, null), { new: [9], old: [1, 2, 3] });
  assert.deepEqual(pools(g, [t(0, "r9", 9)], olds, "r9"), { new: [9], old: [] });
});

/** A task serving `rps` requests a second at `cpuPerRequest` CPU seconds each, read every 10 s, with a little noise. */
function usage(n: number, rps: number, cpuPerRequest: number, seed: number): UsagePoint[] {
  const out: UsagePoint[] = [{ at: 0, cpuSeconds: 100, requests: 1000 }];
  for (let i = 1; i <= n; i++) {
    const prev = out[i - 1] ?? { at: 0, cpuSeconds: 0, requests: 0 };
    const requests = rps * 10;
    const noise = 1 + 0.05 * Math.sin(seed * 7 + i * 3.1);
    out.push({ at: i * 10_000, cpuSeconds: (prev.cpuSeconds ?? 0) + requests * cpuPerRequest * noise, requests: (prev.requests ?? 0) + requests });
  }
  return out;
}

void test("efficiency: CPU seconds per request per interval; idle intervals and missing readings give none; restarts count from 0", () => {
  const pts: UsagePoint[] = [
    { at: 0, cpuSeconds: 10, requests: 100 },
    { at: 1, cpuSeconds: 12, requests: 200 }, // 2 s / 100
    { at: 2, cpuSeconds: 12.5, requests: 200 }, // idle: none
    { at: 3, cpuSeconds: null, requests: 250 },
    { at: 4, cpuSeconds: 13, requests: 300 }, // after a missing one: none
    { at: 5, cpuSeconds: 1, requests: 50 }, // restart: 1 s / 50
  ];
  assert.deepEqual(cpuPerRequestSamples(pts), [0.02, 0.02]);
  assert.deepEqual(cpuPerRequestTotal([pts]), { cpuSeconds: 3.5, requests: 150, perRequest: 3.5 / 150 });
});

void test("compareEfficiency: Instagram's comparison, named cases", () => {
  const old = [usage(20, 100, 0.01, 1), usage(20, 80, 0.01, 2)];
  const cases: [string, UsagePoint[][], Verdict, VerdictReason][] = [
    ["same cost per request, different load", [usage(20, 300, 0.01, 3)], "pass", "within-tolerance"],
    ["12% more CPU per request (Instagram's regression)", [usage(20, 100, 0.0112, 4), usage(20, 90, 0.0112, 5)], "fail", "worse"],
    ["cheaper per request", [usage(20, 100, 0.008, 6)], "pass", "within-tolerance"],
    ["an idle new task has no efficiency", [usage(20, 0, 0.01, 7)], "inconclusive", "too-few-samples"],
  ];
  for (const [name, fresh, verdict, reason] of cases) {
    const v = compareEfficiency(fresh, old, { tolerance: 0.05 });
    assert.deepEqual({ verdict: v.verdict, reason: v.reason }, { verdict, reason }, `${name}: ${v.summary}`);
  }
  const v = compareEfficiency([usage(20, 100, 0.0112, 4)], old, { tolerance: 0.05 });
  assert.ok(v.perRequest.new !== null && v.perRequest.old !== null && Math.abs(v.perRequest.new / v.perRequest.old - 1.12) < 0.02, JSON.stringify(v.perRequest));
});

void test("compareCrashRates: named cases", () => {
  const e = (crashes: number, ms: number): CrashExposure => ({ crashes, exposureMs: ms });
  const cases: [string, CrashExposure, CrashExposure, Verdict, VerdictReason][] = [
    ["no crashes on either side, enough exposure", e(0, 30 * MIN), e(0, 10 * HOUR), "pass", "within-tolerance"],
    ["no crashes but only 2 task-minutes: proves nothing", e(0, 2 * MIN), e(0, 10 * HOUR), "inconclusive", "too-few-samples"],
    ["3 crashes of 1 new task while 99 old ran clean", e(3, 10 * MIN), e(0, 99 * 10 * MIN), "fail", "worse"],
    ["1 crash in a short phase, none in old: not significant yet", e(1, 30 * MIN), e(0, 60 * MIN), "inconclusive", "not-significant"],
    ["same rate as old", e(2, 10 * HOUR), e(20, 100 * HOUR), "pass", "within-tolerance"],
    ["ten times old's rate", e(10, 10 * HOUR), e(10, 100 * HOUR), "fail", "worse"],
    ["no old tasks", e(0, 30 * MIN), e(0, 0), "inconclusive", "no-baseline"],
    ["crashes before any exposure counted: one side empty", e(0, 0), e(3, HOUR), "inconclusive", "too-few-samples"],
  ];
  for (const [name, n, o, verdict, reason] of cases) {
    const v = compareCrashRates(n, o);
    assert.deepEqual({ verdict: v.verdict, reason: v.reason }, { verdict, reason }, `${name}: ${v.summary}`);
  }
  // The exact test by hand: 3 of 3 crashes on a side with 1% of the exposure, p = 0.01³.
  const v = compareCrashRates(e(3, 10 * MIN), e(0, 990 * MIN));
  assert.ok(v.p !== null && Math.abs(v.p - 1e-6) < 1e-12, String(v.p));
  assert.equal(v.new.perHour, 18);
  assert.match(v.summary, /new 3 in 0\.167 task-hours, old 0 in 16\.5/);
  // The tolerance widens what counts as no worse.
  assert.equal(compareCrashRates(e(2, 10 * HOUR), e(10, 100 * HOUR), { tolerance: 1 }).verdict, "pass");
});

void test("joinUsage: each CPU sample with the nearest request reading within the skew", () => {
  const cpu = [{ at: 60_000, cpuSeconds: 1 }, { at: 120_000, cpuSeconds: 2 }, { at: 180_000, cpuSeconds: 3 }];
  const requests = [{ at: 58_000, value: 10 }, { at: 68_000, value: 11 }, { at: 121_000, value: 20 }, { at: 150_000, value: 25 }];
  assert.deepEqual(joinUsage(cpu, requests, 5000), [
    { at: 60_000, cpuSeconds: 1, requests: 10 },
    { at: 120_000, cpuSeconds: 2, requests: 20 },
    { at: 180_000, cpuSeconds: 3, requests: null },
  ]);
});
