// From per-task series to the pools a comparison judges: each task's readings of the named metric
// (through metric-condition.ts, the one metric-reading module), new tasks against old tasks of the
// same failure domain, within the bake's window.
import { histogramReadings, readingsOf, signalReadings } from "../metric-condition.ts";
import type { MetricSignalName } from "../job.ts";
import type { TaskMetricsPoint } from "../task-metrics.ts";

/** Which metric a comparison reads (the compiled form of a check's `metric`). */
export type MetricRef =
  | { kind: "signal"; signal: MetricSignalName }
  | { kind: "counter"; name: string }
  | { kind: "gauge"; name: string }
  | { kind: "histogram"; name: string; quantile: number };

/** One raw scrape of a named metric: a value (counter, gauge) or cumulative buckets [le, count] (histogram); null when missing. */
export interface RawMetricPoint {
  at: number;
  value?: number | null;
  buckets?: readonly [number, number][] | null;
}

/** A task's series as the controller hands it over: the server's signal points, or raw scrapes of a named metric. */
export interface TaskSeries {
  index: number;
  /** The task's failure domain at the phase's level (rack, cluster...), or null when unknown. */
  domain: string | null;
  /** The server's summaries (TaskMetricsHistory.seriesOf): read for `signal` metrics. */
  points?: readonly TaskMetricsPoint[];
  /** Raw scrapes of the named metric: read for counter, gauge and histogram metrics. */
  raw?: readonly RawMetricPoint[];
  /** Raw scrapes by metric name, when the task's series carries several named metrics (read before `raw`). */
  named?: Readonly<Record<string, readonly RawMetricPoint[]>>;
}

/** The metric names a rollout's checks read from tasks' endpoints: counters, gauges and histograms
 * compared, and the efficiency check's request counter (what agents report raw readings of). */
export function namedMetricsOf(checks: { metrics: readonly { metric: MetricRef }[]; efficiency: { requests: string } | null } | undefined): string[] {
  if (!checks) return [];
  const names = new Set<string>();
  for (const m of checks.metrics) if (m.metric.kind !== "signal") names.add(m.metric.name);
  if (checks.efficiency) names.add(checks.efficiency.requests);
  return [...names].sort();
}

/** One task's samples of `metric` (a reading per scrape interval; nulls where there is none) from `from` on (epoch ms). */
export function taskSamples(metric: MetricRef, s: TaskSeries, from = -Infinity): (number | null)[] {
  const raw = ((metric.kind === "signal" ? undefined : s.named?.[metric.name]) ?? s.raw ?? []).filter((p) => p.at >= from);
  let readings;
  if (metric.kind === "signal") readings = signalReadings((s.points ?? []).filter((p) => p.at >= from), metric.signal);
  else if (metric.kind === "histogram") readings = histogramReadings(metric.quantile, raw.map((p) => ({ at: p.at, buckets: p.buckets ?? null })));
  else readings = readingsOf(metric.kind, raw.map((p) => ({ at: p.at, value: p.value ?? null })));
  return readings.map((r) => r.value);
}

/** The pools of a phase: the new tasks' samples, and the old tasks' of the same domain (every old
 * task's when `domain` is null: a phase by count or percentage has no domain). */
export function pools(metric: MetricRef, newTasks: readonly TaskSeries[], oldTasks: readonly TaskSeries[], domain: string | null, from = -Infinity): { new: (number | null)[]; old: (number | null)[] } {
  const olds = domain === null ? oldTasks : oldTasks.filter((t) => t.domain === domain);
  return { new: newTasks.flatMap((t) => taskSamples(metric, t, from)), old: olds.flatMap((t) => taskSamples(metric, t, from)) };
}

/** A metric's name for summaries: "errors", "http_requests_total", "p99 of request_seconds". */
export function metricLabel(m: MetricRef): string {
  if (m.kind === "signal") return m.signal;
  if (m.kind === "histogram") return `p${Number((m.quantile * 100).toPrecision(4))} of ${m.name}`;
  return m.kind === "counter" ? `rate of ${m.name}` : m.name;
}
