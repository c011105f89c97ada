// `rollout.checks` as users write it: the zod schema, its compilation to the stored form
// (model/judge/checks-spec.ts) and the checks between fields, each problem with its field path.
// The controller's `rollout` schema takes it as one field, either way:
//   parseRolloutChecks(raw.rollout?.checks, job's metrics, ["jobs", i, "rollout", "checks"], file)
//   checks: rolloutChecksInputSchema.optional()  ->  compileRolloutChecks(parsed, metrics)  +  rolloutChecksProblems(...)
import { z } from "zod";
import { durationMs } from "./duration-schema.ts";
import { MetricSignalNames } from "../model/index.ts";
import type { MetricsEndpoint, Problem } from "../model/index.ts";
import { defaultBetter, defaultMetricComparisons } from "../model/judge/index.ts";
import type { CustomCheck, MetricComparisonCheck, MetricRef, RolloutChecks } from "../model/judge/index.ts";
import { issuesToProblems, problemAt } from "./problems.ts";
import type { Segment } from "./problems.ts";

// input.ts will import this file (its `rollout` field), so this file must not import input.ts: the
// few field schemas it needs are built here from the same rules (units.ts, the metric name pattern).
const durationMessage = 'expected a duration such as "200ms", "2s", "1m" or "1h30m"';
const duration = (minMs: number, maxMs: number) => durationMs(minMs, maxMs, durationMessage, `must be between ${minMs}ms and ${maxMs / 60_000}m`);
/** Prometheus metric names (the same rule as `metrics.signals` in input.ts). */
const metricNamePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const command = z
  .union([z.array(z.string()).min(1, { error: "run must name a program" }), z.string().min(1, { error: "run must not be empty" })], { error: "expected run as an array of strings (argv), or one string for /bin/sh -c" })
  .refine((v) => typeof v === "string" || v[0] !== "", { error: "the program name must not be empty" })
  .transform((v) => (typeof v === "string" ? ["/bin/sh", "-c", v] : v));

/** A percentage as users write it: "5%", "12.5%". */
export type Percent = `${number}%`;
const percentMessage = 'expected a percentage such as "5%" or "12.5%"';
const percent = (z.string({ error: percentMessage }).regex(/^\d+(?:\.\d+)?%$/, { error: percentMessage }) as unknown as z.ZodType<Percent, Percent>)
  .transform((t, ctx) => {
    const f = Number(t.slice(0, -1)) / 100;
    if (!(f <= 10)) {
      ctx.issues.push({ code: "custom", input: t, message: "must be at most 1000%" });
      return z.NEVER;
    }
    return f;
  });
const alpha = z.number({ error: "expected a significance level such as 0.05" }).gt(0, { error: "must be above 0" }).max(0.5, { error: "must be at most 0.5" });
const minSamples = z.number().int({ error: "expected a whole number" }).min(2, { error: "must be at least 2" }).max(100_000);
const promName = z.string({ error: "expected a Prometheus metric name" }).regex(metricNamePattern, { error: "expected a Prometheus metric name: letters, digits, _ and :, not starting with a digit" });

/** One metric comparison as users write it: exactly one of signal, counter, gauge, histogram. */
export const metricComparisonInputSchema = z
  .strictObject({
    signal: z.enum(MetricSignalNames, { error: 'expected a signal: "clients", "errors" or "latency"' }).optional(),
    counter: promName.optional(),
    gauge: promName.optional(),
    histogram: promName.optional(),
    quantile: z.number().gt(0, { error: "expected a quantile between 0 and 1, such as 0.99" }).lt(1, { error: "expected a quantile between 0 and 1, such as 0.99" }).optional(),
    better: z.enum(["lower", "higher"], { error: 'expected "lower" or "higher"' }).optional(),
    tolerance: percent.prefault("5%"),
    slack: z.number().min(0, { error: "expected 0 or more" }).default(0),
    alpha: alpha.default(0.05),
    minSamples: minSamples.default(10),
  })
  .superRefine((m, ctx) => {
    const set = (["signal", "counter", "gauge", "histogram"] as const).filter((k) => m[k] !== undefined);
    if (set.length !== 1) ctx.addIssue({ code: "custom", path: set.length === 0 ? ["signal"] : [set[1] ?? "signal"], message: "set exactly one of `signal`, `counter`, `gauge` and `histogram`" });
    if (m.quantile !== undefined && m.histogram === undefined) ctx.addIssue({ code: "custom", path: ["quantile"], message: "`quantile` goes with `histogram`" });
  });

