import { test } from "node:test";
import assert from "node:assert/strict";
import { judgeMetric, mannWhitneyU, normalCdf } from "./judge.ts";
import type { JudgeInput } from "./judge.ts";
import { mulberry32 } from "../../model/index.ts";

/** n samples around `mean` with relative noise `spread` (seeded, so tables are stable). */
function samples(n: number, mean: number, spread: number, seed: number): number[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => mean * (1 + (rnd() * 2 - 1) * spread));
}

void test("mannWhitneyU: U by hand, ties, the normal CDF", () => {
  assert.equal(mannWhitneyU([4, 5, 6], [1, 2, 3]).u, 9, "every pair larger");
  assert.equal(mannWhitneyU([1, 2, 3], [4, 5, 6]).u, 0);
  assert.equal(mannWhitneyU([1, 2], [1, 2]).u, 2, "ties count one half");
  assert.deepEqual(mannWhitneyU([5, 5, 5], [5, 5, 5]), { u: 4.5, z: 0, p: 0.5 }, "all tied: no evidence either way");
  assert.ok(Math.abs(normalCdf(1.96) - 0.975) < 1e-4);
  assert.ok(Math.abs(normalCdf(-1.645) - 0.05) < 1e-3);
  assert.ok(Math.abs(normalCdf(0) - 0.5) < 1e-8);
});

void test("judgeMetric: pass, fail and inconclusive, with their figures", () => {
  const base = { name: "errors", worse: "higher" as const, tolerance: 0.05 };
  const cases: { name: string; j: JudgeInput; want: "pass" | "fail" | "inconclusive" }[] = [
    { name: "the same distribution passes", j: { ...base, old: samples(40, 10, 0.2, 1), new: samples(40, 10, 0.2, 2) }, want: "pass" },
    { name: "twice the error rate fails", j: { ...base, old: samples(30, 10, 0.2, 3), new: samples(30, 20, 0.2, 4) }, want: "fail" },
    { name: "3% worse within a 5% tolerance passes", j: { ...base, old: samples(60, 10, 0.01, 5), new: samples(60, 10.3, 0.01, 6) }, want: "pass" },
    { name: "12% worse beyond a 5% tolerance fails (Instagram's -12%)", j: { ...base, old: samples(60, 10, 0.01, 7), new: samples(60, 11.2, 0.01, 8) }, want: "fail" },
    { name: "better is never a failure", j: { ...base, old: samples(30, 10, 0.2, 9), new: samples(30, 5, 0.2, 10) }, want: "pass" },
    { name: "too few new samples: inconclusive, never a pass", j: { ...base, old: samples(40, 10, 0.2, 11), new: samples(5, 10, 0.2, 12) }, want: "inconclusive" },
    { name: "too few old samples: inconclusive", j: { ...base, old: [], new: samples(40, 10, 0.2, 13) }, want: "inconclusive" },
    { name: "throughput (lower is worse): 20% lower fails", j: { ...base, name: "rps", worse: "lower", old: samples(30, 100, 0.05, 14), new: samples(30, 80, 0.05, 15) }, want: "fail" },
    { name: "throughput: 20% higher passes", j: { ...base, name: "rps", worse: "lower", old: samples(30, 100, 0.05, 16), new: samples(30, 120, 0.05, 17) }, want: "pass" },
    { name: "noise large against a small shift: no significance, passes", j: { ...base, old: samples(12, 10, 0.5, 18), new: samples(12, 11, 0.5, 19) }, want: "pass" },
  ];
  for (const c of cases) {
    const r = judgeMetric(c.j);
    assert.equal(r.verdict, c.want, `${c.name}: ${r.detail} ${JSON.stringify(r.figures)}`);
    assert.equal(r.figures["oldSamples"], c.j.old.length);
    if (r.verdict !== "inconclusive") assert.ok(typeof r.figures["p"] === "number" && typeof r.figures["u"] === "number", c.name);
  }
  assert.match(judgeMetric(cases[1]!.j).detail, /^new is worse than old beyond 5% higher \(median \+\d+(\.\d)?%, p=0(\.\d+)? < 0\.05\)$/);
});
