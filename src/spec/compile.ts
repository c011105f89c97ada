// The compile step: a parsed job (units already resolved by the schema) reshaped into the canonical
// JobSpec the server stores, with fresh objects so nothing is shared with the user's values.
import { fullSecretName } from "./secret-input.ts";
import { DefaultNamespace, EveryHost } from "../model/index.ts";
import type { AdaptPolicy, HealthCheck, JobSpec, MetricHealthCheck, MetricsEndpoint, RolloutPolicy } from "../model/index.ts";
import type { ParsedJob } from "./input.ts";
import { compileRolloutChecks } from "./rollout-checks.ts";
import { compileBatch } from "./batch-input.ts";
import { compileSchedule } from "./schedule-input.ts";

/** A health check's timeout when the spec gives none: 2 s, or the interval when that is shorter. */
export function defaultHealthTimeoutMs(intervalMs: number): number {
  return Math.min(2000, intervalMs);
}

type ParsedCheck = Exclude<NonNullable<ParsedJob["health"]>, readonly unknown[]>;

/** The job's `health` as a list (one check, a list, or none). */
function healthList(h: ParsedJob["health"]): ParsedCheck[] {
  return h === null ? [] : Array.isArray(h) ? h : [h];
}

/** A metric check's `for` when the spec gives none: 1 minute, or three scrape intervals when longer. */
export function defaultMetricForMs(scrapeIntervalMs: number): number {
  return Math.max(60_000, 3 * scrapeIntervalMs);
}

function compileMetricCheck(h: Extract<ParsedCheck, { kind: "metric" }>, scrapeIntervalMs: number): MetricHealthCheck {
  const when = h.above !== undefined ? "above" : "below";
  return { signal: h.signal, when, threshold: h.above ?? h.below ?? 0, forMs: h.for ?? defaultMetricForMs(scrapeIntervalMs), graceMs: h.grace, action: h.then };
}

function compileHealth(h: Exclude<ParsedCheck, { kind: "metric" }>): HealthCheck {
  const timing = { intervalMs: h.every, timeoutMs: h.timeout ?? defaultHealthTimeoutMs(h.every), failures: h.failures, graceMs: h.grace, action: h.then };
  switch (h.kind) {
    case "http":
      return { kind: "http", port: h.port, path: h.path, ...timing };
    case "tcp":
      return { kind: "tcp", port: h.port, ...timing };
    case "command":
      return { kind: "command", run: [...h.run], ...timing };
  }
}

/** A metrics scrape's timeout when the spec gives none: 5 s, or the interval when that is shorter. */
export function defaultMetricsTimeoutMs(intervalMs: number): number {
  return Math.min(5000, intervalMs);
}

function compileMetrics(m: NonNullable<ParsedJob["metrics"]>): MetricsEndpoint {
  return {
    port: m.port,
    path: m.path,
    intervalMs: m.interval,
    timeoutMs: m.timeout ?? defaultMetricsTimeoutMs(m.interval),
    signals: { clients: m.signals.clients, errors: m.signals.errors, latency: m.signals.latency },
    quantile: m.quantile,
  };
}

function compileAdapt(a: NonNullable<ParsedJob["resources"]["adapt"]>): AdaptPolicy {
  return {
    min: { cpu: a.min.cpu, memoryMiB: a.min.memory },
    max: { cpu: a.max.cpu, memoryMiB: a.max.memory },
    everyMs: a.every,
  };
}

function compileRollout(r: NonNullable<ParsedJob["rollout"]>, metrics: MetricsEndpoint | null): RolloutPolicy {
  return {
    phases: r.phases === null ? null : [...r.phases], bakeMs: r.bake, deadlineMs: r.deadline, maxUnavailable: r.maxUnavailable, maxSurge: r.maxSurge, onFailure: r.onFailure,
    // Only when written, like the policy itself: specs without them compile (and roll out) as before.
    ...(r.checks !== undefined ? { checks: compileRolloutChecks(r.checks, metrics) } : {}),
    ...(r.inconclusive !== "fail" ? { inconclusive: r.inconclusive } : {}),
  };
}

/** `secretEnv` and `secretFiles`, each only when some (older specs compare equal). */
function secretsOf(j: ParsedJob): Pick<JobSpec, "secretEnv" | "secretFiles"> {
  const env = Object.entries(j.env).flatMap(([k, v]) => (typeof v === "string" ? [] : [[k, fullSecretName(v.secret, j.namespace)] as const]));
  const files = Object.entries(j.secretFiles).map(([p, v]) => [p, fullSecretName(v.secret, j.namespace)] as const);
  return { ...(env.length > 0 ? { secretEnv: Object.fromEntries(env) } : {}), ...(files.length > 0 ? { secretFiles: Object.fromEntries(files) } : {}) };
}

