// Prometheus metrics (prom-client), one registry per server so several servers in one process (tests,
// `tiffin dev`) do not share counters. Gauges of hosts and tasks are computed when scraped.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { AttemptStates, splitJobId } from "../model/index.ts";
import { HttpDurationMetric } from "../model/http-metrics.ts";
import type { HostStatus, TaskMetrics } from "../model/index.ts";

/** The server's metrics. */
export interface Metrics {
  registry: Registry;
  requests: Counter<"method" | "route" | "status">;
  /** Latency by method, route pattern and status code (the agent exports the same histogram). */
  requestDuration: Histogram<"method" | "route" | "code">;
  heartbeats: Counter;
  reconcileDuration: Histogram<"phase">;
  placements: Counter<"result">;
  /** The reconcilers' transactions by outcome: written, failed (a compare, possibly the leader
   * fence), skipped (not sent: this server does not lead). */
  leaderTxns: Counter<"result">;
}

/** What the scrape-time gauges read. */
export interface MetricSources {
  hostStatuses(): HostStatus[];
  /** State of each task's current attempt, or "unplaced" / "parked" / "pending". */
  taskStates(): string[];
  /** The latest metrics summary of every task this server holds, with its host's name. @default none */
  taskMetrics?(): Iterable<{ job: string; index: number; version: number; host: string; metrics: TaskMetrics }>;
  /** Whether this server leads. @default always */
  isLeader?(): boolean;
}

/** Creates the registry and every metric. */
export function createMetrics(src: MetricSources): Metrics {
  const registry = new Registry();
  // Process figures: CPU, memory, heap, GC pauses, event-loop lag (what a stalled server shows first).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const registers = [registry];
  const requests = new Counter({ name: "tiffin_http_requests_total", help: "HTTP requests by route and status", labelNames: ["method", "route", "status"] as const, registers });
  const requestDuration = new Histogram({ ...HttpDurationMetric, labelNames: [...HttpDurationMetric.labelNames], buckets: [...HttpDurationMetric.buckets], registers });
  const heartbeats = new Counter({ name: "tiffin_heartbeats_total", help: "Agent heartbeats received", registers });
  const reconcileDuration = new Histogram({
    name: "tiffin_reconcile_duration_seconds",
    help: "Duration of reconcile phases",
    labelNames: ["phase"] as const,
    buckets: [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10],
    registers,
  });
  const placements = new Counter({ name: "tiffin_placements_total", help: "Tasks placed, left unplaced, or plans dropped on conflict", labelNames: ["result"] as const, registers });
  const leaderTxns = new Counter({ name: "tiffin_leader_txns_total", help: "Reconciler transactions by outcome (written, failed, skipped when not leading)", labelNames: ["result"] as const, registers });
  new Gauge({
    name: "tiffin_leader",
    help: "1 while this server leads (runs the reconcilers), else 0",
    registers,
    collect() {
      this.set(src.isLeader === undefined || src.isLeader() ? 1 : 0);
    },
  });
  new Gauge({
    name: "tiffin_hosts",
    help: "Hosts by status",
    labelNames: ["status"] as const,
    registers,
    collect() {
      const counts: Record<string, number> = { up: 0, suspect: 0, down: 0, upgrading: 0 };
      for (const s of src.hostStatuses()) counts[s] = (counts[s] ?? 0) + 1;
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: "tiffin_tasks",
    help: "Tasks by the state of their current attempt",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const counts: Record<string, number> = { unplaced: 0, parked: 0 };
      for (const s of AttemptStates) counts[s] = 0;
      for (const s of src.taskStates()) counts[s] = (counts[s] ?? 0) + 1;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  taskMetricGauges(registry, src);
  return { registry, requests, requestDuration, heartbeats, reconcileDuration, placements, leaderTxns };
}

const taskLabels = ["job", "namespace", "index", "host", "version"] as const;

/** Every task's latest metrics summary as series labelled job/namespace/index/host/version (one scrape target
 * for a Prometheus that should not scrape each task). Values absent from a summary are left out. `job` is
 * the job's name and `namespace` its namespace, as in every answer and in Prometheus SD: never the id. */
function taskMetricGauges(registry: Registry, src: MetricSources): void {
  const registers = [registry];
  const each = (fn: (labels: Record<(typeof taskLabels)[number], string>, m: TaskMetrics) => void): void => {
    for (const t of src.taskMetrics?.() ?? []) {
      const { name, namespace } = splitJobId(t.job);
      fn({ job: name, namespace, index: String(t.index), host: t.host, version: String(t.version) }, t.metrics);
    }
  };
  new Gauge({
    name: "tiffin_task_up",
    help: "1 when the last scrape of the task's metrics endpoint succeeded, else 0",
    labelNames: taskLabels,
    registers,
    collect() {
      this.reset();
      each((l, m) => this.set(l, m.up ? 1 : 0));
    },
  });
  new Counter({
    name: "tiffin_task_scrape_errors_total",
    help: "Failed scrapes of the task's metrics endpoint (timeouts, too large, malformed, HTTP errors, unreachable) since its attempt started",
    labelNames: taskLabels,
    registers,
    collect() {
      this.reset();
      each((l, m) => this.inc(l, m.scrapeErrors));
    },
  });
  const signal = (name: string, help: string, pick: (m: TaskMetrics) => number | null): void => {
    new Gauge({
      name,
      help,
      labelNames: taskLabels,
      registers,
      collect() {
        this.reset();
        each((l, m) => {
          const v = pick(m);
          if (v !== null) this.set(l, v);
        });
      },
    });
  };
  signal("tiffin_task_clients", "Connected clients (the job's signals.clients gauge)", (m) => m.clients);
  signal("tiffin_task_errors_per_second", "Errors per second over the agent's window (rate of the job's signals.errors counter)", (m) => m.errorsPerSec);
  signal("tiffin_task_latency_seconds", "Reply time at the job's metrics.quantile (of its signals.latency histogram or summary)", (m) => m.latencySeconds);
}
