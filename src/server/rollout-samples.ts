// What the rollout judge reads beyond the per-task signal series: the raw readings of the named
// metrics a job's rollout checks compare (counters, gauges, histogram buckets; agents report the
// latest with each metrics summary, model/task-metrics.ts `named`) and each task's cumulative cgroup
// CPU seconds (the efficiency check), kept in memory on the server that receives the reports, per
// task and attempt, the newest `keep` readings of each. Like the open block of TaskMetricsHistory,
// what a server holds is its own: a new leader starts judging from the reports it receives.

import type { NamedReading, ResourceUsage } from "../model/index.ts";
import type { RawMetricPoint } from "../model/judge/index.ts";

/** Readings kept per task and metric (at one report a second, 15 minutes). */
export const DefaultKeep = 900;

interface TaskReadings {
  attemptId: string;
  named: Map<string, RawMetricPoint[]>;
  cpu: { at: number; cpuSeconds: number }[];
}

/** Named metric readings and CPU seconds per task, for the rollout judge. */
export class RolloutSamples {
  readonly #keep: number;
  readonly #tasks = new Map<string, TaskReadings>();

  constructor(opts: { keep?: number } = {}) {
    this.#keep = opts.keep ?? DefaultKeep;
  }

  /** Records what one report says of a task's attempt: its named readings and its latest cgroup sample.
   * A new attempt of the task starts afresh (a restart resets its counters and its CPU). */
  add(job: string, index: number, attemptId: string, named: readonly NamedReading[], usage: ResourceUsage | null): void {
    const key = `${job}/${index}`;
    let t = this.#tasks.get(key);
    if (!t || t.attemptId !== attemptId) this.#tasks.set(key, (t = { attemptId, named: new Map(), cpu: [] }));
    for (const r of named) {
      let list = t.named.get(r.name);
      if (!list) t.named.set(r.name, (list = []));
      if ((list.at(-1)?.at ?? -1) >= r.at) continue; // the same scrape, sent again with the next report
      list.push({ at: r.at, value: r.value, buckets: r.buckets === null ? null : r.buckets.map(([le, n]) => [le ?? Infinity, n] as [number, number]) });
      if (list.length > this.#keep) list.splice(0, list.length - this.#keep);
    }
    if (usage && (t.cpu.at(-1)?.at ?? -1) < usage.at) {
      t.cpu.push({ at: usage.at, cpuSeconds: usage.cpuSeconds });
      if (t.cpu.length > this.#keep) t.cpu.splice(0, t.cpu.length - this.#keep);
    }
  }

  /** A task's readings of `name`, oldest first. */
  namedOf(job: string, index: number, name: string): readonly RawMetricPoint[] {
    return this.#tasks.get(`${job}/${index}`)?.named.get(name) ?? [];
  }

  /** A task's cumulative CPU seconds, oldest first. */
  cpuOf(job: string, index: number): readonly { at: number; cpuSeconds: number }[] {
    return this.#tasks.get(`${job}/${index}`)?.cpu ?? [];
  }

  /** Forgets tasks not in `live` (job/index keys), e.g. removed jobs' and scaled-down tasks'. */
  retain(live: (job: string, index: number) => boolean): void {
    for (const key of this.#tasks.keys()) {
      const slash = key.lastIndexOf("/");
      if (!live(key.slice(0, slash), Number(key.slice(slash + 1)))) this.#tasks.delete(key);
    }
  }
}