/** The canonical JobSpec of a parsed job. */
export function compileJob(j: ParsedJob): JobSpec {
  return {
    name: j.name,
    // Only outside the default namespace: specs without one compile as before.
    ...(j.namespace !== DefaultNamespace ? { namespace: j.namespace } : {}),
    command: [...j.command],
    env: Object.fromEntries(Object.entries(j.env).filter((e): e is [string, string] => typeof e[1] === "string")),
    ...secretsOf(j),
    files: Object.fromEntries(Object.entries(j.files).map(([p, f]) => [p, { content: f.content, mode: f.mode }])),
    // An every-host job's count is the server's to keep (one per matching host); the spec says 0.
    // A batch job's tasks are its runs' items (checks.ts refuses a count beside `batch`).
    replicas: j.replicas === EveryHost || j.batch !== null ? 0 : j.replicas,
    ...(j.replicas === EveryHost ? { everyHost: true as const } : {}),
    resources: { cpu: j.resources.cpu, memoryMiB: j.resources.memory, diskMiB: j.resources.disk },
    constraints: {
      os: j.constraints.os === null ? null : { id: j.constraints.os.id, version: j.constraints.os.version },
      kernel: j.constraints.kernel,
      labels: { ...j.constraints.labels },
    },
    spread: j.spread,
    antiAffinity: j.antiAffinity,
    ports: [...j.ports],
    restart: {
      backoffInitialMs: j.restart.backoff.initial,
      backoffMaxMs: j.restart.backoff.max,
      moveAfterFailures: j.restart.moveAfterFailures,
    },
    health: probeOf(j.health),
    // `delayMs` only when written: stored specs stay as they were (the agent applies the default).
    stop: { signal: j.stop.signal, graceMs: j.stop.grace, ...(j.stop.delay !== undefined ? { delayMs: j.stop.delay } : {}) },
    maintenance: j.maintenance,
    ...(j.maintenanceOverrun !== undefined ? { maintenanceOverrunMs: j.maintenanceOverrun } : {}),
    disconnect: { stopAfterMs: j.disconnect.stopAfter },
    packages: [...j.packages],
    isolation: j.isolation,
    network: j.network,
    mounts: j.mounts.map((m) => ({ host: m.host, task: m.task, writable: m.writable })),
    // Only when set: a spec that asks for neither compiles as it did before they existed, so stored
    // jobs show no change in `tiffin plan` and roll nothing out.
    ...(j.capabilities.length > 0 ? { capabilities: [...new Set(j.capabilities)].sort() } : {}),
    ...(j.persist ? { persist: true } : {}),
    ...(j.disruption !== null ? { disruption: { approve: j.disruption.approve, timeoutMs: j.disruption.timeout, onTimeout: j.disruption.onTimeout } } : {}),
    ...(j.metrics !== null ? { metrics: compileMetrics(j.metrics) } : {}),
    // Only when there are some, like `metrics`: older specs compile unchanged.
    ...(metricChecksOf(j).length > 0 ? { metricChecks: metricChecksOf(j) } : {}),
    ...(j.resources.adapt !== null ? { adapt: compileAdapt(j.resources.adapt) } : {}),
    // Only when written: a job without one rolls out by DefaultRolloutPolicy, and stored specs stay as they were.
    ...(j.rollout !== null ? { rollout: compileRollout(j.rollout, j.metrics !== null ? compileMetrics(j.metrics) : null) } : {}),
    // Only when some: jobs without dependencies compile as before.
    ...(j.uses.length > 0 ? { uses: j.uses.map((u) => ({ service: u.service, min: u.min })) } : {}),
    // Only when written: a job without it offers one service named after itself, as before.
    ...(j.services !== null ? { services: { ...j.services } } : {}),
    ...(j.batch !== null ? { batch: compileBatch(j.batch) } : {}),
    ...(j.schedule !== null ? { schedule: compileSchedule(j.schedule) } : {}),
  };
}

function probeOf(h: ParsedJob["health"]): HealthCheck | null {
  for (const c of healthList(h)) if (c.kind !== "metric") return compileHealth(c);
  return null;
}

function metricChecksOf(j: ParsedJob): MetricHealthCheck[] {
  // Without `metrics` the checks are refused (checks.ts); the interval only fills a default here.
  const interval = j.metrics?.interval ?? 10_000;
  return healthList(j.health).flatMap((c) => (c.kind === "metric" ? [compileMetricCheck(c, interval)] : []));
}
