// The rollout controller, one step at a time: given a live Rollout and what its tasks do now, the
// Rollout as it should be (a phase started, baked, passed or failed; the rollout succeeded), and
// whether a failure rolls back. Pure, so every rule is a table case (rollout-step.test.ts); the
// reconcile loop (loop.ts) stores its answer and the lifecycle follows the gate (gateOf).
//
//   running --phase healthy for bake--> next phase ... --last phase passed--> succeeded
//      |  \--a new task restarted, or the deadline passed--> failed (onFailure "rollback": a new
//      |       version with the last good spec) or paused (onFailure "pause", failure set)
//      \--tiffin rollout pause--> paused --resume--> running (a failed phase starts again)

import { isLiveRollout } from "../../model/index.ts";
import type { CheckResult, Rollout, RolloutPhase } from "../../model/index.ts";
import { formatDuration } from "../../spec/api.ts";
import type { RolloutGate } from "./rollout.ts";
import { surgeBudget } from "../disruption.ts";
import type { PhaseJudgement } from "./rollout-judge.ts";

/** What the controller knows of one task of the rollout's job. */
export interface StepTask {
  index: number;
  /** Its current attempt is of the rollout (its version, started since the rollout began for a restart). */
  isNew: boolean;
  /** It serves now. */
  ready: boolean;
  /** Attempts of the rollout that ended by themselves (crash, failed start, health action), and parking. */
  newEnds: number;
  /** Attempts of older versions that ended by themselves since the current phase started. */
  oldEnds: number;
}

/** The step's answer: the rollout as it should be now (the very object when nothing changed), and
 * whether to roll back (a new version with the spec of `rollout.from`). */
export interface StepResult {
  rollout: Rollout;
  rollback: boolean;
}

// Sets of reachedTasks by rollout record and phase: every pass of a live rollout asks for them two
// or three times (10,000 indexes each), and a record is a new object whenever it changes.
const reachedCache = new WeakMap<Rollout, Map<number, ReadonlySet<number>>>();

/** The task indexes phases 0..upTo reach (the same set for the same record: do not change it). */
export function reachedTasks(r: Rollout, upTo = r.phase): ReadonlySet<number> {
  let byPhase = reachedCache.get(r);
  if (!byPhase) reachedCache.set(r, (byPhase = new Map()));
  let out = byPhase.get(upTo);
  if (!out) {
    const set = new Set<number>();
    r.phases.slice(0, upTo + 1).forEach((p) => p.tasks.forEach((i) => set.add(i)));
    byPhase.set(upTo, (out = set));
  }
  return out;
}

/** How far the lifecycle may take the job's tasks under this rollout: a running rollout admits the
 * phases reached so far; a paused or failed one admits none; an ended one every task. */
export function gateOf(r: Rollout | null, budget: number): RolloutGate {
  if (r === null || r.state === "succeeded" || r.state === "superseded") return { budget, admitted: () => true };
  if (r.state !== "running") return { budget: r.maxUnavailable, admitted: () => false };
  const reached = reachedTasks(r);
  const planned = reachedTasks(r, r.phases.length - 1);
  // Slots no phase planned (replicas added since the rollout began) have no old version to keep.
  return { budget: r.maxUnavailable, admitted: (i) => reached.has(i) || !planned.has(i), surge: surgeBudget(planned.size, r.policy.maxSurge) };
}

/** The safety checks of the tasks `reached` (the phase so far) against the others. */
export function phaseChecks(tasks: readonly StepTask[], reached: ReadonlySet<number>, baked: boolean): CheckResult[] {
  const mine = tasks.filter((t) => reached.has(t.index));
  const others = tasks.filter((t) => !reached.has(t.index) && !t.isNew);
  const healthy = mine.filter((t) => t.isNew && t.ready).length;
  const restarts = mine.reduce((n, t) => n + t.newEnds, 0);
  const oldRestarts = others.reduce((n, t) => n + t.oldEnds, 0);
  const health: CheckResult = {
    name: "health",
    verdict: restarts > 0 ? "fail" : healthy === reached.size && baked ? "pass" : "inconclusive",
    figures: { tasks: reached.size, healthy, restarts },
    detail: restarts > 0 ? `${restarts} end${restarts === 1 ? "" : "s"} of new tasks by themselves` : `${healthy} of ${reached.size} new tasks healthy${baked ? ", none restarted through the bake" : ""}`,
  };
  const newRate = mine.length === 0 ? 0 : restarts / mine.length;
  const oldRate = others.length === 0 ? 0 : oldRestarts / others.length;
  let verdict: CheckResult["verdict"];
  if (mine.length === 0 || (others.length === 0 && restarts === 0) || (!baked && restarts === 0)) verdict = "inconclusive";
  else verdict = newRate > oldRate ? "fail" : "pass";
  const rates: CheckResult = {
    name: "restarts",
    verdict,
    figures: { newRestarts: restarts, newTasks: mine.length, oldRestarts, oldTasks: others.length },
    detail: `new ${restarts}/${mine.length} tasks, old ${oldRestarts}/${others.length} tasks${others.length === 0 ? " (no old tasks to compare with)" : ""}`,
  };
  return [health, rates];
}

/** The judge's verdict on the current phase's bake, given when the bake began (rollout-judge.ts
 * judgeBake); null: nothing to judge (no checks in the policy, or the bake has not begun). */
