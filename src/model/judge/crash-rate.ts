// The crash and restart rate of new tasks against old ones: counts over exposure (task-hours run
// during the bake). Crashes are rare events, so the test is exact rather than asymptotic: given the
// total k of both sides' crashes, equal rates would share them in proportion to exposure, so the new
// side's count is Binomial(k, π0) under "new at most `tolerance` worse", with
// π0 = tNew·(1+tolerance) / (tNew·(1+tolerance) + tOld). The one-sided p is P(X >= new crashes).
//
// Decision rule (the small-sample rule):
//   - no old exposure: inconclusive (no-baseline);
//   - p < alpha: fail (worse), however little the exposure: 3 crashes of 1 new task while 99 old
//     tasks had none is evidence already;
//   - less new exposure than `minExposureMs`: inconclusive (too-few-samples): a crash-free minute
//     proves nothing;
//   - new rate at most old rate·(1+tolerance) + slack: pass (within-tolerance); else inconclusive
//     (not-significant), waiting for more exposure.
import { binomialSf } from "./distributions.ts";
import { fmt } from "./verdict.ts";
import type { Verdict, VerdictReason } from "./verdict.ts";

/** Crashes (and restarts) of one side and the time its tasks ran. */
export interface CrashExposure {
  crashes: number;
  /** Task-milliseconds run: the sum over the side's tasks of their time up during the window. */
  exposureMs: number;
}

/** Options of compareCrashRates. */
export interface CrashRateOptions {
  /** Allowed relative increase of the rate. @default 0 */
  tolerance?: number;
  /** Allowed absolute increase, crashes per task-hour. @default 0 */
  slackPerHour?: number;
  /** @default 0.05 */
  alpha?: number;
  /** Fewest task-milliseconds of new exposure for a pass. @default 600000 (10 task-minutes) */
  minExposureMs?: number;
}

/** One side's figures: counts, exposure and rate per task-hour. */
export interface CrashSideFigures {
  crashes: number;
  taskHours: number;
  perHour: number | null;
}

/** The crash-rate verdict with its figures. */
export interface CrashRateVerdict {
  verdict: Verdict;
  reason: VerdictReason;
  new: CrashSideFigures;
  old: CrashSideFigures;
  /** One-sided p that new crashes more than old (beyond tolerance); null without a test. */
  p: number | null;
  tolerance: number;
  alpha: number;
  summary: string;
}

const HOUR = 3_600_000;

function side(e: CrashExposure): CrashSideFigures {
  const taskHours = e.exposureMs / HOUR;
  return { crashes: e.crashes, taskHours, perHour: taskHours > 0 ? e.crashes / taskHours : null };
}

/** The verdict of new tasks' crash rate against old tasks'. */
export function compareCrashRates(newSide: CrashExposure, oldSide: CrashExposure, o: CrashRateOptions = {}): CrashRateVerdict {
  const tolerance = o.tolerance ?? 0;
  const alpha = o.alpha ?? 0.05;
  const minExposureMs = o.minExposureMs ?? 600_000;
  const n = side(newSide);
  const old = side(oldSide);
  const base = { new: n, old, tolerance, alpha };
  const rates = `new ${n.crashes} in ${fmt(n.taskHours)} task-hours, old ${old.crashes} in ${fmt(old.taskHours)}`;
  if (oldSide.exposureMs <= 0) return { ...base, verdict: "inconclusive", reason: "no-baseline", p: null, summary: `crash rate: no old tasks to compare with (${rates})` };
  let p: number | null = null;
  if (newSide.exposureMs > 0) {
    const weighted = newSide.exposureMs * (1 + tolerance);
    p = binomialSf(newSide.crashes, newSide.crashes + oldSide.crashes, weighted / (weighted + oldSide.exposureMs));
  }
  if (p !== null && newSide.crashes > 0 && p < alpha) return { ...base, verdict: "fail", reason: "worse", p, summary: `crash rate: new crashes more than old (${rates}, p=${fmt(p)})` };
  if (newSide.exposureMs < minExposureMs) return { ...base, verdict: "inconclusive", reason: "too-few-samples", p, summary: `crash rate: too little new exposure (${rates}; at least ${fmt(minExposureMs / 60_000)} task-minutes)` };
  const within = (n.perHour ?? 0) <= (old.perHour ?? 0) * (1 + tolerance) + (o.slackPerHour ?? 0);
  if (within) return { ...base, verdict: "pass", reason: "within-tolerance", p, summary: `crash rate: new no worse than old (${rates})` };
  return { ...base, verdict: "inconclusive", reason: "not-significant", p, summary: `crash rate: new higher than old but not significant yet (${rates}, p=${fmt(p)})` };
}
