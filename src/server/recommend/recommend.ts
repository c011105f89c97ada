// The recommender's one decision, pure: from a job's usage history (per-minute cgroup samples of its
// tasks), the OOM kills and throttling seen, and its current resources, the resources it should ask
// for. Memory follows the peak (going over the limit is a kill, not a slowdown), projected forward
// when it grows; CPU follows a percentile (going over is a slowdown), raised when the tasks were held
// back by their limit. Both get a headroom and are rounded up to sane units; memory is never below
// the limit of an attempt the OOM killer struck. Disk is left as it is: no usage of it is sampled.
import type { RecommendChange, RecommendEvidence, Recommendation, RecommendPolicy, Resources, TaskEvidence, UsageSample } from "../../model/index.ts";
import { percentile, roundCpu, roundMemoryMiB, slope } from "./stats.ts";

/** The defaults of the server's recommender (`tiffin server --recommend-*`). */
export const DefaultRecommendPolicy: RecommendPolicy = { windowMs: 24 * 3_600_000, percentile: 0.95, headroom: 0.15, minSamples: 60 };

/** Throttled for more than this share of the time: the CPU limit, not the demand, set the usage. */
export const ThrottledShare = 0.05;

/** An attempt the kernel's OOM killer struck, and the memory limit it ran with. */
export interface OomEvidence {
  attemptId: string;
  at: number;
  limitMiB: number;
}

/** A usage sample with the index of the task it came from. */
export type TaskSample = UsageSample & { index: number };

/** What `recommend` reads: one job's current resources, its tasks' samples and its OOM kills. */
export interface RecommendInput {
  job: string;
  version: number;
  current: Resources;
  /** Every task's samples (any order); those outside the window are ignored. */
  samples: readonly TaskSample[];
  ooms: readonly OomEvidence[];
  now: number;
  policy: RecommendPolicy;
}

const MiB = 1024 * 1024;
const round = (n: number, digits = 3): number => Math.round(n * 10 ** digits) / 10 ** digits;
const pct = (share: number): string => `${Math.round(share * 100)}%`;

