// The compiled (stored) form of a rollout's safety checks: what `rollout.checks` in a spec compiles
// to (src/spec/rollout-checks.ts), what the controller reads to run the judge during each bake.
// Every default is filled in; times in ms, tolerances as fractions. The schema is structural, like
// every stored schema (src/model/README.md): no defaults, no transforms.
import { z } from "zod";
import { MetricSignalNames } from "../job.ts";
import type { MetricSignalName, MetricSignals } from "../job.ts";
import type { Assert, TypesMatch } from "../resources.ts";
import type { MetricRef } from "./samples.ts";
import type { Better } from "./compare.ts";

/** One metric comparison: new tasks' `metric` against old tasks' of the same failure domain. */
export interface MetricComparisonCheck {
  metric: MetricRef;
  better: Better;
  /** Allowed relative worsening (0.05: "at most 5% worse"). */
  tolerance: number;
  /** Allowed absolute worsening, in the metric's unit. */
  slack: number;
  alpha: number;
  minSamples: number;
}

/** The efficiency check: CPU seconds per request of new tasks against old ones. */
export interface EfficiencyCheck {
  /** The task's counter of requests served (a Prometheus name on its metrics endpoint). */
  requests: string;
  tolerance: number;
  alpha: number;
  minSamples: number;
}

/** The crash and restart rate check (crash-rate.ts). */
export interface CrashRateCheck {
  tolerance: number;
  alpha: number;
  minExposureMs: number;
}

/** A custom check: an HTTP URL (a status in `statuses` passes) or a command run in one of the phase's new tasks (exit 0 passes). */
export type CustomCheck =
  | { kind: "http"; url: string; statuses: [number, number]; timeoutMs: number }
  | { kind: "command"; run: string[]; timeoutMs: number };

/** Every safety check of a rollout, compiled. */
export interface RolloutChecks {
  /** Every new task healthy and none restarted during the bake. */
  health: boolean;
  crashRate: CrashRateCheck | null;
  metrics: MetricComparisonCheck[];
  efficiency: EfficiencyCheck | null;
  custom: CustomCheck[];
}

const fraction = z.number().min(0);
const metricRefSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("signal"), signal: z.enum(MetricSignalNames) }),
  z.object({ kind: z.literal("counter"), name: z.string().min(1) }),
  z.object({ kind: z.literal("gauge"), name: z.string().min(1) }),
  z.object({ kind: z.literal("histogram"), name: z.string().min(1), quantile: z.number().gt(0).lt(1) }),
]);

/** The stored schema of RolloutChecks. */
export const rolloutChecksSchema = z.object({
  health: z.boolean(),
  crashRate: z.object({ tolerance: fraction, alpha: z.number().gt(0).lt(1), minExposureMs: z.number().int().min(0) }).nullable(),
  metrics: z.array(
    z.object({
      metric: metricRefSchema,
      better: z.enum(["lower", "higher"]),
      tolerance: fraction,
      slack: z.number().min(0),
      alpha: z.number().gt(0).lt(1),
      minSamples: z.number().int().min(2),
    }),
  ),
  efficiency: z.object({ requests: z.string().min(1), tolerance: fraction, alpha: z.number().gt(0).lt(1), minSamples: z.number().int().min(2) }).nullable(),
  custom: z.array(
    z.discriminatedUnion("kind", [
      z.object({ kind: z.literal("http"), url: z.string().min(1), statuses: z.tuple([z.number().int(), z.number().int()]), timeoutMs: z.number().int().min(1) }),
      z.object({ kind: z.literal("command"), run: z.array(z.string()).min(1), timeoutMs: z.number().int().min(1) }),
    ]),
  ),
});

/** Compile-time proof that the schemas above and the types are the same shapes. */
export type RolloutChecksSchemaChecks = [
  Assert<TypesMatch<z.infer<typeof rolloutChecksSchema>, RolloutChecks>>,
  Assert<TypesMatch<z.infer<typeof metricRefSchema>, MetricRef>>,
];

/** The metric comparisons a job gets when its spec names none: its errors at most 5% worse (plus
 * 0.01/s, so a stray error beside an error-free baseline does not hold a rollout) and its latency at
 * most 10% worse, for whichever of the two signals its `metrics.signals` maps. */
export function defaultMetricComparisons(signals: Pick<MetricSignals, "errors" | "latency"> | null): MetricComparisonCheck[] {
  const out: MetricComparisonCheck[] = [];
  if (signals?.errors) out.push({ metric: { kind: "signal", signal: "errors" }, better: "lower", tolerance: 0.05, slack: 0.01, alpha: 0.05, minSamples: 10 });
  if (signals?.latency) out.push({ metric: { kind: "signal", signal: "latency" }, better: "lower", tolerance: 0.1, slack: 0, alpha: 0.05, minSamples: 10 });
  return out;
}

/** The checks a rollout runs when its spec names none: health, the crash rate, and the default
 * metric comparisons of the job's mapped signals (`signals`, null when it declares no metrics). */
export function defaultRolloutChecks(signals: Pick<MetricSignals, "errors" | "latency"> | null = null): RolloutChecks {
  return { health: true, crashRate: { tolerance: 0, alpha: 0.05, minExposureMs: 600_000 }, metrics: defaultMetricComparisons(signals), efficiency: null, custom: [] };
}

/** The default direction of a signal: fewer errors and less latency are better, more clients are. */
export function defaultBetter(signal: MetricSignalName | null): Better {
  return signal === "clients" ? "higher" : "lower";
}
