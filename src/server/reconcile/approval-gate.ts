// The application's approval (spec `disruption`, Twine's TaskControl) as one gate for every voluntary
// cause that stops a serving task: a drain or a window's move (drain.ts), a rollout's replacement of a
// task or a rolling restart (decide.ts, for the rollout's phases), a metric health action
// (metric-actions.ts via decide.ts). A task that does not serve costs nothing to stop and is never
// held. The decision lists what it held (`JobDecision.held`), and the leader's ApprovalAsker
// (../approvals.ts) asks the application about exactly those. Pure.

import type { JobInput } from "./types.ts";

/** Why a serving task would be disrupted, as the application is told (`cause` of the request). */
export type DisruptionCause = "drain" | "maintenance" | "rollout" | "restart" | "metric";

/** A disruption the decision held back for the application's approval. */
export interface HeldDisruption {
  index: number;
  cause: DisruptionCause;
}

/** Whether task `index` of the job may be disrupted now for `cause`: the job asks nothing, the task
 * does not serve, or the application said yes to that cause (ApprovalValidMs long). */
export function approved(inp: Pick<JobInput, "spec" | "approvals">, index: number, cause: DisruptionCause, serving: boolean): boolean {
  if (!inp.spec.disruption || !serving) return true;
  const a = inp.approvals?.get(index);
  return a?.ok === true && (a.cause ?? "drain") === cause;
}

/** The gate of one decision pass: `ok` answers `approved`, and records the task as held when not. */
export function approvalGate(inp: Pick<JobInput, "spec" | "approvals">): { ok: (index: number, cause: DisruptionCause, serving: boolean) => boolean; held: HeldDisruption[] } {
  const held: HeldDisruption[] = [];
  return {
    held,
    ok: (index, cause, serving) => {
      if (approved(inp, index, cause, serving)) return true;
      if (!held.some((h) => h.index === index)) held.push({ index, cause });
      return false;
    },
  };
}