/** "24h", "90m", "45s": a window in words. */
export function spanText(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${Math.round(ms / 1000)}s`;
}

function memoryMiBOf(s: UsageSample): number {
  return Math.max(s.memoryBytes, s.memoryMaxBytes ?? 0, s.memoryPeakBytes ?? 0) / MiB;
}

/** The share of CPU quota periods in which the quota ran out, over every attempt with two samples
 * that say (null: none say). Periods, not throttled time: throttled time is summed over the CPUs the
 * task ran on, so it says "4 s a second" of a task on 4 CPUs; the share of periods stays within 0..1. */
function throttledShare(samples: readonly UsageSample[]): number | null {
  const byAttempt = new Map<string, UsageSample[]>();
  for (const s of samples) {
    if (s.cpuPeriods === undefined || s.cpuPeriods === null || s.cpuThrottledPeriods === undefined || s.cpuThrottledPeriods === null) continue;
    byAttempt.set(s.attemptId, [...(byAttempt.get(s.attemptId) ?? []), s]);
  }
  let throttled = 0;
  let periods = 0;
  for (const list of byAttempt.values()) {
    if (list.length < 2) continue;
    const first = list[0]!;
    const last = list[list.length - 1]!;
    throttled += Math.max(0, (last.cpuThrottledPeriods ?? 0) - (first.cpuThrottledPeriods ?? 0));
    periods += Math.max(0, (last.cpuPeriods ?? 0) - (first.cpuPeriods ?? 0));
  }
  return periods > 0 ? Math.min(1, throttled / periods) : null;
}

function emptyEvidence(ooms: number, oomLimitMiB: number | null): RecommendEvidence {
  return {
    from: null, to: null, samples: 0, tasks: 0,
    cpu: { p50: null, pct: null, peak: null, throttledShare: null },
    memory: { p50MiB: null, p99MiB: null, peakMiB: null, trendMiBPerHour: null, oomKills: ooms, oomLimitMiB },
    perTask: [],
  };
}

function groupByIndex(samples: readonly TaskSample[]): Map<number, TaskSample[]> {
  const byIndex = new Map<number, TaskSample[]>();
  for (const s of samples) byIndex.set(s.index, [...(byIndex.get(s.index) ?? []), s]);
  return byIndex;
}

/** One task's memory trend (samples oldest first): growing when the fitted line rose by more than a
 * tenth of the peak over its span and still rises in the newer half (a start-up ramp, then flat, is no
 * leak); then projected one more span ahead at the newer half's rate. */
function trendOf(samples: readonly TaskSample[]): { peakMiB: number; perHour: number | null; growing: boolean; rate: number; projectedMiB: number; spanMs: number } {
  const mem = samples.map(memoryMiBOf);
  const peakMiB = Math.max(...mem);
  const from = samples[0]!.at;
  const spanMs = samples[samples.length - 1]!.at - from;
  const spanHours = spanMs / 3_600_000;
  const points = samples.map((s, i) => [(s.at - from) / 3_600_000, mem[i]!] as const);
  const perHour = slope(points);
  const recent = slope(points.filter(([x]) => x >= spanHours / 2));
  const growing = perHour !== null && perHour > 0 && perHour * spanHours > 0.1 * peakMiB && recent !== null && recent * (spanHours / 2) > 0.05 * peakMiB;
  const rate = growing ? recent : 0;
  return { peakMiB, perHour, growing, rate, projectedMiB: peakMiB + rate * spanHours, spanMs };
}

/** Each task's percentiles and peaks, by index. */
function perTask(samples: readonly TaskSample[], p: number): TaskEvidence[] {
  return [...groupByIndex(samples).entries()].sort(([a], [b]) => a - b).map(([index, list]) => {
    const cores = list.flatMap((s) => (s.cpuCores === null ? [] : [s.cpuCores]));
    const mem = list.map(memoryMiBOf);
    return {
      index, samples: list.length,
      cpuP50: percentile(cores, 0.5), cpuPct: percentile(cores, p), cpuPeak: cores.length > 0 ? Math.max(...cores) : null,
      memoryP50MiB: round(percentile(mem, 0.5) ?? 0, 1), memoryP99MiB: round(percentile(mem, 0.99) ?? 0, 1), memoryPeakMiB: round(Math.max(...mem), 1),
    };
  });
}

/** The recommended resources of one job, with the evidence and the reason for each change. */
export function recommend(input: RecommendInput): Omit<Recommendation, "adapt"> {
  const { current, policy, now } = input;
  const since = now - policy.windowMs;
  const samples = input.samples.filter((s) => s.at >= since && s.at <= now).sort((a, b) => a.at - b.at);
  const tasks = new Set(samples.map((s) => s.index)).size;
  const ooms = input.ooms.filter((o) => o.at >= since);
  const oomLimitMiB = ooms.length > 0 ? Math.max(...ooms.map((o) => o.limitMiB)) : null;
  const base = { job: input.job, version: input.version, current: { ...current }, policy: { ...policy } };
  if (samples.length < policy.minSamples) {
    const have = samples.length === 0 ? "no usage samples" : `${samples.length} usage sample${samples.length === 1 ? "" : "s"}`;
    return {
      ...base, recommended: null, changes: [], evidence: { ...emptyEvidence(ooms.length, oomLimitMiB), samples: samples.length, tasks, perTask: perTask(samples, policy.percentile) },
      reason: `too little history: ${have} in the last ${spanText(policy.windowMs)}; a recommendation needs at least ${policy.minSamples} (one per task per minute of running)`,
    };
  }
  const headroom = 1 + policy.headroom;
  const changes: RecommendChange[] = [];

  // Memory: the peak, projected forward when it grows, with headroom; never below an OOM-killed limit.
  const mem = samples.map(memoryMiBOf);
  const peakMiB = Math.max(...mem);
  const from = samples[0]!.at;
  const to = samples[samples.length - 1]!.at;
  // Each task's trend on its own: tasks pooled would read a replica started later with more memory as growth.
  const trends = [...groupByIndex(samples).values()].map(trendOf);
  const perHour = trends.reduce<number | null>((m, tr) => (tr.perHour === null ? m : Math.max(m ?? -Infinity, tr.perHour)), null);
  const top = trends.reduce((a, b) => (b.projectedMiB > a.projectedMiB ? b : a));
  const projectedMiB = Math.max(peakMiB, top.projectedMiB);
  let memoryMiB = roundMemoryMiB(projectedMiB * headroom);
  let memWhy = top.growing && top.projectedMiB > peakMiB
    ? `growing ${round(top.rate, 1)} MiB/h: peak ${round(top.peakMiB, 1)} MiB projected to ${round(projectedMiB, 1)} MiB over another ${spanText(top.spanMs)}, + ${pct(policy.headroom)} headroom`
    : `peak ${round(peakMiB, 1)} MiB over ${samples.length} samples + ${pct(policy.headroom)} headroom`;
  if (oomLimitMiB !== null) {
    const floor = roundMemoryMiB(oomLimitMiB * headroom);
    if (floor > memoryMiB) {
      memoryMiB = floor;
      memWhy = `OOM-killed ${ooms.length} time${ooms.length === 1 ? "" : "s"} with a limit of ${oomLimitMiB} MiB: that limit + ${pct(policy.headroom)}, never less`;
    }
  }
  if (memoryMiB !== current.memoryMiB) changes.push({ field: "memoryMiB", from: current.memoryMiB, to: memoryMiB, why: memWhy });

  // CPU: the percentile with headroom; held back by the limit, at least the limit with headroom.
  const cores = samples.flatMap((s) => (s.cpuCores === null ? [] : [s.cpuCores]));
  const cpuPct = percentile(cores, policy.percentile);
  const share = throttledShare(samples);
  let cpu = current.cpu;
  if (cpuPct !== null) {
    cpu = roundCpu(cpuPct * headroom);
    let cpuWhy = `p${round(policy.percentile * 100, 1)} ${round(cpuPct)} cores over ${cores.length} samples + ${pct(policy.headroom)} headroom`;
    if (share !== null && share > ThrottledShare) {
      // The demand above the limit cannot be seen: ask for the limit plus the throttled share (at
      // most twice the limit a step) and headroom; the next recommendation raises it again if needed.
      const raised = roundCpu(current.cpu * (1 + share) * headroom);
      if (raised >= cpu) {
        cpu = raised;
        cpuWhy = `throttled in ${pct(share)} of CPU periods at ${current.cpu} cores: the limit, not the demand, capped the usage; ${pct(share)} more + ${pct(policy.headroom)} headroom`;
      }
    }
    if (cpu !== current.cpu) changes.push({ field: "cpu", from: current.cpu, to: cpu, why: cpuWhy });
  }

  const evidence: RecommendEvidence = {
    from, to, samples: samples.length, tasks,
    cpu: { p50: percentile(cores, 0.5), pct: cpuPct, peak: cores.length > 0 ? Math.max(...cores) : null, throttledShare: share === null ? null : round(share) },
    memory: {
      p50MiB: round(percentile(mem, 0.5) ?? 0, 1), p99MiB: round(percentile(mem, 0.99) ?? 0, 1), peakMiB: round(peakMiB, 1),
      trendMiBPerHour: perHour === null ? null : round(perHour, 1), oomKills: ooms.length, oomLimitMiB,
    },
    perTask: perTask(samples, policy.percentile),
  };
  return { ...base, recommended: { cpu, memoryMiB, diskMiB: current.diskMiB }, reason: null, changes, evidence };
}
