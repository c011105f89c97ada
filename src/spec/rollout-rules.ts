// The rules of a `rollout` part of a spec, shared by the check of what users write (rollout-input.ts)
// and the strict check of the compiled spec the server receives (canonical.ts). Pure.
import { RolloutDomains } from "../model/index.ts";
import type { RolloutPhaseSpec } from "../model/index.ts";

const sharePattern = /^(\d+(?:\.\d+)?)%$/;
const phaseWords: readonly string[] = [...RolloutDomains, "all"];

/** The percentage of `"10%"`, or null when `v` is not a share. */
export function shareOf(v: unknown): number | null {
  if (typeof v !== "string") return null;
  const m = sharePattern.exec(v);
  return m ? Number(m[1]) : null;
}

/** Why `v` is not a phase (`1`, `"10%"`, `"rack"`, `"cluster"`, `"datacenter"`, `"all"`), or null. */
export function phaseProblem(v: unknown): string | null {
  if (typeof v === "number") {
    return Number.isInteger(v) && v >= 1 && v <= 10_000 ? null : `a phase's task count must be a whole number from 1 to 10000, got ${v}`;
  }
  if (typeof v !== "string") return 'expected a phase: a task count, a share such as "10%", "rack", "cluster", "datacenter" or "all"';
  const share = shareOf(v);
  if (share !== null) return share > 0 && share <= 100 ? null : `a phase of ${v} moves no task: a share must be above 0% and at most 100%`;
  if (phaseWords.includes(v)) return null;
  return `unknown phase "${v}": expected a task count, a share such as "10%", a failure domain ("rack", "cluster", "datacenter") or "all"`;
}

/** Problems of the order of a phase list: each must take the rollout further than the one before
 * (counts and shares grow), and "all" can only come last. Index and message; entries that are no
 * phase at all are phaseProblem's to report, and skipped here. */
export function phaseOrderProblems(phases: readonly RolloutPhaseSpec[]): { index: number; message: string }[] {
  const out: { index: number; message: string }[] = [];
  let lastCount = 0;
  let lastShare = 0;
  const levels: readonly string[] = RolloutDomains;
  let lastLevel = -1;
  phases.forEach((p, index) => {
    if (phaseProblem(p) !== null) return;
    if (index > 0 && phases[index - 1] === "all") out.push({ index, message: 'no phase can follow "all"' });
    if (typeof p === "number") {
      if (p <= lastCount) out.push({ index, message: `phases grow: ${p} tasks after ${lastCount} moves none more` });
      lastCount = p;
      return;
    }
    const share = shareOf(p);
    if (share !== null) {
      if (share <= lastShare) out.push({ index, message: `phases grow: ${p} after ${lastShare}% moves none more` });
      lastShare = share;
      return;
    }
    const level = levels.indexOf(p);
    if (level >= 0) {
      if (level <= lastLevel) out.push({ index, message: `phases grow: "${p}" after "${levels[lastLevel] ?? ""}" moves none more` });
      lastLevel = level;
    }
  });
  return out;
}

/** Why `v` is not a budget (a whole count of at least `min`, or a share such as "10%"), or null. */
export function taskCountProblem(v: unknown, min: 0 | 1): string | null {
  if (typeof v === "number") {
    return Number.isInteger(v) && v >= min && v <= 10_000 ? null : `expected a whole number of tasks from ${min} to 10000, got ${v}`;
  }
  const share = shareOf(v);
  if (share === null) return `expected a number of tasks or a share such as "10%"`;
  return share >= min && share <= 100 ? null : `a share must be ${min === 1 ? "above 0%" : "at least 0%"} and at most 100%, got ${String(v)}`;
}

/** Why a disruption budget of 0 cannot work with this surge (no rollout could replace a task), or null. */
export function zeroBudgetProblem(maxUnavailable: unknown, maxSurge: unknown): string | null {
  const zero = (v: unknown): boolean => v === 0 || (typeof v === "string" && shareOf(v) === 0);
  return zero(maxUnavailable) && zero(maxSurge) ? "a disruption budget of 0 with maxSurge 0 lets no rollout replace a task: set maxSurge to at least 1" : null;
}

/** Why a bake cannot fit its deadline, or null. */
export function bakeProblem(bakeMs: number, deadlineMs: number): string | null {
  return bakeMs > deadlineMs ? `the bake (${bakeMs}ms) is longer than the phase deadline (${deadlineMs}ms): no phase could ever pass` : null;
}
