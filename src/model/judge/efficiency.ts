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
