// The recommender's decision over recorded usage tables: one sample per minute per task, as the usage
// history keeps them. Named cases: steady, spiky, growing, OOM-killed, throttled, too little history.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { RecommendPolicy, Resources } from "../../model/index.ts";
import { DefaultRecommendPolicy, recommend } from "./recommend.ts";
import type { OomEvidence, TaskSample } from "./recommend.ts";
import { percentile, roundCpu, roundMemoryMiB, slope } from "./stats.ts";

const MiB = 1024 * 1024;
const minute = 60_000;
const now = 1_000 * 24 * 3_600_000;

/** Cumulative throttling counters of a sample: throttled seconds, CPU periods, throttled periods. */
type Throttled = { seconds: number; periods: number; throttledPeriods: number };

/** `minutes` samples of one attempt, the newest a minute before `now`; `at(i)` gives cores, MiB and the throttling counters so far. */
function table(minutes: number, at: (i: number) => { cpu: number | null; mib: number; throttled?: Throttled; attempt?: string; index?: number }): TaskSample[] {
  return Array.from({ length: minutes }, (_, i) => {
    const r = at(i);
    return {
      at: now - (minutes - i) * minute, cpuSeconds: i * 10, cpuCores: r.cpu, memoryBytes: r.mib * MiB, memoryMaxBytes: r.mib * MiB, memoryPeakBytes: null, pids: 3,
      attemptId: r.attempt ?? "a1", index: r.index ?? 0,
      ...(r.throttled !== undefined ? { throttledSeconds: r.throttled.seconds, cpuPeriods: r.throttled.periods, cpuThrottledPeriods: r.throttled.throttledPeriods } : {}),
    };
  });
}

interface Case {
  name: string;
  current: Resources;
  samples: TaskSample[];
  ooms?: OomEvidence[];
  policy?: RecommendPolicy;
  want: { cpu: number; memoryMiB: number } | null;
  /** Words the reasons (or the reason there is none) must contain. */
  says: RegExp[];
}

