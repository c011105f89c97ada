// The efficiency check, as Instagram compared Python 3 against Python 2: CPU seconds per request of
// new tasks against old ones. Each scrape interval of a task gives one sample, its cgroup CPU usage
// increase over its request counter's increase; intervals without requests give none (no work, no
// efficiency). Both are counters: a drop is a restart counted from 0, as counterRate does.
import { compareSamples } from "./compare.ts";
import type { CompareOptions } from "./compare.ts";
import type { ComparisonVerdict } from "./verdict.ts";

/** One reading of a task: cumulative cgroup CPU seconds and cumulative requests (null when missing). */
export interface UsagePoint {
  at: number;
  cpuSeconds: number | null;
  requests: number | null;
}

/** Usage points from a task's CPU samples (the server's usage history: cumulative `cpuSeconds` of its
 * attempt) and its request counter's readings, each CPU sample paired with the counter reading
 * nearest in time, if one is within `maxSkewMs` (else the point has no request count). */
export function joinUsage(cpu: readonly { at: number; cpuSeconds: number }[], requests: readonly { at: number; value: number | null }[], maxSkewMs: number): UsagePoint[] {
  const reqs = [...requests].sort((a, b) => a.at - b.at);
  let j = 0;
  return [...cpu]
    .sort((a, b) => a.at - b.at)
    .map((c) => {
      while (j + 1 < reqs.length && Math.abs((reqs[j + 1]?.at ?? 0) - c.at) <= Math.abs((reqs[j]?.at ?? 0) - c.at)) j++;
      const r = reqs[j];
      return { at: c.at, cpuSeconds: c.cpuSeconds, requests: r && Math.abs(r.at - c.at) <= maxSkewMs ? r.value : null };
    });
}

function increase(prev: number, cur: number): number {
  return cur >= prev ? cur - prev : cur;
}

/** CPU seconds per request of each interval of a task's readings (oldest first). */
export function cpuPerRequestSamples(points: readonly UsagePoint[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < points.length; i++) {
    const a = points[i - 1];
    const b = points[i];
    if (!a || !b || a.cpuSeconds === null || b.cpuSeconds === null || a.requests === null || b.requests === null) continue;
    const requests = increase(a.requests, b.requests);
    if (requests > 0) out.push(increase(a.cpuSeconds, b.cpuSeconds) / requests);
  }
  return out;
}

/** Totals over a task set: CPU seconds, requests and their ratio (Instagram's headline figure). */
export function cpuPerRequestTotal(tasks: readonly (readonly UsagePoint[])[]): { cpuSeconds: number; requests: number; perRequest: number | null } {
  let cpuSeconds = 0;
  let requests = 0;
  for (const points of tasks) {
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1];
      const b = points[i];
      if (!a || !b || a.cpuSeconds === null || b.cpuSeconds === null || a.requests === null || b.requests === null) continue;
      cpuSeconds += increase(a.cpuSeconds, b.cpuSeconds);
      requests += increase(a.requests, b.requests);
    }
  }
  return { cpuSeconds, requests, perRequest: requests > 0 ? cpuSeconds / requests : null };
}

/** The efficiency verdict: new tasks' CPU seconds per request against old ones' (lower is better). */
export function compareEfficiency(newTasks: readonly (readonly UsagePoint[])[], oldTasks: readonly (readonly UsagePoint[])[], o: Omit<CompareOptions, "better">): ComparisonVerdict & { perRequest: { new: number | null; old: number | null } } {
  const v = compareSamples(newTasks.flatMap(cpuPerRequestSamples), oldTasks.flatMap(cpuPerRequestSamples), { label: "CPU seconds per request", ...o, better: "lower" });
  return { ...v, perRequest: { new: cpuPerRequestTotal(newTasks).perRequest, old: cpuPerRequestTotal(oldTasks).perRequest } };
}
