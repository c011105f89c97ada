// The recent metrics of every task, in memory, from agents' summaries (`POST /v1/agent/metrics`):
// for `GET /v1/jobs/:name/metrics`, `tiffin top` and the server's Prometheus output. Bounded: one
// point per task per `bucketMs` (the newest of the bucket wins), kept `keepMs`, so at most
// keepMs/bucketMs points a task (1,440 by default, stored by column: task-metrics-ring.ts), plus the latest summary; a task not heard of for
// `keepMs` is forgotten. Only the server receiving a host's reports holds its tasks' points (they are
// not in the store: a restarted server starts empty, and in a cluster another server answers with
// what it received; see src/server/README.md).
import type { Clock, TaskMetrics, TaskMetricsPoint } from "../model/index.ts";
import { PointRing } from "./task-metrics-ring.ts";


/** Where a summary came from: the task and the attempt's version and host. */
export interface TaskMetricsOrigin {
  job: string;
  index: number;
  version: number;
  hostId: string;
}

/** The latest summary of a task with where it came from. */
export type LatestTaskMetrics = TaskMetricsOrigin & { metrics: TaskMetrics };

/** Options of TaskMetricsHistory; times in ms. */
export interface TaskMetricsHistoryOptions {
  clock: Clock;
  /** @default 60000 */
  bucketMs?: number;
  /** @default 86400000 (24 h) */
  keepMs?: number;
}

interface Series {
  latest: LatestTaskMetrics;
  points: PointRing;
}

/** Per-task metric series, bounded in time and points. */
export class TaskMetricsHistory {
  readonly #clock: Clock;
  readonly #bucketMs: number;
  readonly #keepMs: number;
  readonly #byJob = new Map<string, Map<number, Series>>();
  #lastPrune = 0;

  constructor(o: TaskMetricsHistoryOptions) {
    this.#clock = o.clock;
    this.#bucketMs = o.bucketMs ?? 60_000;
    this.#keepMs = o.keepMs ?? 86_400_000;
  }

  /** Keeps a summary (a summary of another attempt of the task replaces the latest, and joins its series). */
  add(origin: TaskMetricsOrigin, m: TaskMetrics): void {
    let byIndex = this.#byJob.get(origin.job);
    if (!byIndex) this.#byJob.set(origin.job, (byIndex = new Map()));
    const s = byIndex.get(origin.index) ?? { latest: { ...origin, metrics: m }, points: new PointRing(Math.ceil(this.#keepMs / this.#bucketMs) + 1) };
    if (m.at < s.latest.metrics.at) return;
    s.latest = { ...origin, metrics: m };
    const point: TaskMetricsPoint = { at: m.at, up: m.up, scrapeErrors: m.scrapeErrors, clients: m.clients, errorsPerSec: m.errorsPerSec, latencySeconds: m.latencySeconds };
    const lastAt = s.points.lastAt();
    s.points.push(point, lastAt !== null && Math.floor(lastAt / this.#bucketMs) === Math.floor(m.at / this.#bucketMs));
    byIndex.set(origin.index, s);
    this.#prune();
  }

  /** The latest summary of each task of `job` that has one, by index. */
  latestOf(job: string): LatestTaskMetrics[] {
    return [...(this.#byJob.get(job)?.values() ?? [])].map((s) => s.latest).sort((a, b) => a.index - b.index);
  }

  /** A task's points of the last `keepMs`, oldest first. */
  seriesOf(job: string, index: number): TaskMetricsPoint[] {
    const since = this.#clock.now() - this.#keepMs;
    return (this.#byJob.get(job)?.get(index)?.points.toArray() ?? []).filter((p) => p.at >= since);
  }

  /** The latest summary of every task (the Prometheus output). */
  *all(): Iterable<LatestTaskMetrics> {
    for (const byIndex of this.#byJob.values()) for (const s of byIndex.values()) yield s.latest;
  }

  /** Drops a job's series (the job was removed) or one task's. */
  forget(job: string, index?: number): void {
    if (index === undefined) this.#byJob.delete(job);
    else this.#byJob.get(job)?.delete(index);
  }

  /** Drops old points and tasks not heard of in `keepMs`, at most once a bucket. */
  #prune(): void {
    const now = this.#clock.now();
    if (now - this.#lastPrune < this.#bucketMs) return;
    this.#lastPrune = now;
    const since = now - this.#keepMs;
    for (const [job, byIndex] of this.#byJob) {
      for (const [index, s] of byIndex) {
        if (s.latest.metrics.at < since) byIndex.delete(index);
        else s.points.dropBefore(since);
      }
      if (byIndex.size === 0) this.#byJob.delete(job);
    }
  }
}
