// The verdict shape every rollout safety check returns, so status, history and the controller treat
// them alike: pass, fail or inconclusive, with a typed reason and the figures behind it.

/** What a check concluded. Inconclusive is never a pass: the controller waits or fails by policy. */
export const Verdicts = ["pass", "fail", "inconclusive"] as const;
/** One of Verdicts. */
export type Verdict = (typeof Verdicts)[number];

/** Why a check concluded what it did (typed, so no decision reads free text). */
export const VerdictReasons = [
  /** New is worse than old beyond the tolerance, and the test says it is no accident. */
  "worse",
  /** New is within the tolerance of old (or better). */
  "within-tolerance",
  /** New looks worse beyond the tolerance, but the difference is not significant: more samples may tell. */
  "not-significant",
  /** Fewer samples (or less exposure) than the check needs on one side. */
  "too-few-samples",
  /** No old task to compare with (none left in the phase's failure domain). */
  "no-baseline",
  /** A custom check answered (status or exit code) and that answer decided. */
  "answered",
  /** A custom check gave no answer in time. */
  "timeout",
  /** A custom check could not be run or reached. */
  "error",
] as const;
/** One of VerdictReasons. */
export type VerdictReason = (typeof VerdictReasons)[number];

/** The figures of one side of a comparison. */
export interface SideFigures {
  /** Samples used (after dropping missing and non-finite ones). */
  n: number;
  median: number | null;
  mean: number | null;
}

/** A comparison's verdict with its figures: what `tiffin rollout status` shows for the check. */
export interface ComparisonVerdict {
  verdict: Verdict;
  reason: VerdictReason;
  new: SideFigures;
  old: SideFigures;
  /** Mann-Whitney U of the new samples against the old; null without a test. */
  u: number | null;
  /** One-sided p-value that new is worse than old; null without a test. */
  p: number | null;
  /** How much worse new is than old, relative to old's mean (0.12 = 12% worse; negative: better;
   * ±Infinity when old's mean is 0 and new's is not); null without samples. */
  effect: number | null;
  /** The limits the decision used. */
  tolerance: number;
  alpha: number;
  /** A sentence for status and history: "errors per second 12% worse than old (p=0.001, n=30/30)". */
  summary: string;
}

/** Median of values sorted ascending; null when empty. */
export function medianOfSorted(sorted: readonly number[]): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const mid = Math.floor(n / 2);
  return n % 2 === 1 ? (sorted[mid] ?? null) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** n, median and mean of values. */
export function figuresOf(values: readonly number[]): SideFigures {
  if (values.length === 0) return { n: 0, median: null, mean: null };
  const sorted = [...values].sort((a, b) => a - b);
  let sum = 0;
  for (const v of values) sum += v;
  return { n: values.length, median: medianOfSorted(sorted), mean: sum / values.length };
}

/** A number for a summary: 3 significant digits. */
export function fmt(v: number | null): string {
  if (v === null) return "none";
  if (!Number.isFinite(v)) return v > 0 ? "inf" : "-inf";
  return Number(v.toPrecision(3)).toString();
}
