// The index the server keeps in memory, mirrored from the store: hosts, the tasks on them, and the
// caches that make planning cheap. Planning is pure with respect to it: plan() leaves it unchanged,
// commit() records a plan the server decided to apply.

import type { JobSpec, Resources } from "../model/index.ts";
import type { Plan, PlanRequest, SchedHost, SchedTask } from "./types.ts";
import { naivePlanState } from "./naive.ts";
import { fastPlan } from "./plan.ts";
import { PoolRegistry } from "./pools.ts";
import { ClusterState, STRIDE, UCPU, UDISK, UMEM } from "./state.ts";
import type { TaskRec } from "./state.ts";

/** Resources booked on a host by the tasks in the index. */
export type Usage = Resources;

/** Options of a ClusterIndex. */
export interface ClusterIndexOptions {
  /** MiB each task books on its host beyond its own memory (the server passes the model's
   * TaskOverheadMiB: the helper's). @default 0 */
  taskOverheadMiB?: number;
}

/** Hosts and placed tasks, kept incrementally, answering placement plans. */
export class ClusterIndex {
  readonly #st: ClusterState;
  readonly #pools = new PoolRegistry();

  /** Builds the index; tasks on hosts it does not know are left out (see `assign`). */
  constructor(hosts: readonly SchedHost[] = [], tasks: readonly SchedTask[] = [], opts: ClusterIndexOptions = {}) {
    this.#st = new ClusterState(opts.taskOverheadMiB ?? 0);
    for (const h of hosts) this.upsertHost(h);
    for (const t of tasks) this.assign(t);
  }

  /** Adds a host or replaces its record (capacity, status, labels, even its domain; its tasks stay). */
  upsertHost(h: SchedHost): void {
    this.#st.upsert(h);
  }

  /** Removes a host and forgets the tasks on it, returning them so the caller can place them again. */
  removeHost(id: string): SchedTask[] {
    return this.#st.remove(id).map((t) => toTask(t, id));
  }

  /** Records a task on its host, replacing an earlier record of the same job/index. False when the host is unknown. */
  assign(task: SchedTask): boolean {
    const slot = this.#st.slotOf.get(task.hostId);
    if (slot === undefined) return false;
    this.#st.assign({
      job: task.job,
      index: task.index,
      slot,
      cpu: task.cpu,
      memoryMiB: task.memoryMiB,
      diskMiB: task.diskMiB,
      antiAffinity: task.antiAffinity,
    });
    return true;
  }

  /** Forgets a task; false when it was not in the index. */
  release(job: string, index: number): boolean {
    return this.#st.release(job, index);
  }

  /**
   * Places the requested tasks of one job, all in one plan: tasks placed earlier in the plan count
   * for the spread, resources and anti-affinity of later ones. Does not change the index. Tasks
   * of the request that are placed now are treated as moving: they do not count where they are.
   */
  plan(req: PlanRequest): Plan {
    return fastPlan(this.#st, this.#pools, req);
  }

  /** The same plan as `plan`, found by scoring every host for every task (baseline and tests). */
  naivePlan(req: PlanRequest): Plan {
    return naivePlanState(this.#st, this.#pools, req);
  }

  /** Records a plan's placements as tasks of `spec` (the plan of `spec.name`). */
  commit(plan: Plan, spec: JobSpec): void {
    if (plan.job !== spec.name) throw new Error(`commit: plan of job ${plan.job} with the spec of ${spec.name}`);
    const r = spec.resources;
    for (const p of plan.placements) {
      this.assign({ job: plan.job, index: p.index, hostId: p.hostId, cpu: r.cpu, memoryMiB: r.memoryMiB, diskMiB: r.diskMiB, antiAffinity: spec.antiAffinity });
    }
  }

  /** Resources booked on a host (memory with each task's overhead), or null when the host is unknown. */
  used(hostId: string): Usage | null {
    const slot = this.#st.slotOf.get(hostId);
    if (slot === undefined) return null;
    return { cpu: this.#st.hv[slot * STRIDE + UCPU]!, memoryMiB: this.#st.hv[slot * STRIDE + UMEM]!, diskMiB: this.#st.hv[slot * STRIDE + UDISK]! };
  }

  /** The tasks on a host (empty when the host is unknown). */
  tasksOn(hostId: string): SchedTask[] {
    const slot = this.#st.slotOf.get(hostId);
    if (slot === undefined) return [];
    return this.#st.tasksOn(slot).map((t) => toTask(t, hostId));
  }

  /** The host of a task, or null when it is not placed. */
  hostOf(job: string, index: number): string | null {
    const t = this.#st.jobs.get(job)?.tasks.get(index);
    return t ? this.#st.hosts[t.slot]!.id : null;
  }

  /** A host's record, or null. */
  host(id: string): SchedHost | null {
    const slot = this.#st.slotOf.get(id);
    return slot === undefined ? null : this.#st.hosts[slot]!;
  }

  /** How many hosts the index holds. */
  get hostCount(): number {
    return this.#st.liveHosts;
  }

  /** The placed tasks of a job, by index. */
  tasksOf(job: string): SchedTask[] {
    const j = this.#st.jobs.get(job);
    if (!j) return [];
    return [...j.tasks.values()].sort((a, b) => a.index - b.index).map((t) => toTask(t, this.#st.hosts[t.slot]!.id));
  }
}

/** Plans with the naive loop (see ClusterIndex.naivePlan). */
export function naivePlan(index: ClusterIndex, req: PlanRequest): Plan {
  return index.naivePlan(req);
}

function toTask(t: TaskRec, hostId: string): SchedTask {
  return { job: t.job, index: t.index, hostId, cpu: t.cpu, memoryMiB: t.memoryMiB, diskMiB: t.diskMiB, antiAffinity: t.antiAffinity };
}
