// What an agent sends the server about each task's metrics endpoint (`POST /v1/agent/metrics`): one
// compact summary per task per report, the three signals already derived on the agent, never the
// task's raw series (1,000 tasks of 100 series each would be 100,000 series a report).
import { z } from "zod";

/** Why a scrape failed, by kind (the text is in `lastError`). */
export const ScrapeErrorKinds = ["timeout", "too-large", "malformed", "http-status", "unreachable", "no-port"] as const;
/** One of ScrapeErrorKinds. */
export type ScrapeErrorKind = (typeof ScrapeErrorKinds)[number];

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
