// The metric judge of a rollout's comparison check (issue 14; wired in once metric reading lands):
// samples of one metric from new tasks against old tasks of the same failure domain, compared by a
// one-sided Mann-Whitney U test after allowing the tolerance (as Spinnaker's Kayenta judges canaries).
// Pure and allocation-light: the bench measures its CPU cost per comparison. Too few samples is
// "inconclusive", never "pass".

import type { CheckResult } from "../../model/index.ts";

/** Which way a metric gets worse: error rates and latency go up, throughput goes down. */
export type Worse = "higher" | "lower";

/** One comparison to judge. */
export interface JudgeInput {
  /** The check's name in the rollout record ("errors", "p99 latency"). */
  name: string;
  /** Samples from old tasks (the baseline) and from new tasks. */
  old: readonly number[];
  new: readonly number[];
  worse: Worse;
  /** How much worse new may be and still pass, as a share: 0.05 is "at most 5% worse". */
  tolerance: number;
  /** Fewer samples than this on either side: inconclusive. @default 10 */
  minSamples?: number;
  /** The significance level. @default 0.05 */
  alpha?: number;
}

/** U of sample `a` against `b` (pairs where a's value is the larger, ties counting one half), and the
 * one-sided p-value that `a` is no larger than `b` (normal approximation with tie and continuity
 * corrections: fine from about 8 samples a side, which minSamples guarantees). */
export function mannWhitneyU(a: readonly number[], b: readonly number[]): { u: number; z: number; p: number } {
  const n1 = a.length;
  const n2 = b.length;
  const all = [...a.map((v) => ({ v, a: true })), ...b.map((v) => ({ v, a: false }))].sort((x, y) => x.v - y.v);
  // Mid-ranks over ties; the tie term corrects the variance.
  let rankSumA = 0;
  let tieTerm = 0;
  for (let i = 0; i < all.length; ) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]?.v === all[i]?.v) j++;
    const rank = (i + j + 2) / 2;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    for (let k = i; k <= j; k++) if (all[k]?.a) rankSumA += rank;
    i = j + 1;
  }
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = n < 2 ? 0 : ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  if (variance <= 0) return { u, z: 0, p: 0.5 };
  const z = (u - mean - 0.5) / Math.sqrt(variance);
  return { u, z, p: 1 - normalCdf(z) };
}

/** The standard normal CDF (Abramowitz and Stegun 7.1.26: error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** The verdict of one metric comparison, with its figures: "fail" when new is significantly worse than
 * old even after allowing the tolerance, "pass" when it is not, "inconclusive" with too few samples. */
export function judgeMetric(j: JudgeInput): CheckResult {
  const minSamples = j.minSamples ?? 10;
  const alpha = j.alpha ?? 0.05;
  const figures: Record<string, number> = { oldSamples: j.old.length, newSamples: j.new.length, oldMedian: median(j.old), newMedian: median(j.new), tolerance: j.tolerance };
  if (j.old.length < minSamples || j.new.length < minSamples) {
    return { name: j.name, verdict: "inconclusive", figures, detail: `too few samples (old ${j.old.length}, new ${j.new.length}; at least ${minSamples} each)` };
  }
  // Allow the tolerance on the old side, then ask whether new is still worse: for "higher is worse",
  // is new above old * (1 + tolerance)? For "lower", flip signs so "worse" is always "larger".
  const allowed = j.worse === "higher" ? j.old.map((v) => v * (1 + j.tolerance)) : j.old.map((v) => -v * (1 - j.tolerance));
  const fresh = j.worse === "higher" ? j.new : j.new.map((v) => -v);
  const { u, z, p } = mannWhitneyU(fresh, allowed);
  Object.assign(figures, { u, z: Math.round(z * 1000) / 1000, p: Math.round(p * 10000) / 10000, alpha });
  const change = figures["oldMedian"] === 0 ? 0 : ((figures["newMedian"] ?? 0) - (figures["oldMedian"] ?? 0)) / Math.abs(figures["oldMedian"] ?? 1);
  const pct = `${change >= 0 ? "+" : ""}${Math.round(change * 1000) / 10}%`;
  const limit = `${Math.round(j.tolerance * 1000) / 10}% ${j.worse === "higher" ? "higher" : "lower"}`;
  return p < alpha
    ? { name: j.name, verdict: "fail", figures, detail: `new is worse than old beyond ${limit} (median ${pct}, p=${figures["p"]} < ${alpha})` }
    : { name: j.name, verdict: "pass", figures, detail: `new is within ${limit} of old (median ${pct}, p=${figures["p"]})` };
}
