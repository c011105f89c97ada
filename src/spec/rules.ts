// Rules that relate two fields, shared by the check of what users write (checks.ts) and the check of
// the compiled JobSpec the server receives (canonical.ts); each caller supplies its own field paths.

/** Why `port` cannot be used by a health check, or null when it is declared. */
export function undeclaredPort(port: string, ports: readonly string[]): string | null {
  if (ports.includes(port)) return null;
  const declared = ports.length === 0 ? "no ports are declared" : `declared: ${ports.join(", ")}`;
  return `port "${port}" is not declared in ports (${declared})`;
}

/** `${PORT_X}` references in argv elements whose port is not declared: index and message. */
export function undeclaredPortRefs(argv: readonly string[], ports: readonly string[]): { index: number; message: string }[] {
  const out: { index: number; message: string }[] = [];
  const upper = new Set(ports.map((p) => p.toUpperCase()));
  argv.forEach((arg, index) => {
    for (const m of arg.matchAll(/\$\{PORT_([A-Za-z0-9_]+)\}/g)) {
      const name = m[1] ?? "";
      if (!upper.has(name)) {
        out.push({ index, message: `\${PORT_${name}} refers to port "${name.toLowerCase()}", which is not declared in ports` });
      }
    }
  });
  return out;
}

/** Why an env name may not be set by the job (Tiffin sets it), or null. */
export function reservedEnv(name: string, ports: readonly string[]): string | null {
  if (name === "TASK_INDEX") return "TASK_INDEX is set by Tiffin for each task";
  if (name.startsWith("PORT_") && ports.some((p) => `PORT_${p.toUpperCase()}` === name)) {
    return `${name} is set by Tiffin to the port allocated for "${name.slice(5).toLowerCase()}"`;
  }
  return null;
}

/** Why a health check's timing is inconsistent, or null. */
export function healthTimingProblem(intervalMs: number, timeoutMs: number): string | null {
  return timeoutMs > intervalMs ? `the timeout (${timeoutMs}ms) must not be longer than the interval between checks (${intervalMs}ms)` : null;
}

/** Why a metrics scrape's timing is inconsistent, or null. */
export function scrapeTimingProblem(intervalMs: number, timeoutMs: number): string | null {
  return timeoutMs > intervalMs ? `the scrape timeout (${timeoutMs}ms) must not be longer than the interval between scrapes (${intervalMs}ms)` : null;
}

/** What a metric health check needs of the job's metrics endpoint: the field of the check at fault
 * ("" for the check itself) and why. `metrics`: the endpoint's interval and signal names, null without one. */
export function metricCheckProblems(
  check: { signal: "clients" | "errors" | "latency"; forMs: number },
  metrics: { intervalMs: number; signals: Record<"clients" | "errors" | "latency", string | null> } | null,
): { field: "" | "signal" | "for"; message: string }[] {
  if (metrics === null) return [{ field: "", message: "a metric check needs the job's `metrics` endpoint (port, path and `signals`)" }];
  const out: { field: "" | "signal" | "for"; message: string }[] = [];
  if (metrics.signals[check.signal] === null) {
    out.push({ field: "signal", message: `signal "${check.signal}" is not mapped to a metric: set metrics.signals.${check.signal}` });
  }
  if (check.forMs < metrics.intervalMs) {
    out.push({ field: "for", message: `${check.forMs}ms is shorter than the scrape interval (${metrics.intervalMs}ms): a breach must last at least one scrape` });
  }
  return out;
}

/** Metric checks a job may have. */
export const MaxMetricChecks = 8;

/** Why a job's list of health checks holds more than one probe (http, tcp, command): the indexes after the first. */
export function extraProbes(kinds: readonly string[]): number[] {
  const probes = kinds.flatMap((k, i) => (k === "metric" ? [] : [i]));
  return probes.slice(1);
}

/** `resources.adapt` bounds where min is above max: which figure, and why (cpu in cores, memory in MiB). */
export function adaptBoundsProblems(min: { cpu: number | null; memoryMiB: number | null }, max: { cpu: number | null; memoryMiB: number | null }): { field: "cpu" | "memory"; message: string }[] {
  const out: { field: "cpu" | "memory"; message: string }[] = [];
  if (min.cpu !== null && max.cpu !== null && min.cpu > max.cpu) out.push({ field: "cpu", message: `the minimum (${min.cpu} cores) is above the maximum (${max.cpu} cores)` });
  if (min.memoryMiB !== null && max.memoryMiB !== null && min.memoryMiB > max.memoryMiB) out.push({ field: "memory", message: `the minimum (${min.memoryMiB} MiB) is above the maximum (${max.memoryMiB} MiB)` });
  return out;
}

/** Why a restart back-off is inconsistent, or null. */
export function backoffProblem(initialMs: number, maxMs: number): string | null {
  return initialMs > maxMs ? `the initial back-off (${initialMs}ms) must not be longer than the maximum (${maxMs}ms)` : null;
}

type Bound = { version: number[]; inclusive: boolean };

function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Why a kernel range (already matching the syntax) can match no version, or null. */
export function kernelRangeProblem(range: string): string | null {
  let low: Bound | null = null;
  let high: Bound | null = null;
  for (const part of range.trim().split(/ +/)) {
    const m = /^(>=|<=|>|<|=)?(.*)$/.exec(part);
    const op = m?.[1] ?? "=";
    const version = (m?.[2] ?? "").split(".").map(Number);
    if (op === ">" || op === ">=" || op === "=") {
      const b = { version, inclusive: op !== ">" };
      const c = low === null ? 1 : compareVersions(version, low.version);
      if (c > 0 || (c === 0 && !b.inclusive)) low = b;
    }
    if (op === "<" || op === "<=" || op === "=") {
      const b = { version, inclusive: op !== "<" };
      const c = high === null ? -1 : compareVersions(version, high.version);
      if (c < 0 || (c === 0 && !b.inclusive)) high = b;
    }
  }
  if (low === null || high === null) return null;
  const c = compareVersions(low.version, high.version);
  return c > 0 || (c === 0 && !(low.inclusive && high.inclusive)) ? `no kernel version satisfies "${range}"` : null;
}

/** Why a sandbox-only setting cannot be used with this isolation, or null. */
export function needsSandbox(isolation: string, setting: string): string | null {
  return isolation === "sandbox" ? null : `${setting} needs isolation "sandbox" (this job has isolation "${isolation}")`;
}

/** Mounts whose task path repeats an earlier one: index and message. */
export function duplicateMountTargets(mounts: readonly { task: string }[]): { index: number; message: string }[] {
  const out: { index: number; message: string }[] = [];
  mounts.forEach((m, index) => {
    const first = mounts.findIndex((o) => o.task === m.task);
    if (first !== index) out.push({ index, message: `"${m.task}" is already mounted by mounts[${first}]` });
  });
  return out;
}
