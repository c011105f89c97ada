// Starting rollouts, and what the controller reads of a job's tasks. Pure functions over the plain
// data of a decision (JobInput): when a new version needs a rollout, the last good version it leaves,
// the Rollout record it starts with, the rollback's record, and each task as the step sees it.

import { DefaultRolloutPolicy, isTerminal } from "../../model/index.ts";
import type { Attempt, FailureDomain, JobSpec, Rollout, RolloutCause, RolloutPolicy, Task } from "../../model/index.ts";
import { jobDisruptionBudget } from "../disruption.ts";
import { defaultPhasesOf, planPhases } from "./rollout-phases.ts";
import type { PhaseTask } from "./rollout-phases.ts";
import type { StepTask } from "./rollout-step.ts";

/** The rollout policy of a spec: its own, or the default. */
export function policyOf(spec: JobSpec): RolloutPolicy {
  return spec.rollout ?? DefaultRolloutPolicy;
}

/** What a new rollout needs to know. */
export interface RolloutStart {
  job: string;
  version: number;
  from: number | null;
  cause: RolloutCause;
  spec: JobSpec;
  /** The job's task slots below its replica count, with their hosts' domains. */
  tasks: PhaseTask[];
  now: number;
  /** Overrides of the spec's policy (a rollback: one phase, no bake). */
  policy?: RolloutPolicy;
}

/** The Rollout record a rollout starts with: phases planned over the tasks, the first one started. */
export function startRollout(s: RolloutStart): Rollout {
  const policy = s.policy ?? policyOf(s.spec);
  const planned = planPhases(policy.phases ?? defaultPhasesOf(s.spec, s.tasks), s.tasks);
  return {
    job: s.job,
    version: s.version,
    from: s.from,
    cause: s.cause,
    state: "running",
    phase: 0,
    phases: planned.map((p, i) => ({ spec: p.spec, tasks: p.tasks, startedAt: i === 0 ? s.now : null, healthyAt: null, endedAt: null, outcome: null, checks: [] })),
    policy,
    maxUnavailable: jobDisruptionBudget(s.spec),
    startedAt: s.now,
    updatedAt: s.now,
    endedAt: null,
    why: null,
    failure: null,
    rolledBackTo: null,
    promote: false,
  };
}

/** The policy of a rollback: every task at once within the same budget, no bake (faster than the
 * rollout, never faster than the budget), and a failure pauses (there is nothing older to return to). */
export function rollbackPolicy(p: RolloutPolicy): RolloutPolicy {
  return { ...p, phases: ["all"], bakeMs: 0, onFailure: "pause" };
}

/** The version most of the job's other tasks run (the last good one a failure returns to), or null. */
export function lastGoodVersion(tasks: readonly Task[], jobVersion: number): number | null {
  const count = new Map<number, number>();
  for (const t of tasks) if (t.version !== jobVersion) count.set(t.version, (count.get(t.version) ?? 0) + 1);
  let best: number | null = null;
  for (const [v, n] of count) if (best === null || n > (count.get(best) ?? 0) || (n === count.get(best) && v > best)) best = v;
  return best;
}

/** True when attempt `a` ended by itself (a crash, a failed start, a health action), not because the
 * server stopped it or its host was lost: what the safety checks count as a restart. */
export function endedByItself(a: Attempt): boolean {
  return isTerminal(a.state) && a.desired === "run" && a.endCause !== "lost" && a.endCause !== "stop";
}

/** The job's tasks as the step sees them: which run the rollout's version (for a restart, an attempt
 * started since), which serve, and how many attempts of each side ended by themselves. */
export function stepTasks(r: Rollout, tasks: readonly Task[], attempts: readonly Attempt[], replicas: TaskIndexes, ready: (a: Attempt | undefined, version: number) => boolean): StepTask[] {
  const byId = new Map(attempts.map((a) => [a.id, a]));
  const byIndex = new Map<number, Attempt[]>();
  for (const a of attempts) {
    const own = byIndex.get(a.index);
    if (own) own.push(a);
    else byIndex.set(a.index, [a]);
  }
  const phaseStart = r.phases[r.phase]?.startedAt ?? r.startedAt;
  const ofRollout = (a: Attempt): boolean => a.version === r.version && a.createdAt >= r.startedAt;
  const out: StepTask[] = [];
  for (const t of tasks) {
    if (!inJob(replicas, t.index)) continue;
    const cur = t.attemptId ? byId.get(t.attemptId) : undefined;
    const isNew = r.cause === "restart" ? cur !== undefined && ofRollout(cur) : t.version === r.version;
    // Ends since the phase started: earlier ones were judged by their own phase (and a resumed phase
    // starts afresh). One loop, no lists: this runs for every task on every pass of a live rollout.
    let newEnds = isNew && t.parked ? 1 : 0;
    let oldEnds = 0;
    for (const a of byIndex.get(t.index) ?? []) {
      if ((a.endedAt ?? 0) < phaseStart || !endedByItself(a)) continue;
      if (ofRollout(a)) newEnds++;
      else oldEnds++;
    }
    out.push({ index: t.index, isNew, ready: ready(cur, t.version), newEnds, oldEnds });
  }
  return out;
}

/** The phase plan's view of the tasks: index and the failure domain of the host each runs on. */
export function phaseTasks(tasks: readonly Task[], replicas: TaskIndexes, domainOf: (hostId: string) => FailureDomain | null): PhaseTask[] {
  const out: PhaseTask[] = [];
  for (const t of tasks) if (inJob(replicas, t.index)) out.push({ index: t.index, domain: t.hostId === null ? null : domainOf(t.hostId) });
  return out;
}

/** A job's task indexes: a replica count (0..n-1), or a set such as an every-host job's slots
 * (every-host-input.ts wantedOf). */
export type TaskIndexes = number | { has(index: number): boolean };

function inJob(w: TaskIndexes, index: number): boolean {
  return typeof w === "number" ? index < w : w.has(index);
}
