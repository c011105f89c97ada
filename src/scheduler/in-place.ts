// "May this task stay on its host with a new spec?": the scheduler's answer, so the reconciler's
// in-place restart and `tiffin plan` cannot disagree with placement. The host's own traits (runtime,
// capabilities, OS, kernel, labels, size) go through the very filters placement runs (a plan on a
// one-host copy); the load of the moment is checked with the task's own share given back.

import type { JobSpec, Resources } from "../model/index.ts";
import { diffJson } from "../model/index.ts";
import { ClusterIndex } from "./cluster.ts";
import type { SchedHost } from "./types.ts";

/** Resources in use on a host (cpu in cores, the rest in MiB). */
export interface InPlaceLoad extends Resources {
  /** How many tasks that is: each also books `overheadMiB` of memory. @default 0 */
  tasks?: number;
}

/** What the in-place check reads. */
export interface InPlaceQuery {
  /** The host as the scheduler sees it; `schedulable` false (down, draining): it keeps nothing new. */
  host: SchedHost | null;
  /** Resources in use on the host now, every job counted (null: none). */
  used: InPlaceLoad | null;
  /** The task's own share inside `used`, given back before the check (null: not counted there). */
  counted: InPlaceLoad | null;
  /** The spec the task ran, and the one it should run now. */
  from: JobSpec;
  to: JobSpec;
  /** Memory every task books beyond its own (the model's TaskOverheadMiB: its helper), as placement
   * books it. @default 0 */
  overheadMiB?: number;
}

const EPS = 1e-9;

/** True when the task may run `to` on its host without a new placement. */
export function fitsInPlace(q: InPlaceQuery): boolean {
  const { host, from, to } = q;
  if (!host || !host.schedulable) return false;
  // Constraints and anti-affinity depend on the rest of the job: a change of them is a new placement.
  if (diffJson([from.constraints, from.antiAffinity], [to.constraints, to.antiAffinity]).length > 0) return false;
  const oh = q.overheadMiB ?? 0;
  const alone = new ClusterIndex([host], [], { taskOverheadMiB: oh }).plan({ spec: { ...to, antiAffinity: null, spread: "none" }, indexes: [0] });
  if (alone.unplaced.length > 0) return false;
  const u = q.used ?? { cpu: 0, memoryMiB: 0, diskMiB: 0 };
  const c = q.counted ?? { cpu: 0, memoryMiB: 0, diskMiB: 0 };
  const r = to.resources;
  // Memory as placement books it: every task on the host with its overhead, the task's own share
  // (with its overhead) given back, the new size (with its overhead) added.
  const memory = u.memoryMiB + (q.used?.tasks ?? 0) * oh - (q.counted ? c.memoryMiB + oh : 0) + r.memoryMiB + oh;
  return u.cpu - c.cpu + r.cpu <= host.cores + EPS && memory <= host.memoryMiB && u.diskMiB - c.diskMiB + r.diskMiB <= host.diskMiB;
}

/**
 * A host's load once one task's booking changes: `from` (what the task booked there, null: nothing)
 * given back, `to` (what it books now, null: it left) added. A plan that keeps several tasks of a job
 * in place books each one's new size before checking the next, as the reconciler's /alloc record does
 * when the rollout moves tasks to the new version: checked against the load before the change, each
 * grown task fitted alone, and the plan kept them all where apply ran out of room.
 */
export function shiftLoad(load: InPlaceLoad | null, from: Resources | null, to: Resources | null): InPlaceLoad {
  const u = load ?? { cpu: 0, memoryMiB: 0, diskMiB: 0 };
  const f = from ?? { cpu: 0, memoryMiB: 0, diskMiB: 0 };
  const t = to ?? { cpu: 0, memoryMiB: 0, diskMiB: 0 };
  const tasks = (load?.tasks ?? 0) - (from ? 1 : 0) + (to ? 1 : 0);
  return { cpu: u.cpu - f.cpu + t.cpu, memoryMiB: u.memoryMiB - f.memoryMiB + t.memoryMiB, diskMiB: u.diskMiB - f.diskMiB + t.diskMiB, tasks };
}
