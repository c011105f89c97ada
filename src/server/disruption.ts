// The disruption budget: how many of a job's tasks may be down at once for a voluntary cause. One
// module for every cause (a version rollout, a rolling restart, a metric health action, a drain, and
// later maintenance and remediation), so two causes acting together still stay within one budget. The
// job's spec sets it (`rollout.maxUnavailable`); without one, 10% of the replicas, at least one. Pure.

import type { JobSpec, TaskCount } from "../model/index.ts";

/** How many tasks may be down at once when a job does not say: a tenth of its replicas (at least one). */
export const DefaultMaxUnavailableShare = 0.1;

/** A job's budget setting: a task count, or a share of its replicas as `"10%"`. */
export type MaxUnavailable = TaskCount;

/** The number of tasks of a job of `replicas` tasks that may be down at once: at least one, unless the
 * job sets exactly 0 (or "0%"): then none (drains and windows wait, rollouts only surge). */
export function disruptionBudget(replicas: number, setting?: MaxUnavailable): number {
  if (setting === undefined) return Math.max(1, Math.floor(replicas * DefaultMaxUnavailableShare));
  if (setting === 0 || (typeof setting === "string" && Number(setting.slice(0, -1)) === 0)) return 0;
  if (typeof setting === "number") return Math.max(1, Math.floor(setting));
  const share = Number(setting.slice(0, -1)) / 100;
  return Math.max(1, Math.floor(replicas * share));
}

/** The budget of a job version: its spec's `rollout.maxUnavailable`, or the default. */
export function jobDisruptionBudget(spec: Pick<JobSpec, "replicas" | "rollout">): number {
  return disruptionBudget(spec.replicas, spec.rollout?.maxUnavailable);
}

/** How many more tasks may be disrupted now, when `down` of the job's tasks already do not serve
 * (for whatever cause, voluntary or not): never negative. */
export function disruptionsLeft(replicas: number, down: number, setting?: MaxUnavailable): number {
  return Math.max(0, disruptionBudget(replicas, setting) - down);
}

/** How many extra tasks of a job of `replicas` tasks may run while replacing (`rollout.maxSurge`): a
 * count, or a share of the replicas rounded down; 0 when unset. */
export function surgeBudget(replicas: number, setting?: TaskCount): number {
  if (setting === undefined) return 0;
  if (typeof setting === "number") return Math.max(0, Math.floor(setting));
  return Math.max(0, Math.floor((replicas * Number(setting.slice(0, -1))) / 100));
}