/** A custom check as users write it: `{ http: URL }` or `{ run: argv }`. */
export const customCheckInputSchema = z.union(
  [
    z.strictObject({
      http: z.string().refine((u) => /^https?:\/\//.test(u) && URL.canParse(u), { error: "expected an http:// or https:// URL" }),
      status: z
        .union([z.number().int().min(100).max(599), z.tuple([z.number().int().min(100).max(599), z.number().int().min(100).max(599)])], { error: "expected a status (200) or a range ([200, 299])" })
        .optional(),
      timeout: duration(1, 600_000).prefault("10s"),
    }),
    z.strictObject({ run: command, timeout: duration(1, 3_600_000).prefault("30s") }),
  ],
  { error: "expected a custom check: { http: URL } or { run: command }" },
);

/** `rollout.checks` as users write it. */
export const rolloutChecksInputSchema = z.strictObject({
  health: z.boolean().default(true),
  crashRate: z
    .union([z.literal(false), z.strictObject({ tolerance: percent.prefault("0%"), alpha: alpha.default(0.05), minExposure: duration(0, 86_400_000).prefault("10m") })], { error: "expected false or { tolerance, alpha, minExposure }" })
    .prefault({}),
  metrics: z.array(metricComparisonInputSchema).max(16, { error: "at most 16 metric comparisons" }).optional(),
  efficiency: z.strictObject({ requests: promName, tolerance: percent.prefault("5%"), alpha: alpha.default(0.05), minSamples: minSamples.default(10) }).nullable().default(null),
  custom: z.array(customCheckInputSchema).max(8, { error: "at most 8 custom checks" }).default([]),
});

type Parsed = z.output<typeof rolloutChecksInputSchema>;

function metricRefOf(m: z.output<typeof metricComparisonInputSchema>): MetricRef {
  if (m.counter !== undefined) return { kind: "counter", name: m.counter };
  if (m.gauge !== undefined) return { kind: "gauge", name: m.gauge };
  if (m.histogram !== undefined) return { kind: "histogram", name: m.histogram, quantile: m.quantile ?? 0.99 };
  return { kind: "signal", signal: m.signal ?? "errors" };
}

/** The stored form of parsed `rollout.checks` (every default filled in); `metrics` is the job's
 * endpoint, whose mapped errors and latency signals are compared by default when `metrics` is not written. */
export function compileRolloutChecks(p: Parsed, metrics: MetricsEndpoint | null): RolloutChecks {
  const comparisons = p.metrics === undefined ? defaultMetricComparisons(metrics?.signals ?? null) : p.metrics.map((m): MetricComparisonCheck => {
    const metric = metricRefOf(m);
    return { metric, better: m.better ?? defaultBetter(metric.kind === "signal" ? metric.signal : null), tolerance: m.tolerance, slack: m.slack, alpha: m.alpha, minSamples: m.minSamples };
  });
  const custom = p.custom.map((c): CustomCheck => {
    if ("http" in c) return { kind: "http", url: c.http, statuses: c.status === undefined ? [200, 299] : typeof c.status === "number" ? [c.status, c.status] : c.status, timeoutMs: c.timeout };
    return { kind: "command", run: c.run, timeoutMs: c.timeout };
  });
  return {
    health: p.health,
    crashRate: p.crashRate === false ? null : { tolerance: p.crashRate.tolerance, alpha: p.crashRate.alpha, minExposureMs: p.crashRate.minExposure },
    metrics: comparisons,
    efficiency: p.efficiency,
    custom,
  };
}

/** Checks between `rollout.checks` and the rest of the job, at `prefix` (e.g. ["rollout", "checks"]):
 * metric comparisons and efficiency need the job's `metrics` endpoint, a signal needs its mapping,
 * a status range its order. `raw` is what the user wrote there, for the values shown. */
export function rolloutChecksProblems(c: RolloutChecks, metrics: MetricsEndpoint | null, raw: unknown, prefix: readonly Segment[], file: string | null): Problem[] {
  const out: Problem[] = [];
  c.metrics.forEach((m, i) => {
    if (metrics === null) out.push(problemAt(file, prefix, raw, ["metrics", i], "a metric comparison needs the job's `metrics` endpoint"));
    else if (m.metric.kind === "signal" && metrics.signals[m.metric.signal] === null) {
      out.push(problemAt(file, prefix, raw, ["metrics", i, "signal"], `the signal "${m.metric.signal}" is not mapped in \`metrics.signals\``));
    }
  });
  if (c.efficiency !== null && metrics === null) out.push(problemAt(file, prefix, raw, ["efficiency"], "the efficiency check reads `requests` from the job's `metrics` endpoint: declare one"));
  c.custom.forEach((k, i) => {
    if (k.kind === "http" && k.statuses[0] > k.statuses[1]) out.push(problemAt(file, prefix, raw, ["custom", i, "status"], "the range's first status must not be above its second"));
  });
  return out;
}

/** `rollout.checks` as written (`raw`, undefined when absent) to its stored form, or every problem
 * with its field path under `prefix`; `metrics` is the job's compiled endpoint, for the checks between fields. */
export function parseRolloutChecks(raw: unknown, metrics: MetricsEndpoint | null, prefix: readonly Segment[], file: string | null): { checks: RolloutChecks; problems: [] } | { checks: null; problems: Problem[] } {
  const r = rolloutChecksInputSchema.safeParse(raw ?? {});
  if (!r.success) return { checks: null, problems: issuesToProblems(r.error.issues, raw, prefix, file) };
  const checks = compileRolloutChecks(r.data, metrics);
  const problems = rolloutChecksProblems(checks, metrics, raw, prefix, file);
  return problems.length > 0 ? { checks: null, problems } : { checks, problems: [] };
}
