// The application's approval (spec `disruption`, Twine's TaskControl) as one gate for every voluntary
// cause that stops a serving task: a drain or a window's move (drain.ts), a rollout's replacement of a
// task or a rolling restart (decide.ts, for the rollout's phases), a metric health action
// (metric-actions.ts via decide.ts). A task that does not serve costs nothing to stop and is never
// held. The decision lists what it held (`JobDecision.held`), and the leader's ApprovalAsker
// (../approvals.ts) asks the application about exactly those. Pure.

import type { Approval, JobInput } from "./types.ts";

/** How often a task held by a "not yet" (or a timeout) is asked again (the ApprovalAsker's retry). */
export const ApprovalRetryMs = 1000;

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

/** "12:00:05 UTC" for epoch ms: a stable time for a report (a running "5s ago" would rewrite it). */
function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/** What a drain or window report says of a task held for its application's approval: the last answer
 * to `cause` (the application's "not yet" and reason, or why no answer came), and since when the same
 * answer has come; or that it is being asked. */
export function approvalDetail(index: number, a: Approval | undefined, policy: { approve: string }, cause: DisruptionCause): string {
  if (!a || (a.cause ?? "drain") !== cause) return `task ${index}: asking ${policy.approve}, no answer yet`;
  const since = `since ${clock(a.since ?? a.at)}, asked every ${ApprovalRetryMs / 1000}s`;
  if (a.answered === false) return `task ${index}: ${a.reason} (${since})`;
  return `task ${index}: the application says not yet: ${JSON.stringify(a.reason)} (its answer ${since})`;
}
