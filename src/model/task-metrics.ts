// What an agent sends the server about each task's metrics endpoint (`POST /v1/agent/metrics`): one
// compact summary per task per report, the three signals already derived on the agent, never the
// task's raw series (1,000 tasks of 100 series each would be 100,000 series a report).
import { z } from "zod";

/** Why a scrape failed, by kind (the text is in `lastError`). */
export const ScrapeErrorKinds = ["timeout", "too-large", "malformed", "http-status", "unreachable", "no-port"] as const;
/** One of ScrapeErrorKinds. */
export type ScrapeErrorKind = (typeof ScrapeErrorKinds)[number];

/** How a metric health check stands for one attempt after its agent's latest reading (metric-condition.ts). */
export const metricCheckVerdictSchema = z.object({
  /** Index in the spec's `metricChecks`. */
  check: z.number().int().min(0).max(7),
  state: z.enum(["unknown", "ok", "pending", "firing"]),
  /** Pending or firing: the breaching value (the one that fired, while firing); else the latest reading. */
  value: z.number().nullable(),
  /** Pending or firing: when the breach began. */
  since: z.number().nullable(),
  /** When `value` was read. */
  at: z.number().nullable(),
});
/** One metric check's state for one attempt (metricCheckVerdictSchema). */
export type MetricCheckVerdict = z.infer<typeof metricCheckVerdictSchema>;

/** The latest reading of one named metric a rollout's checks compare (model/judge namedMetricsOf): a
 * counter's or gauge's value summed over its label sets, or a histogram's cumulative buckets [le, count]
 * (+Inf as null, JSON has no Infinity); null when the scrape did not have it. */
export const namedReadingSchema = z.object({
  name: z.string().min(1).max(200),
  /** When it was scraped (epoch ms). */
  at: z.number().min(0),
  value: z.number().nullable(),
  buckets: z.array(z.tuple([z.number().nullable(), z.number()])).max(64).nullable(),
});
/** One named metric reading (namedReadingSchema). */
export type NamedReading = z.infer<typeof namedReadingSchema>;

/** One task's metrics summary as of `at` (epoch ms). */
export const taskMetricsSchema = z.object({
  attemptId: z.string().min(1).max(200),
  at: z.number().min(0),
  /** The last scrape succeeded. */
  up: z.boolean(),
  /** Scrapes and failed scrapes since the attempt started (counters). */
  scrapes: z.number().int().min(0),
  scrapeErrors: z.number().int().min(0),
  /** The last failure: its kind and text (kept after later successes, until the next failure). */
  lastError: z.object({ kind: z.enum(ScrapeErrorKinds), message: z.string().max(500), at: z.number() }).nullable(),
  /** Samples in the last good scrape. */
  series: z.number().int().min(0),
  /** How long the last scrape took. */
  scrapeMs: z.number().min(0).nullable(),
  clients: z.number().nullable(),
  errorsPerSec: z.number().min(0).nullable(),
  latencySeconds: z.number().min(0).nullable(),
  /** The job's metric health checks, evaluated by the agent on every scrape; absent when it has none. */
  checks: z.array(metricCheckVerdictSchema).max(8).exactOptional(),
  /** The latest readings of the metrics its job's rollout checks compare; absent when they name none. */
  named: z.array(namedReadingSchema).max(17).exactOptional(),
});
/** One task's metrics summary (taskMetricsSchema). */
export type TaskMetrics = z.infer<typeof taskMetricsSchema>;

/** The body of `POST /v1/agent/metrics`. */
export const metricsReportSchema = z.object({
  hostId: z.string().min(1).max(253),
  tasks: z.array(taskMetricsSchema).max(10_000),
});
/** The body of `POST /v1/agent/metrics` (metricsReportSchema). */
export type MetricsReport = z.infer<typeof metricsReportSchema>;

/** One point of a task's series as the server keeps it (`GET /v1/jobs/:name/metrics?series=1`). */
export interface TaskMetricsPoint {
  at: number;
  up: boolean;
  scrapeErrors: number;
  clients: number | null;
  errorsPerSec: number | null;
  latencySeconds: number | null;
}

/** One task's points in a stored metric block: parallel columns, one entry a point (`offsetMs` from
 * the block's start; null values are absent signals). Columns rather than objects: a third the JSON. */
export const metricBlockTaskSchema = z.object({
  index: z.number().int().min(0),
  offsetMs: z.array(z.number().int().min(0)),
  up: z.array(z.union([z.literal(0), z.literal(1)])),
  scrapeErrors: z.array(z.number().int().min(0)),
  clients: z.array(z.number().nullable()),
  errorsPerSec: z.array(z.number().nullable()),
  latencySeconds: z.array(z.number().nullable()),
});
/** One task's points in a stored metric block (metricBlockTaskSchema). */
export type MetricBlockTask = z.infer<typeof metricBlockTaskSchema>;

/** A closed block of per-minute task metric points, as stored at `/metricblocks/<start>/<job>/<chunk>/<writer>`:
 * the points of up to 64 tasks of one job (index / 64 = chunk) over [start, start + spanMs). */
export const metricBlockSchema = z.object({
  start: z.number().int().min(0),
  spanMs: z.number().int().min(1),
  tasks: z.array(metricBlockTaskSchema).max(64),
});
/** A closed block of task metric points (metricBlockSchema). */
export type MetricBlock = z.infer<typeof metricBlockSchema>;
