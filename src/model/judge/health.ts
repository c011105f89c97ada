// The health check of a bake: every new task healthy, none restarted. Not statistics: one restart or
// one unhealthy task is a fail; a task whose health is not known yet (no report, still starting) is
// inconclusive, never a pass.
import type { Verdict, VerdictReason } from "./verdict.ts";

/** What the controller knows of one new task at the time of judging. */
export interface NewTaskHealth {
  index: number;
  /** Healthy now: true, false, or null while unknown (starting, no report yet). */
  healthy: boolean | null;
  /** Restarts (new attempts of the task on the new version) since the phase began. */
  restarts: number;
}

/** The health verdict with the tasks behind it. */
export interface HealthVerdict {
  verdict: Verdict;
  reason: VerdictReason;
  tasks: number;
  unhealthy: number[];
  restarted: number[];
  unknown: number[];
  summary: string;
}

/** The health verdict of a phase's new tasks. */
export function judgeHealth(tasks: readonly NewTaskHealth[]): HealthVerdict {
  const unhealthy = tasks.filter((t) => t.healthy === false).map((t) => t.index);
  const restarted = tasks.filter((t) => t.restarts > 0).map((t) => t.index);
  const unknown = tasks.filter((t) => t.healthy === null && t.restarts === 0).map((t) => t.index);
  const base = { tasks: tasks.length, unhealthy, restarted, unknown };
  const list = (xs: number[]): string => (xs.length > 5 ? `${xs.slice(0, 5).join(", ")} and ${xs.length - 5} more` : xs.join(", "));
  if (restarted.length > 0 || unhealthy.length > 0) {
    const parts = [restarted.length > 0 ? `restarted: ${list(restarted)}` : "", unhealthy.length > 0 ? `unhealthy: ${list(unhealthy)}` : ""].filter(Boolean);
    return { ...base, verdict: "fail", reason: "worse", summary: `health: ${parts.join("; ")} (of ${tasks.length} new tasks)` };
  }
  if (tasks.length === 0 || unknown.length > 0) return { ...base, verdict: "inconclusive", reason: "too-few-samples", summary: tasks.length === 0 ? "health: no new task yet" : `health: not known yet for ${list(unknown)}` };
  return { ...base, verdict: "pass", reason: "within-tolerance", summary: `health: all ${tasks.length} new tasks healthy, none restarted` };
}