export type BakeJudge = (healthyAt: number | null, reached: ReadonlySet<number>) => PhaseJudgement | null;

/** One step of a live rollout at `now`. With `judge`, a phase passes only once its bake is done and
 * the judge says pass; a fail fails it at once; inconclusive waits until the deadline, then
 * `policy.inconclusive` decides ("fail" by default: too little evidence never passes silently). */
export function stepRollout(r: Rollout, tasks: readonly StepTask[], now: number, judge?: BakeJudge): StepResult {
  if (!isLiveRollout(r) || r.state === "paused") return { rollout: r, rollback: false };
  const cur = r.phases[r.phase];
  if (!cur) return { rollout: { ...r, state: "succeeded", endedAt: now, updatedAt: now, why: "every task runs the new version" }, rollback: false };
  const reached = reachedTasks(r);
  const byIndex = new Map(tasks.map((t) => [t.index, t]));
  const healthy = [...reached].every((i) => byIndex.get(i)?.isNew === true && byIndex.get(i)?.ready === true);
  const startedAt = cur.startedAt ?? now;
  const healthyAt = healthy ? (cur.healthyAt ?? now) : null;
  const baked = healthy && healthyAt !== null && (r.promote || now - healthyAt >= r.policy.bakeMs);
  const judged = judge?.(healthyAt, reached) ?? null;
  const checks = [...phaseChecks(tasks, reached, baked), ...(judged?.checks ?? [])];
  const phase: RolloutPhase = { ...cur, startedAt, healthyAt, checks };
  const failing = checks.find((c) => c.name === "health" && c.verdict === "fail") ?? (judged?.overall === "fail" ? judged.checks.find((c) => c.verdict === "fail") : undefined);
  // Baked, but the judge lacks evidence: wait (within the deadline). A promotion skips the judge too.
  const waiting = baked && !r.promote && judged !== null && judged.overall === "inconclusive";
  // A new leader re-collecting the bake's readings (rollout-judge.ts): the time lost moves the deadline.
  const lostMs = judged?.recollectFrom !== undefined && healthyAt !== null ? Math.max(0, judged.recollectFrom - healthyAt) : 0;
  const deadline = now - startedAt >= r.policy.deadlineMs + lostMs;
  const inconclusive = r.policy.inconclusive ?? "fail";
  const late = (!baked || waiting) && deadline && !(waiting && inconclusive === "pass");
  if (failing || late) {
    const health = checks[0];
    const open = checks.filter((c) => c.verdict === "inconclusive").map((c) => `${c.name}: ${c.detail}`).join("; ");
    const why = failing
      ? `phase ${r.phase + 1} (${String(cur.spec)}) failed its ${failing.name} check: ${failing.detail}`
      : waiting
        ? `phase ${r.phase + 1} (${String(cur.spec)}) was still inconclusive at its deadline of ${formatDuration(r.policy.deadlineMs)} (inconclusive: "${inconclusive}"): ${open}`
        : `phase ${r.phase + 1} (${String(cur.spec)}) missed its deadline of ${formatDuration(r.policy.deadlineMs)}: ${health?.detail ?? ""}`;
    const failedChecks = late && !failing && !waiting ? checks.map((c) => (c.name === "health" ? { ...c, verdict: "fail" as const } : c)) : checks;
    const rollback = r.policy.onFailure === "rollback" && r.from !== null && !(waiting && !failing && inconclusive === "pause");
    const phases = r.phases.map((p, i) => (i === r.phase ? { ...phase, checks: failedChecks, outcome: "failed" as const, endedAt: now } : p));
    return {
      rollout: { ...r, phases, state: rollback ? "failed" : "paused", failure: { phase: r.phase, check: failing ? failing.name : waiting ? "inconclusive" : "health" }, why, updatedAt: now, endedAt: rollback ? now : null, promote: false },
      rollback,
    };
  }
  if (waiting && !deadline) {
    if (phase.startedAt === cur.startedAt && phase.healthyAt === cur.healthyAt && JSON.stringify(checks) === JSON.stringify(cur.checks)) return { rollout: r, rollback: false };
    return { rollout: { ...r, phases: r.phases.map((p, i) => (i === r.phase ? phase : p)), updatedAt: now }, rollback: false };
  }
  if (baked) {
    const passed: RolloutPhase = { ...phase, outcome: r.promote ? "promoted" : "passed", endedAt: now };
    const phases = r.phases.map((p, i) => (i === r.phase ? passed : i === r.phase + 1 ? { ...p, startedAt: now } : p));
    const last = r.phase + 1 >= r.phases.length;
    return {
      rollout: last
        ? { ...r, phases, state: "succeeded", endedAt: now, updatedAt: now, promote: false, why: `all ${reached.size} tasks run version ${r.version}` }
        : { ...r, phases, phase: r.phase + 1, updatedAt: now, promote: false },
      rollback: false,
    };
  }
  if (phase.startedAt === cur.startedAt && phase.healthyAt === cur.healthyAt && JSON.stringify(checks) === JSON.stringify(cur.checks)) return { rollout: r, rollback: false };
  return { rollout: { ...r, phases: r.phases.map((p, i) => (i === r.phase ? phase : p)), updatedAt: now }, rollback: false };
}
