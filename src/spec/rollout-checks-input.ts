// The documented TypeScript type of `rollout.checks` (what users' editors show), proved equal to the
// zod schema's input type (rollout-checks.ts), keys included, as job-input.ts does for the job.
import type { z } from "zod";
import type { MetricSignalName } from "../model/index.ts";
import type { customCheckInputSchema, metricComparisonInputSchema, Percent, rolloutChecksInputSchema } from "./rollout-checks.ts";
import type { Duration } from "./units.ts";

/** One metric comparison: new tasks against old ones of the phase's failure domain, by a
 * Mann-Whitney U test plus a tolerance. Set exactly one of `signal`, `counter`, `gauge`, `histogram`. */
export interface MetricComparisonInput {
  /** One of the job's `metrics.signals`: "errors" (per second), "latency" (seconds), "clients". */
  signal?: MetricSignalName | undefined;
  /** A counter on the task's metrics endpoint, compared as its rate per second. */
  counter?: string | undefined;
  /** A gauge on the task's metrics endpoint, compared as it is. */
  gauge?: string | undefined;
  /** A histogram on the task's metrics endpoint, compared at `quantile`. */
  histogram?: string | undefined;
  /** The histogram's quantile. @default 0.99 */
  quantile?: number | undefined;
  /** Which way is better. @default "higher" for the clients signal, else "lower" */
  better?: "lower" | "higher" | undefined;
  /** How much worse new may be than old: "5%" = at most 5% worse. @default "5%" */
  tolerance?: Percent | undefined;
  /** Absolute allowance on top of the tolerance, in the metric's unit (for a baseline of 0). @default 0 */
  slack?: number | undefined;
  /** Significance level of the test. @default 0.05 */
  alpha?: number | undefined;
  /** Fewest samples on each side; fewer is inconclusive, never a pass. @default 10 */
  minSamples?: number | undefined;
}

/** A custom check: an HTTP URL whose status decides, or a command run in one of the phase's new tasks whose exit code decides. */
export type CustomCheckInput =
  | {
      /** An http:// or https:// URL, fetched once per bake (redirects are not followed: their status decides). */
      http: string;
      /** The passing status, or an inclusive range. @default [200, 299] */
      status?: number | [number, number] | undefined;
      /** @default "10s" */
      timeout?: Duration | undefined;
    }
  | {
      /** An argv, or one string run through /bin/sh -c; exit 0 passes. */
      run: string | string[];
      /** @default "30s" */
      timeout?: Duration | undefined;
    };

/** A rollout's safety checks, run during each phase's bake. */
export interface RolloutChecksInput {
  /** Every new task healthy and none restarted. @default true */
  health?: boolean | undefined;
  /** Crash and restart rate of new tasks against old ones; false turns it off. @default {} (tolerance "0%", alpha 0.05, minExposure "10m" of task time) */
  crashRate?: false | { tolerance?: Percent | undefined; alpha?: number | undefined; minExposure?: Duration | undefined } | undefined;
  /** Metric comparisons (at most 16); `[]` for none. @default errors at most 5% worse (+0.01/s) and latency at most 10% worse, for the signals the job's `metrics.signals` maps */
  metrics?: MetricComparisonInput[] | undefined;
  /** CPU seconds per request (cgroup CPU over the `requests` counter) of new against old. @default null */
  efficiency?: { requests: string; tolerance?: Percent | undefined; alpha?: number | undefined; minSamples?: number | undefined } | null | undefined;
  /** Custom checks (at most 8). @default [] */
  custom?: CustomCheckInput[] | undefined;
}

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type SameKeys<A, B> = Same<keyof A, keyof B>;
type Schema = z.input<typeof rolloutChecksInputSchema>;
/** Compile-time proof that the documented types and the schema's input types are one. */
export const rolloutChecksInputMatchesSchema: [
  Same<RolloutChecksInput, Schema>,
  SameKeys<RolloutChecksInput, Schema>,
  Same<MetricComparisonInput, z.input<typeof metricComparisonInputSchema>>,
  SameKeys<MetricComparisonInput, z.input<typeof metricComparisonInputSchema>>,
  Same<CustomCheckInput, z.input<typeof customCheckInputSchema>>,
] = [true, true, true, true, true];
