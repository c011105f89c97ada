// The reverse of compile.ts: a stored JobSpec written back in the form users write (`memory: "256Mi"`,
// `grace: "10s"`), so `status`, `history` and `history --spec` show what users recognise and `apply`
// accepts the printed spec unchanged (compile(load(print(spec))) equals spec; decompile.test.ts).
import { DefaultNamespace, EveryHost, splitJobId } from "../model/index.ts";
import type { AdaptBounds, AdaptPolicy, BatchPolicy, HealthCheck, JobSpec, MetricHealthCheck, MetricsEndpoint, RolloutPolicy } from "../model/index.ts";
import type { MetricComparisonCheck, RolloutChecks } from "../model/judge/index.ts";

/** "1h2m3s4ms" for milliseconds; "0ms" for zero. parseDuration reads it back exactly. */
export function formatDuration(ms: number): string {
  const parts: [number, string][] = [[3_600_000, "h"], [60_000, "m"], [1000, "s"], [1, "ms"]];
  let left = ms;
  let out = "";
  for (const [unit, name] of parts) {
    const n = Math.floor(left / unit);
    if (n > 0) out += `${n}${name}`;
    left -= n * unit;
  }
  return out === "" ? "0ms" : out;
}

/** "4Gi" when a whole number of GiB (or "1Ti"), else "256Mi". parseSize reads it back exactly. */
export function formatSize(mib: number): string {
  if (mib % (1024 * 1024) === 0) return `${mib / (1024 * 1024)}Ti`;
  if (mib % 1024 === 0) return `${mib / 1024}Gi`;
  return `${mib}Mi`;
}

/** "0644" for 0o644. */
export function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

/** A health check as written in a spec (`every`, `grace`, `then`). */
function userHealth(h: HealthCheck): Record<string, unknown> {
  const timing = { every: formatDuration(h.intervalMs), timeout: formatDuration(h.timeoutMs), failures: h.failures, grace: formatDuration(h.graceMs), then: h.action };
  switch (h.kind) {
    case "http":
      return { kind: "http", port: h.port, path: h.path, ...timing };
    case "tcp":
      return { kind: "tcp", port: h.port, ...timing };
    case "command":
      return { kind: "command", run: [...h.run], ...timing };
  }
}

/** A metric check as written in a spec (`metric({ signal, above, for })`). */
function userMetricCheck(c: MetricHealthCheck): Record<string, unknown> {
  return { kind: "metric", signal: c.signal, [c.when]: c.threshold, for: formatDuration(c.forMs), then: c.action, grace: formatDuration(c.graceMs) };
}

/** The `health` field: the probe alone (or null) as before; a list when there are metric checks. */
function userHealthField(spec: JobSpec): unknown {
  const probe = spec.health === null ? null : userHealth(spec.health);
  if (spec.metricChecks === undefined) return probe;
  return [...(probe === null ? [] : [probe]), ...spec.metricChecks.map(userMetricCheck)];
}

/** A metrics endpoint as written in a spec (`interval`, `timeout`). */
function userMetrics(m: MetricsEndpoint): Record<string, unknown> {
  return { port: m.port, path: m.path, interval: formatDuration(m.intervalMs), timeout: formatDuration(m.timeoutMs), signals: { ...m.signals }, quantile: m.quantile };
}

/** `resources.adapt` as written in a spec: bounds without nulls, `every` as a duration. */
export function userAdapt(a: AdaptPolicy): Record<string, unknown> {
  const bounds = (b: AdaptBounds): Record<string, unknown> => ({
    ...(b.cpu !== null ? { cpu: b.cpu } : {}),
    ...(b.memoryMiB !== null ? { memory: formatSize(b.memoryMiB) } : {}),
  });
  return { min: bounds(a.min), max: bounds(a.max), every: formatDuration(a.everyMs) };
}

/** A fraction as a spec's percentage: 0.05 is "5%". */
function percentOf(f: number): string {
  return `${Number((f * 100).toPrecision(12))}%`;
}

function userComparison(m: MetricComparisonCheck): Record<string, unknown> {
  const metric = m.metric.kind === "signal" ? { signal: m.metric.signal } : m.metric.kind === "histogram" ? { histogram: m.metric.name, quantile: m.metric.quantile } : { [m.metric.kind]: m.metric.name };
  return { ...metric, better: m.better, tolerance: percentOf(m.tolerance), slack: m.slack, alpha: m.alpha, minSamples: m.minSamples };
}

/** `rollout.checks` as written in a spec: every field, tolerances as percentages, times as durations. */
export function userRolloutChecks(c: RolloutChecks): Record<string, unknown> {
  return {
    health: c.health,
    crashRate: c.crashRate === null ? false : { tolerance: percentOf(c.crashRate.tolerance), alpha: c.crashRate.alpha, minExposure: formatDuration(c.crashRate.minExposureMs) },
    metrics: c.metrics.map(userComparison),
    efficiency: c.efficiency === null ? null : { requests: c.efficiency.requests, tolerance: percentOf(c.efficiency.tolerance), alpha: c.efficiency.alpha, minSamples: c.efficiency.minSamples },
    custom: c.custom.map((k) => (k.kind === "http" ? { http: k.url, status: [...k.statuses], timeout: formatDuration(k.timeoutMs) } : { run: [...k.run], timeout: formatDuration(k.timeoutMs) })),
  };
}

