// What `tiffin plan` says about each task: kept, started, stopped or replaced, and why. Pure; the
// plan route (routes/jobs.ts) feeds it the mirror's tasks and the scheduler's answer. It asks the
// same question the reconciler asks (replaceCauses), so the plan cannot promise what apply won't do.

import type { PlanTask } from "../../api/types.ts";
import { diffJson } from "../../model/index.ts";
import type { JobSpec, Task } from "../../model/index.ts";
import { replaceCauses } from "./version-change.ts";

/** What is known of one task slot when planning `to`. */
export interface PlanTaskInput {
  index: number;
  /** The task as stored, or null for a slot that does not exist yet. */
  task: Task | null;
  /** The spec of the task's version (null when there is no task). */
  from: JobSpec | null;
  to: JobSpec;
  /** Replicas of the job now (0 for a new or removed job). */
  currentReplicas: number;
  /** Where the task would run after apply (null: nowhere fits). */
  hostAfter: string | null;
  /** An every-host job's: whether the index has a slot after apply (a matching host that takes it);
   * absent for a job with a count. */
  wanted?: boolean;
}

/** The action and its reason for one task slot (index below or above `to.replicas`). */
export function planTaskChange(inp: PlanTaskInput): PlanTask {
  const { index, task, from, to, hostAfter } = inp;
  const base = { index, hostBefore: task?.hostId ?? null, hostAfter };
  // A batch job's tasks are its runs' items, not replicas: an apply leaves a run as it is.
  if (task?.batch) return { ...base, hostAfter: task.hostId, action: "keep", reason: `item ${task.batch.item} of run ${task.batch.run}: a run keeps the version it started with` };
  if (inp.wanted === false) return { ...base, hostAfter: null, action: "stop", reason: "its host left, is draining or no longer matches the constraints" };
  if (inp.wanted === undefined && index >= to.replicas) return { ...base, hostAfter: null, action: "stop", reason: `replicas ${inp.currentReplicas} -> ${to.replicas}` };
  if (!task && inp.wanted === true) return { ...base, action: "start", reason: inp.currentReplicas === 0 ? "new job" : "a matching host without its task" };
  if (!task) return { ...base, action: "start", reason: inp.currentReplicas === 0 ? "new job" : `replicas ${inp.currentReplicas} -> ${to.replicas}` };
  if (task.parked) return { ...base, action: "start", reason: `parked (${task.parked.reason.split(";")[0]}); apply tries it again` };
  if (task.hostId === null) return { ...base, action: "start", reason: task.unplacedReason ? `not placed now (${task.unplacedReason})` : "not placed now" };
  const causes = from ? replaceCauses(from, to) : ["(unknown version)"];
  const moves = hostAfter !== null && hostAfter !== task.hostId;
  if (causes.length === 0) return { ...base, action: "keep", reason: from && diffJson(from, to).length === 0 ? "unchanged" : "keeps running: only replicas, restart or maintenance changed" };
  const why = `${causes.join(", ")} changed`;
  return { ...base, action: "replace", reason: moves ? `${why}; no room on its host, moves` : hostAfter === null ? `${why}; no host fits` : why };
}
