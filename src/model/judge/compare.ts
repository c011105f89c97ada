// The metric comparison: new tasks' samples against old tasks' samples, Kayenta's way (a
// Mann-Whitney U test plus a tolerance on the effect size), with the decision rule below.
//
// Decision rule (`better: "lower"`, e.g. errors per second; mirrored for "higher"):
//   1. Missing and non-finite samples are dropped. Fewer than `minSamples` on either side:
//      inconclusive (too-few-samples), whatever the numbers say. Never a pass.
//   2. effect = (mean(new) - mean(old)) / |mean(old)|, the relative change in the worse direction.
//      Worse beyond tolerance means mean(new) - mean(old) > tolerance · |mean(old)| + slack.
//   3. Within tolerance (or better): pass, even when the test finds the difference significant
//      (a real but small regression is what the tolerance allows: Kayenta's "pass").
//   4. Beyond tolerance and one-sided p (new worse than old) < alpha: fail.
//   5. Beyond tolerance but p >= alpha: inconclusive (not-significant): noisy data, more samples
//      may tell; the controller waits for them within the phase's deadline.
// Means, not medians, measure the effect: a version that errs in 30% of its scrapes has a median
// error rate of 0 like its predecessor, and would pass on medians; the test guards against a few
// outliers moving the mean, since a fail needs both. Medians are reported beside them. When old's
// mean is 0, any increase is an infinite relative change: `slack` (in the metric's unit) is the
// absolute allowance for that case ("at most 0.1 errors per second more").
// Samples of several tasks are pooled per side, as Kayenta pools a canary's and a baseline's.
import { mannWhitney } from "./mann-whitney.ts";
import { figuresOf, fmt } from "./verdict.ts";
import type { ComparisonVerdict, SideFigures, VerdictReason } from "./verdict.ts";

/** Which way is better for a metric. */
export type Better = "lower" | "higher";

/** The limits of one comparison (the compiled check's fields). */
export interface CompareOptions {
  better: Better;
  /** Allowed relative worsening, 0.05 = "at most 5% worse". */
  tolerance: number;
  /** Allowed absolute worsening on top of the tolerance, in the metric's unit. @default 0 */
  slack?: number;
  /** Significance level of the one-sided test. @default 0.05 */
  alpha?: number;
  /** Fewest samples on each side for any verdict but inconclusive. @default 10 */
  minSamples?: number;
  /** What the metric is called in the summary. @default "metric" */
  label?: string;
}

/** Default significance level. */
export const DEFAULT_ALPHA = 0.05;
/** Default fewest samples per side. */
export const DEFAULT_MIN_SAMPLES = 10;

function clean(values: readonly (number | null)[]): number[] {
  const out: number[] = [];
  for (const v of values) if (v !== null && Number.isFinite(v)) out.push(v);
  return out;
}

function relativeEffect(worseBy: number, oldMean: number): number {
  if (oldMean !== 0) return worseBy / Math.abs(oldMean);
  return worseBy === 0 ? 0 : worseBy > 0 ? Infinity : -Infinity;
}

/** The verdict of new samples against old ones (each a pool of the tasks' samples; nulls are missing readings). */
export function compareSamples(newValues: readonly (number | null)[], oldValues: readonly (number | null)[], o: CompareOptions): ComparisonVerdict {
  const alpha = o.alpha ?? DEFAULT_ALPHA;
  const minSamples = o.minSamples ?? DEFAULT_MIN_SAMPLES;
  const slack = o.slack ?? 0;
  const label = o.label ?? "metric";
  const xs = clean(newValues);
  const ys = clean(oldValues);
  const fNew = figuresOf(xs);
  const fOld = figuresOf(ys);
  const base = { new: fNew, old: fOld, tolerance: o.tolerance, alpha };
  const sizes = `n=${fNew.n}/${fOld.n}`;
  if (fOld.n === 0) return { ...base, verdict: "inconclusive", reason: "no-baseline", u: null, p: null, effect: null, summary: `${label}: no old samples to compare with (${sizes})` };
  const worseBy = o.better === "lower" ? (fNew.mean ?? 0) - (fOld.mean ?? 0) : (fOld.mean ?? 0) - (fNew.mean ?? 0);
  const effect = fNew.n === 0 ? null : relativeEffect(worseBy, fOld.mean ?? 0);
  if (fNew.n < minSamples || fOld.n < minSamples) {
    return { ...base, verdict: "inconclusive", reason: "too-few-samples", u: null, p: null, effect, summary: `${label}: too few samples (${sizes}, at least ${minSamples} each)` };
  }
  const test = mannWhitney(xs, ys, { alternative: o.better === "lower" ? "greater" : "less" });
  const beyond = worseBy > o.tolerance * Math.abs(fOld.mean ?? 0) + slack;
  const reason: VerdictReason = !beyond ? "within-tolerance" : (test.p ?? 1) < alpha ? "worse" : "not-significant";
  const verdict = reason === "within-tolerance" ? "pass" : reason === "worse" ? "fail" : "inconclusive";
  return { ...base, verdict, reason, u: test.u, p: test.p, effect, summary: summaryOf(label, reason, effect, test.p, sizes, o.tolerance) };
}

function summaryOf(label: string, reason: VerdictReason, effect: number | null, p: number | null, sizes: string, tolerance: number): string {
  const pct = effect === null ? "none" : Number.isFinite(effect) ? `${fmt(Math.abs(effect) * 100)}% ${effect >= 0 ? "worse" : "better"}` : effect > 0 ? "worse (old was 0)" : "better";
  const stats = `p=${fmt(p)}, ${sizes}, tolerance ${fmt(tolerance * 100)}%`;
  if (reason === "worse") return `${label}: new ${pct} than old (${stats})`;
  if (reason === "not-significant") return `${label}: new ${pct} than old but not significant yet (${stats})`;
  return `${label}: new ${pct} than old, within tolerance (${stats})`;
}

/** The figures of one side, for callers that show a pool without comparing it. */
export function sideFigures(values: readonly (number | null)[]): SideFigures {
  return figuresOf(clean(values));
}