const asked: Resources = { cpu: 1, memoryMiB: 512, diskMiB: 256 };
const cases: Case[] = [
  {
    name: "steady: 20 MiB and 0.1 cores used of 512 MiB and 1 core asked -> 32 MiB (20 + 15% = 23, the floor is 32), 0.15 cores",
    current: asked,
    samples: table(120, () => ({ cpu: 0.1, mib: 20 })),
    want: { cpu: 0.15, memoryMiB: 32 },
    says: [/peak 20 MiB over 120 samples \+ 15% headroom/, /p95 0\.1 cores/],
  },
  {
    name: "spiky: CPU spikes 3 minutes in 100 do not set the CPU (p95), a memory spike sets the memory (peak)",
    current: asked,
    samples: table(100, (i) => ({ cpu: i % 33 === 0 ? 2 : 0.2, mib: i === 50 ? 300 : 100 })),
    want: { cpu: 0.25, memoryMiB: 352 },
    says: [/peak 300 MiB/, /p95 0\.2 cores/],
  },
  {
    name: "growing: 100 -> 220 MiB over 2 h is projected another 2 h ahead",
    current: asked,
    samples: table(120, (i) => ({ cpu: 0.5, mib: 100 + i })),
    // peak 219, slope 60 MiB/h over 1.98 h: 219 + 119 = 338 MiB, * 1.15 = 388.7 -> 416 (32 MiB steps)
    want: { cpu: 0.6, memoryMiB: 416 },
    says: [/growing 60 MiB\/h/, /projected to 338 MiB/],
  },
  {
    name: "a start-up ramp (20 then 40 MiB, flat since) is not growth (found end to end: 4 samples were projected to 88Mi)",
    current: asked,
    samples: table(4, (i) => ({ cpu: 0.1, mib: i === 0 ? 20 : 40 })),
    policy: { ...DefaultRecommendPolicy, minSamples: 4 },
    want: { cpu: 0.15, memoryMiB: 48 },
    says: [/peak 40 MiB over 4 samples/],
  },
  {
    name: "two flat tasks, the bigger one started later: no growth (a trend is per task, not of the tasks pooled)",
    current: asked,
    samples: [...table(120, () => ({ cpu: 0.1, mib: 100 })), ...table(30, () => ({ cpu: 0.1, mib: 200, attempt: "b1", index: 1 }))],
    want: { cpu: 0.15, memoryMiB: 232 },
    says: [/peak 200 MiB over 150 samples/],
  },
  {
    name: "OOM-killed: a 256 MiB limit was too little; usage since then is small, yet never below 256 MiB + headroom",
    current: { cpu: 0.5, memoryMiB: 384, diskMiB: 256 },
    samples: table(90, () => ({ cpu: 0.2, mib: 60 })),
    ooms: [{ attemptId: "a0", at: now - 100 * minute, limitMiB: 256 }],
    want: { cpu: 0.25, memoryMiB: 320 },
    says: [/OOM-killed 1 time with a limit of 256 MiB/],
  },
  {
    name: "OOM kills outside the window are forgotten",
    current: asked,
    samples: table(90, () => ({ cpu: 0.2, mib: 60 })),
    ooms: [{ attemptId: "a0", at: now - 25 * 3_600_000, limitMiB: 4096 }],
    want: { cpu: 0.25, memoryMiB: 72 },
    says: [/peak 60 MiB/],
  },
  {
    name: "throttled: usage pinned at the 0.5-core limit, throttled in 30% of CPU periods -> more than the limit, not the usage",
    current: { cpu: 0.5, memoryMiB: 128, diskMiB: 256 },
    // 600 periods of 100 ms a minute, 180 of them throttled.
    samples: table(60, (i) => ({ cpu: 0.5, mib: 100, throttled: { seconds: i * 18, periods: i * 600, throttledPeriods: i * 180 } })),
    // 0.5 * 1.3 = 0.65 cores, * 1.15 = 0.75
    want: { cpu: 0.75, memoryMiB: 120 },
    says: [/throttled in 30% of CPU periods at 0.5 cores: the limit, not the demand, capped the usage; 30% more/],
  },
  {
    name: "throttled on 4 CPUs at once (throttled time 2.4x the wall time): bounded by the period share, not 10x the limit",
    current: { cpu: 0.5, memoryMiB: 128, diskMiB: 256 },
    samples: table(60, (i) => ({ cpu: 0.5, mib: 100, throttled: { seconds: i * 144, periods: i * 600, throttledPeriods: i * 540 } })),
    // 0.5 * 1.9 = 0.95, * 1.15 = 1.09 -> 1.1
    want: { cpu: 1.1, memoryMiB: 120 },
    says: [/throttled in 90% of CPU periods/],
  },
  {
    name: "throttled a little (2% of periods): the usage decides",
    current: { cpu: 1, memoryMiB: 128, diskMiB: 256 },
    samples: table(60, (i) => ({ cpu: 0.3, mib: 100, throttled: { seconds: i * 1.2, periods: i * 600, throttledPeriods: i * 12 } })),
    want: { cpu: 0.35, memoryMiB: 120 },
    says: [/p95 0\.3 cores/],
  },
  {
    name: "too little history: 30 samples, 60 needed; no recommendation and why",
    current: asked,
    samples: table(30, () => ({ cpu: 0.1, mib: 20 })),
    want: null,
    says: [/too little history: 30 usage samples in the last 24h; a recommendation needs at least 60/],
  },
  {
    name: "too little history: none at all",
    current: asked,
    samples: [],
    want: null,
    says: [/no usage samples in the last 24h/],
  },
  {
    name: "no CPU figures (first samples of attempts): CPU stays, memory is recommended",
    current: asked,
    samples: table(60, () => ({ cpu: null, mib: 200 })),
    want: { cpu: 1, memoryMiB: 232 },
    says: [/peak 200 MiB/],
  },
  {
    name: "already right: no changes",
    current: { cpu: 0.15, memoryMiB: 32, diskMiB: 256 },
    samples: table(120, () => ({ cpu: 0.1, mib: 20 })),
    want: { cpu: 0.15, memoryMiB: 32 },
    says: [],
  },
];

