import { test } from "node:test";
import assert from "node:assert/strict";
import { mulberry32 } from "../random.ts";
import { compareSamples } from "./compare.ts";
import type { CompareOptions } from "./compare.ts";
import type { Verdict, VerdictReason } from "./verdict.ts";

/** n samples around `mean` with a relative spread `cv` (uniform noise), seeded. */
function around(seed: number, n: number, mean: number, cv: number): number[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => mean * (1 + cv * (2 * rnd() - 1)));
}

const errors5: CompareOptions = { better: "lower", tolerance: 0.05, label: "errors" };
const p99at10: CompareOptions = { better: "lower", tolerance: 0.1, label: "p99 latency" };
const rps: CompareOptions = { better: "higher", tolerance: 0.05, label: "requests per second" };

void test("compareSamples: named cases", () => {
  const cases: [string, (number | null)[], (number | null)[], CompareOptions, Verdict, VerdictReason][] = [
    ["clearly worse: errors doubled", around(1, 30, 2, 0.2), around(2, 30, 1, 0.2), errors5, "fail", "worse"],
    ["equal: same distribution", around(3, 30, 1, 0.2), around(4, 30, 1, 0.2), errors5, "pass", "within-tolerance"],
    ["equal and identical", Array<number>(30).fill(0.25), Array<number>(30).fill(0.25), p99at10, "pass", "within-tolerance"],
    ["slightly worse within tolerance: p99 +5% of an allowed 10%, significant but allowed", around(5, 60, 0.105, 0.01), around(6, 60, 0.1, 0.01), p99at10, "pass", "within-tolerance"],
    ["just beyond tolerance and significant: p99 +15%", around(7, 60, 0.115, 0.01), around(8, 60, 0.1, 0.01), p99at10, "fail", "worse"],
    ["noisy: looks 30% worse, the noise hides it", around(9, 12, 1.3, 1), around(10, 12, 1, 1), errors5, "inconclusive", "not-significant"],
    ["too few samples, however worse they look", around(11, 5, 100, 0.1), around(12, 30, 1, 0.1), errors5, "inconclusive", "too-few-samples"],
    ["too few samples that look equal: never a pass", around(13, 30, 1, 0.1), around(14, 9, 1, 0.1), errors5, "inconclusive", "too-few-samples"],
    ["missing readings do not count as samples", [...around(15, 9, 1, 0.1), null, null, NaN], around(16, 30, 1, 0.1), errors5, "inconclusive", "too-few-samples"],
    ["no old samples: no baseline", around(17, 30, 1, 0.1), [], errors5, "inconclusive", "no-baseline"],
    ["old all zeros, new erring in a third of its scrapes", [...Array<number>(20).fill(0), ...around(18, 10, 3, 0.5)], Array<number>(30).fill(0), errors5, "fail", "worse"],
    ["new all zeros, old erring: better", Array<number>(30).fill(0), around(19, 30, 2, 0.5), errors5, "pass", "within-tolerance"],
    ["both all zeros", Array<number>(30).fill(0), Array<number>(30).fill(0), errors5, "pass", "within-tolerance"],
    ["old all zeros, one stray error in new: not significant", [...Array<number>(29).fill(0), 0.1], Array<number>(30).fill(0), errors5, "inconclusive", "not-significant"],
    ["old all zeros, one stray error within the slack", [...Array<number>(29).fill(0), 0.1], Array<number>(30).fill(0), { ...errors5, slack: 0.01 }, "pass", "within-tolerance"],
    ["higher is better: throughput 20% lower", around(20, 30, 800, 0.05), around(21, 30, 1000, 0.05), rps, "fail", "worse"],
    ["higher is better: throughput 20% higher", around(22, 30, 1200, 0.05), around(23, 30, 1000, 0.05), rps, "pass", "within-tolerance"],
  ];
  for (const [name, xs, ys, o, verdict, reason] of cases) {
    const v = compareSamples(xs, ys, o);
    assert.deepEqual({ verdict: v.verdict, reason: v.reason }, { verdict, reason }, `${name}: ${v.summary}`);
  }
});

void test("compareSamples: the figures behind a fail", () => {
  const v = compareSamples(around(1, 30, 2, 0.2), around(2, 30, 1, 0.2), errors5);
  assert.equal(v.new.n, 30);
  assert.equal(v.old.n, 30);
  assert.ok(v.new.median !== null && v.old.median !== null && v.new.median > 1.5 * v.old.median);
  assert.ok(v.u !== null && v.u > 800, `U of new near 900 when new is all larger (got ${v.u})`);
  assert.ok(v.p !== null && v.p < 1e-6, `p ${v.p}`);
  assert.ok(v.effect !== null && Math.abs(v.effect - 1) < 0.2, `effect about +100% (got ${v.effect})`);
  assert.equal(v.tolerance, 0.05);
  assert.equal(v.alpha, 0.05);
  assert.match(v.summary, /^errors: new [\d.]+% worse than old \(p=.*, n=30\/30, tolerance 5%\)$/);
});

void test("compareSamples: minSamples and alpha are the check's", () => {
  const xs = around(30, 6, 2, 0.1);
  const ys = around(31, 6, 1, 0.1);
  assert.equal(compareSamples(xs, ys, errors5).reason, "too-few-samples");
  assert.equal(compareSamples(xs, ys, { ...errors5, minSamples: 6 }).verdict, "fail");
  assert.equal(compareSamples(xs, ys, { ...errors5, minSamples: 6, alpha: 1e-9 }).reason, "not-significant");
});

void test("compareSamples: seeded random inputs never pass with too few samples, and p stays a probability", () => {
  const rnd = mulberry32(1414);
  for (let i = 0; i < 500; i++) {
    const n = Math.floor(rnd() * 25);
    const m = Math.floor(rnd() * 25);
    const pick = (): number | null => (rnd() < 0.1 ? null : rnd() < 0.3 ? 0 : Math.round(rnd() * 50) / 10);
    const xs = Array.from({ length: n }, pick);
    const ys = Array.from({ length: m }, pick);
    const o: CompareOptions = { better: rnd() < 0.5 ? "lower" : "higher", tolerance: rnd() * 0.2, minSamples: 2 + Math.floor(rnd() * 15) };
    const v = compareSamples(xs, ys, o);
    if (v.new.n < (o.minSamples ?? 10) || v.old.n < (o.minSamples ?? 10)) assert.equal(v.verdict, "inconclusive", JSON.stringify({ xs, ys, o }));
    if (v.p !== null) assert.ok(v.p >= 0 && v.p <= 1, `p ${v.p}`);
    if (v.verdict === "fail") assert.ok(v.p !== null && v.p < 0.05 && v.effect !== null && v.effect > 0);
  }
});
