// The adapt decision: clamping to min..max, significance, and at most one adapted version per `every`.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { AdaptPolicy, Recommendation, Resources } from "../../model/index.ts";
import { adaptMessage, adaptTarget, decideAdapt, significant } from "./adapt.ts";
import { DefaultRecommendPolicy } from "./recommend.ts";

const hour = 3_600_000;
const current: Resources = { cpu: 1, memoryMiB: 512, diskMiB: 256 };
const open: AdaptPolicy = { min: { cpu: null, memoryMiB: null }, max: { cpu: null, memoryMiB: null }, everyMs: 6 * hour };

function rec(recommended: Resources | null): Omit<Recommendation, "adapt"> {
  return {
    job: "web", version: 1, current, recommended, reason: recommended === null ? "too little history" : null, policy: DefaultRecommendPolicy,
    changes: recommended === null ? [] : [
      ...(recommended.memoryMiB !== current.memoryMiB ? [{ field: "memoryMiB" as const, from: current.memoryMiB, to: recommended.memoryMiB, why: "peak 20 MiB" }] : []),
      ...(recommended.cpu !== current.cpu ? [{ field: "cpu" as const, from: current.cpu, to: recommended.cpu, why: "p95 0.1 cores" }] : []),
    ],
    evidence: { from: null, to: null, samples: 0, tasks: 0, cpu: { p50: null, pct: null, peak: null, throttledShare: null }, memory: { p50MiB: null, p99MiB: null, peakMiB: null, trendMiBPerHour: null, oomKills: 0, oomLimitMiB: null }, perTask: [] },
  };
}

void test("adaptTarget: clamps cpu and memory to the bounds set, keeps disk", () => {
  const cases: [string, AdaptPolicy, Resources][] = [
    ["no bounds", open, { cpu: 0.15, memoryMiB: 32, diskMiB: 256 }],
    ["min memory", { ...open, min: { cpu: null, memoryMiB: 128 } }, { cpu: 0.15, memoryMiB: 128, diskMiB: 256 }],
    ["min cpu and memory", { ...open, min: { cpu: 0.5, memoryMiB: 64 } }, { cpu: 0.5, memoryMiB: 64, diskMiB: 256 }],
    ["max below the recommendation", { ...open, max: { cpu: 0.1, memoryMiB: 16 } }, { cpu: 0.1, memoryMiB: 16, diskMiB: 256 }],
  ];
  for (const [name, a, want] of cases) assert.deepEqual(adaptTarget(current, { cpu: 0.15, memoryMiB: 32, diskMiB: 999 }, a), want, name);
});

void test("significant: at least 10% and a minimum step", () => {
  const cases: [string, Resources, boolean][] = [
    ["same", current, false],
    ["memory -5%", { ...current, memoryMiB: 488 }, false],
    ["memory -12%", { ...current, memoryMiB: 448 }, true],
    ["cpu +10%", { ...current, cpu: 1.1 }, true],
    ["cpu +4%", { ...current, cpu: 1.04 }, false],
  ];
  for (const [name, to, want] of cases) assert.equal(significant(current, to), want, name);
  assert.equal(significant({ cpu: 0.1, memoryMiB: 64, diskMiB: 1 }, { cpu: 0.14, memoryMiB: 72, diskMiB: 1 }), false, "small tasks: under 0.05 cores and 16 MiB");
});

void test("decideAdapt: named cases", () => {
  const now = 100 * hour;
  const small = { cpu: 0.15, memoryMiB: 32, diskMiB: 256 };
  const cases: { name: string; rec: Omit<Recommendation, "adapt">; adapt: AdaptPolicy; last: number | null; apply: Resources | null; note: RegExp }[] = [
    { name: "never adapted: applies", rec: rec(small), adapt: open, last: null, apply: small, note: /applies as a new version/ },
    { name: "adapted 7 h ago, every 6 h: applies", rec: rec(small), adapt: open, last: now - 7 * hour, apply: small, note: /applies/ },
    { name: "adapted 2 h ago, every 6 h: waits 4 h", rec: rec(small), adapt: open, last: now - 2 * hour, apply: null, note: /would apply, in 4h: adapted versions come at most every 6h/ },
    { name: "no recommendation: nothing", rec: rec(null), adapt: open, last: null, apply: null, note: /nothing to apply: too little history/ },
    { name: "not significant", rec: rec({ cpu: 1, memoryMiB: 500, diskMiB: 256 }), adapt: open, last: null, apply: null, note: /no significant change/ },
    { name: "bounded to the current values: not significant", rec: rec(small), adapt: { ...open, min: { cpu: 1, memoryMiB: 512 } }, last: null, apply: null, note: /no significant change \(within the job's adapt bounds\)/ },
    { name: "bounded, still significant", rec: rec(small), adapt: { ...open, min: { cpu: null, memoryMiB: 256 } }, last: null, apply: { cpu: 0.15, memoryMiB: 256, diskMiB: 256 }, note: /applies \(within the job's adapt bounds\)/ },
  ];
  for (const c of cases) {
    const d = decideAdapt(c.rec, c.adapt, c.last, now);
    assert.deepEqual(d.apply, c.apply, c.name);
    assert.match(d.note, c.note, c.name);
  }
  assert.equal(adaptMessage(rec(small), { cpu: 0.15, memoryMiB: 256, diskMiB: 256 }), "adapted from usage: memory 512 -> 256 MiB (recommended 32 MiB, bounded by adapt): peak 20 MiB; cpu 1 -> 0.15 cores: p95 0.1 cores");
});