void test("recommend: recorded usage tables", () => {
  for (const c of cases) {
    const r = recommend({ job: "web", version: 3, current: c.current, samples: c.samples, ooms: c.ooms ?? [], now, policy: c.policy ?? DefaultRecommendPolicy });
    const got = r.recommended === null ? null : { cpu: r.recommended.cpu, memoryMiB: r.recommended.memoryMiB };
    assert.deepEqual(got, c.want, c.name);
    if (r.recommended !== null) assert.equal(r.recommended.diskMiB, c.current.diskMiB, `${c.name}: disk is left alone`);
    const text = [r.reason ?? "", ...r.changes.map((ch) => `${ch.field}: ${ch.why}`)].join("\n");
    for (const re of c.says) assert.match(text, re, c.name);
    if (c.says.length === 0) assert.deepEqual(r.changes, [], c.name);
    assert.equal(r.evidence.samples, c.samples.length, `${c.name}: evidence counts the samples`);
  }
});

void test("recommend: the evidence of two tasks, in all and per task", () => {
  const samples = [...table(120, (i) => ({ cpu: i < 60 ? 0.1 : 0.3, mib: 20 })), ...table(60, () => ({ cpu: 1, mib: 200, attempt: "b1", index: 1 }))];
  const r = recommend({ job: "web", version: 3, current: asked, samples, ooms: [], now, policy: DefaultRecommendPolicy });
  assert.deepEqual(r.evidence, {
    from: now - 120 * minute, to: now - minute, samples: 180, tasks: 2,
    cpu: { p50: 0.3, pct: 1, peak: 1, throttledShare: null },
    memory: { p50MiB: 20, p99MiB: 200, peakMiB: 200, trendMiBPerHour: 0, oomKills: 0, oomLimitMiB: null },
    perTask: [
      { index: 0, samples: 120, cpuP50: 0.1, cpuPct: 0.3, cpuPeak: 0.3, memoryP50MiB: 20, memoryP99MiB: 20, memoryPeakMiB: 20 },
      { index: 1, samples: 60, cpuP50: 1, cpuPct: 1, cpuPeak: 1, memoryP50MiB: 200, memoryP99MiB: 200, memoryPeakMiB: 200 },
    ],
  });
  assert.deepEqual(r.recommended, { cpu: 1.2, memoryMiB: 232, diskMiB: 256 }, "the busier task sets the job's figures");
  assert.deepEqual(r.policy, DefaultRecommendPolicy);
});

void test("stats: percentiles, slopes, rounding to sane units", () => {
  assert.equal(percentile([], 0.5), null);
  assert.equal(percentile([5, 1, 3], 0.5), 3);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95), 10);
  assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9), 9);
  assert.equal(slope([[0, 1], [1, 3], [2, 5]]), 2);
  assert.equal(slope([[1, 1], [1, 2]]), null);
  const mem: [number, number][] = [[1, 32], [23, 32], [33, 40], [250, 256], [257, 288], [1000, 1024], [1025, 1152], [9000, 9216]];
  for (const [mib, want] of mem) assert.equal(roundMemoryMiB(mib), want, `${mib} MiB`);
  const cpu: [number, number][] = [[0.001, 0.05], [0.11, 0.15], [0.15, 0.15], [0.999, 1], [1.01, 1.1], [3.95, 4], [4.1, 4.25]];
  for (const [cores, want] of cpu) assert.equal(roundCpu(cores), want, `${cores} cores`);
});
