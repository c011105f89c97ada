// The agent's own Prometheus metrics (GET /metrics on its endpoint, host token): its tasks by state,
// helper processes, task starts and ends, package bytes fetched and served, the scrapes of tasks'
// metrics, and the HTTP latency histogram the server exports too. Counters kept elsewhere (the
// swarm's byte counts) and gauges are read when scraped; events are counted as they happen.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { AttemptStates, isTerminal } from "../../model/index.ts";
import type { AttemptState, AttemptUpdate } from "../../model/index.ts";
import { HttpDurationMetric, UnmatchedRoute } from "../../model/http-metrics.ts";

/** What the scrape-time figures read. */
export interface AgentMetricSources {
  /** Helper processes running now, with the attempts each supervises. */
  helperProcesses(): { attempts: number }[];
  /** Package bytes fetched (from the origin server, from peers) and served to peers, since start. */
  packageBytes(): { fromOrigin: number; fromPeers: number; served: number };
}

/** The agent's metrics, and the calls that feed them. */
export interface AgentMetrics {
  registry: Registry;
  /** Observe one HTTP request (route: a pattern, see endpointRoute). */
  request(method: string, route: string, code: number, seconds: number): void;
  /** Every attempt update the agent reports: tasks by state, starts and ends are counted from them. */
  attemptUpdate(update: Pick<AttemptUpdate, "id" | "state">): void;
  /** One scrape of a task's metrics endpoint: "ok" or what went wrong, and how long it took. */
  scrape(result: string, seconds: number | null): void;
}

/** Creates the registry and every metric; `src` is read when Prometheus scrapes. */
export function createAgentMetrics(src: AgentMetricSources): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
  const registers = [registry];
  const duration = new Histogram({ ...HttpDurationMetric, labelNames: [...HttpDurationMetric.labelNames], buckets: [...HttpDurationMetric.buckets], registers });
  // The last state reported of each attempt that has not ended: the gauge of tasks by state, and a
  // start counted once when an attempt first runs, an end once when it reaches a final state.
  const last = new Map<string, AttemptState>();
  const started = new Set<string>();
  new Gauge({
    name: "tiffin_agent_tasks",
    help: "Tasks on this host by the state of their attempt",
    labelNames: ["state"] as const,
    registers,
    collect() {
      const counts = new Map<string, number>(AttemptStates.filter((s) => !isTerminal(s)).map((s) => [s, 0]));
      for (const s of last.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
      for (const [state, n] of counts) this.set({ state }, n);
    },
  });
  const starts = new Counter({ name: "tiffin_agent_task_starts_total", help: "Attempts that started running on this host", registers });
  const ends = new Counter({ name: "tiffin_agent_task_ends_total", help: "Attempts that ended on this host, by final state (failed: crashed or could not start; lost; exited; stopped)", labelNames: ["state"] as const, registers });
  for (const s of AttemptStates) if (isTerminal(s)) ends.inc({ state: s }, 0);
  new Gauge({
    name: "tiffin_agent_helper_processes",
    help: "Helper processes supervising this host's tasks",
    registers,
    collect() {
      this.set(src.helperProcesses().length);
    },
  });
  new Counter({
    name: "tiffin_agent_package_bytes_fetched_total",
    help: "Package piece bytes fetched, by source (origin: a server; peers: other agents)",
    labelNames: ["source"] as const,
    registers,
    collect() {
      const b = src.packageBytes();
      this.reset();
      this.inc({ source: "origin" }, b.fromOrigin);
      this.inc({ source: "peers" }, b.fromPeers);
    },
  });
  new Counter({
    name: "tiffin_agent_package_bytes_served_total",
    help: "Package piece bytes served to other agents",
    registers,
    collect() {
      this.reset();
      this.inc(src.packageBytes().served);
    },
  });
  const scrapes = new Counter({ name: "tiffin_agent_task_scrapes_total", help: "Scrapes of tasks' metrics endpoints, by result (ok, or what went wrong)", labelNames: ["result"] as const, registers });
  scrapes.inc({ result: "ok" }, 0);
  const scrapeSeconds = new Histogram({ name: "tiffin_agent_task_scrape_duration_seconds", help: "How long a scrape of a task's metrics endpoint took", buckets: [0.005, 0.025, 0.1, 0.5, 2, 10], registers });
  return {
    registry,
    request: (method, route, code, seconds) => duration.observe({ method, route, code: String(code) }, seconds),
    attemptUpdate: ({ id, state }) => {
      if ((state === "running" || state === "healthy" || state === "unhealthy") && !started.has(id)) {
        started.add(id);
        starts.inc();
      }
      if (isTerminal(state)) {
        if (last.has(id) || started.has(id)) ends.inc({ state });
        last.delete(id);
        started.delete(id);
      } else last.set(id, state);
    },
    scrape: (result, seconds) => {
      scrapes.inc({ result });
      if (seconds !== null) scrapeSeconds.observe(seconds);
    },
  };
}

/** The route pattern of a request to the agent's endpoint: the label of its latency, never the raw path. */
export function endpointRoute(method: string, pathname: string): string {
  const routes: [string, RegExp, string][] = [
    ["GET", /^\/v1\/logs\/[^/]+$/, "/v1/logs/:attemptId"],
    ["POST", /^\/v1\/exec\/[^/]+$/, "/v1/exec/:attemptId"],
    ["GET", /^\/v1\/pieces\/[^/]+$/, "/v1/pieces/:sha256"],
    ["GET", /^\/metrics$/, "/metrics"],
  ];
  return routes.find(([m, re]) => m === method && re.test(pathname))?.[2] ?? UnmatchedRoute;
}