/** A rollout policy as written in a spec (`bake`, `deadline`). */
function userRollout(r: RolloutPolicy): Record<string, unknown> {
  return {
    phases: r.phases === null ? null : [...r.phases],
    bake: formatDuration(r.bakeMs),
    deadline: formatDuration(r.deadlineMs),
    maxUnavailable: r.maxUnavailable,
    maxSurge: r.maxSurge,
    onFailure: r.onFailure,
    ...(r.checks !== undefined ? { checks: userRolloutChecks(r.checks) } : {}),
    ...(r.inconclusive !== undefined ? { inconclusive: r.inconclusive } : {}),
  };
}

/** `batch` as written in a spec: every field, durations as text; `completions` only without items. */
function userBatch(b: BatchPolicy): Record<string, unknown> {
  return {
    ...(b.items === null ? { completions: b.completions } : { items: [...b.items] }),
    parallelism: b.parallelism,
    retries: { limit: b.retries.limit, backoff: { initial: formatDuration(b.retries.backoffInitialMs), max: formatDuration(b.retries.backoffMaxMs) } },
    deadline: b.deadlineMs === null ? null : formatDuration(b.deadlineMs),
    success: b.successCount ?? "all",
    failedItems: b.failedItems,
    keep: b.keepRuns,
    ...(b.after !== undefined ? { after: [...b.after] } : {}),
  };
}

/**
 * A JobSpec in the user's form: a plain JSON value that `apply` accepts as a spec file. Every field is
 * written (no reliance on defaults, which may change); `pinned` is left out, as it is the server's
 * to set at apply.
 */
export function decompileJob(spec: JobSpec): Record<string, unknown> {
  // A stored spec carries the job's id (`NAME.NS`, model/namespace.ts); users write name and namespace.
  const id = splitJobId(spec.name);
  const ns = spec.namespace ?? id.namespace;
  return {
    name: id.name,
    ...(ns !== DefaultNamespace ? { namespace: ns } : {}),
    command: [...spec.command],
    env: { ...spec.env, ...Object.fromEntries(Object.entries(spec.secretEnv ?? {}).map(([k, name]) => [k, { secret: name }])) },
    ...(spec.secretFiles !== undefined ? { secretFiles: Object.fromEntries(Object.entries(spec.secretFiles).map(([p, name]) => [p, { secret: name }])) } : {}),
    files: Object.fromEntries(Object.entries(spec.files).map(([p, f]) => [p, { content: f.content, mode: formatMode(f.mode) }])),
    replicas: spec.everyHost === true ? EveryHost : spec.replicas,
    resources: {
      cpu: spec.resources.cpu, memory: formatSize(spec.resources.memoryMiB), disk: formatSize(spec.resources.diskMiB),
      ...(spec.adapt !== undefined ? { adapt: userAdapt(spec.adapt) } : {}),
    },
    ports: [...spec.ports],
    health: userHealthField(spec),
    restart: {
      backoff: { initial: formatDuration(spec.restart.backoffInitialMs), max: formatDuration(spec.restart.backoffMaxMs) },
      moveAfterFailures: spec.restart.moveAfterFailures,
    },
    stop: { signal: spec.stop.signal, grace: formatDuration(spec.stop.graceMs), ...(spec.stop.delayMs !== undefined ? { delay: formatDuration(spec.stop.delayMs) } : {}) },
    constraints: {
      os: spec.constraints.os === null ? null : { ...spec.constraints.os },
      kernel: spec.constraints.kernel,
      labels: { ...spec.constraints.labels },
    },
    spread: spec.spread,
    antiAffinity: spec.antiAffinity,
    maintenance: spec.maintenance,
    ...(spec.maintenanceOverrunMs !== undefined ? { maintenanceOverrun: formatDuration(spec.maintenanceOverrunMs) } : {}),
    disconnect: { stopAfter: spec.disconnect.stopAfterMs === null ? null : formatDuration(spec.disconnect.stopAfterMs) },
    packages: [...spec.packages],
    ...(spec.isolation !== undefined ? { isolation: spec.isolation } : {}),
    ...(spec.network !== undefined ? { network: spec.network } : {}),
    ...(spec.mounts !== undefined ? { mounts: spec.mounts.map((m) => ({ ...m })) } : {}),
    ...(spec.capabilities !== undefined ? { capabilities: [...spec.capabilities] } : {}),
    ...(spec.persist !== undefined ? { persist: spec.persist } : {}),
    ...(spec.disruption !== undefined ? { disruption: { approve: spec.disruption.approve, timeout: formatDuration(spec.disruption.timeoutMs), onTimeout: spec.disruption.onTimeout } } : {}),
    ...(spec.metrics !== undefined ? { metrics: userMetrics(spec.metrics) } : {}),
    ...(spec.rollout !== undefined ? { rollout: userRollout(spec.rollout) } : {}),
    ...(spec.uses !== undefined ? { uses: spec.uses.map((u) => (u.min === 1 ? u.service : { service: u.service, min: u.min })) } : {}),
    ...(spec.services !== undefined ? { services: { ...spec.services } } : {}),
    ...(spec.batch !== undefined ? { batch: userBatch(spec.batch) } : {}),
    ...(spec.schedule !== undefined ? { schedule: { cron: spec.schedule.cron, timeZone: spec.schedule.timeZone, overlap: spec.schedule.overlap, missed: spec.schedule.missed, jitter: formatDuration(spec.schedule.jitterMs) } } : {}),
  };
}

/** A spec file (JSON, which `apply` reads as is) holding `spec` in the user's form. */
export function specFileText(spec: JobSpec): string {
  return `${JSON.stringify(decompileJob(spec), null, 2)}\n`;
}
