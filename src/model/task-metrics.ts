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
