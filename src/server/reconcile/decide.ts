// The reconcile decisions for one job, as a pure function over plain data: replica counts, restarts
// with back-off, moves after failures and parking (restart-policy.ts), new versions (which version
// each task should run is the rollout controller's answer, rollout.ts; in place when only replicas and
// the like changed, version-change.ts; whether it still fits its host is the scheduler's, in-place.ts),
// lost hosts and drains. This file is the lifecycle: it brings each task to its target. Level-triggered:
// given its own output applied, it returns nothing more to do.

import { isTerminal, TaskOverheadMiB } from "../../model/index.ts";
import type { Attempt, JobSpec, Task } from "../../model/index.ts";
import { stableJson } from "../keys.ts";
import { fitsInPlace } from "../../scheduler/api.ts";
import type { InPlaceQuery } from "../../scheduler/api.ts";
import type { HostState, JobDecision, JobInput, PlacementNeed } from "./types.ts";
import { afterFailure, parkedReason } from "./restart-policy.ts";
import { replaceCauses } from "./version-change.ts";
import { rolloutTargets } from "./rollout.ts";
import type { RolloutSlot, RolloutTargets } from "./rollout.ts";
import { metricActions } from "./metric-actions.ts";
import { approvalGate } from "./approval-gate.ts";
import { gateOf } from "./rollout-step.ts";
import { disruptionBudget } from "../disruption.ts";
import { isReady } from "./ready.ts";
import { anyHostLeaving, drainAllowance, drainCandidates, leaveDue, mustLeave } from "./drain.ts";
import { endureStopFree, endureWindow } from "./maintenance.ts";

export { isReady } from "./ready.ts";
import { wantedOf } from "./every-host-input.ts";

/** An attempt running (or healthy) this long resets its task's failure count. */
export const ResetFailuresAfterMs = 10_000;
/** Attempts kept per task (newest first); older terminal ones are deleted. */
export const AttemptsKept = 10;
/** Restart delay after `failures` consecutive failures: initial * 2^(failures-1), capped. */
export function backoffMs(restart: JobSpec["restart"], failures: number): number {
  return Math.min(restart.backoffInitialMs * 2 ** Math.max(0, failures - 1), restart.backoffMaxMs);
}

/**
 * When an attempt on a down host may be declared lost: at once, or for "at most one live copy" jobs
 * once its helper has surely stopped it. The helper fences fenceMs after the agent's last ping, and
 * the agent pings until it dies: up to a heartbeat interval after its last heartbeat, or, cut off from
 * the server first, up to stopAfter (after which it stops the task itself). Then the stop grace, and
 * 1 s of margin. (Counting the fence from the last heartbeat instead left a copy running for up to a
 * heartbeat interval, or stopAfter, past the replacement's start.)
 */
export function lostAfter(spec: JobSpec, host: HostState | undefined, timing: { fenceMs: number; heartbeatMs: number }): number {
  const stopAfter = spec.disconnect.stopAfterMs;
  if (stopAfter === null || !host) return Number.NEGATIVE_INFINITY;
  return host.lastContactAt + Math.max(timing.heartbeatMs, stopAfter) + timing.fenceMs + spec.stop.graceMs + 1000;
}

/** The writes that bring one job's tasks and attempts to where they should be (placement aside). */
export function decideJob(inp: JobInput): JobDecision {
  const { job, spec, now } = inp;
  const specFor = (v: number): JobSpec => (v === job.version ? spec : (inp.specOf(v) ?? spec));
  // Whether a task at version v must get a new attempt to run the job's version (once per version).
  const replaceFrom = new Map<number, boolean>();
  const mustReplace = (v: number): boolean => {
    let r = replaceFrom.get(v);
    if (r === undefined) replaceFrom.set(v, (r = replaceCauses(specFor(v), spec).length > 0));
    return r;
  };
  const origTasks = new Map(inp.tasks.map((t) => [t.index, t]));
  const tasks = new Map(origTasks);
  const origAtt: ReadonlyMap<string, Attempt> = new Map(inp.attempts.map((a) => [a.id, a]));
  const atts = new Map(origAtt);
  const deletedTasks = new Set<number>();
  const deletedAtts = new Set<string>();
  // The task indexes the job wants: 0..replicas-1, or an every-host job's running slots.
  const wanted = wantedOf(inp);
  const replicas = wanted.count;
  const atMostOne = spec.disconnect.stopAfterMs !== null;

  // Attempts on down hosts end as "lost" once no copy can still be running there.
  for (const a of atts.values()) {
    if (isTerminal(a.state)) continue;
    const h = inp.hosts.get(a.hostId);
    if (h && h.status !== "down") continue;
    if (now < lostAfter(specFor(a.version), h, inp)) continue;
    atts.set(a.id, { ...a, state: "lost", desired: "stop", reason: "host down", endCause: "lost", endedAt: now });
  }

  const byIndex = new Map<number, string[]>();
  for (const a of atts.values()) {
    const ids = byIndex.get(a.index);
    if (ids) ids.push(a.id);
    else byIndex.set(a.index, [a.id]);
  }
  const attemptsAt = (i: number): Attempt[] => (byIndex.get(i) ?? []).map((id) => atts.get(id)).filter((a): a is Attempt => a !== undefined);

  let upCount: number | null = null;
  const hostsUp = (): number => (upCount ??= [...inp.hosts.values()].filter((h) => h.status !== "down").length);

  // Which version each task should run now (the rollout controller, rollout.ts); below, the
  // lifecycle brings each task there.
  // A live rolling restart (`tiffin restart JOB`) wants a new attempt of every task started before it.
  const rollout = inp.rollout ?? null;
  const restartSince = rollout?.cause === "restart" && rollout.version === job.version && (rollout.state === "running" || rollout.state === "paused") ? rollout.startedAt : null;
  const slots: RolloutSlot[] = [];
  for (const t of tasks.values()) {
    if (!wanted.has(t.index)) continue;
    const a = t.attemptId ? atts.get(t.attemptId) : undefined;
    const live = a !== undefined && !isTerminal(a.state) && a.desired === "run";
    const stale = restartSince !== null && a !== undefined && a.createdAt < restartSince;
    // Another live copy (the old side of a surge or a drain move) that serves keeps the task serving.
    // Most tasks have one attempt, the current one: no list to build (10,000 tasks a pass).
    const others: Attempt[] = [];
    for (const id of byIndex.get(t.index) ?? []) {
      const o = id === a?.id ? undefined : atts.get(id);
      if (o && !isTerminal(o.state) && o.desired === "run") others.push(o);
    }
    const ready = isReady(a, specFor(t.version)) || others.some((o) => isReady(o, specFor(o.version)));
    slots.push({ index: t.index, version: t.version, ready, live, mustReplace: t.version !== job.version && mustReplace(t.version), stale, surging: others.length > 0 && live });
  }
  const budget = disruptionBudget(replicas, spec.rollout?.maxUnavailable);
  const targets = rolloutTargets(job.version, replicas, slots, gateOf(rollout?.version === job.version ? rollout : null, budget), inp.everyHost ? wanted.list() : undefined);
  // Fired metric health checks: stop those attempts within the disruption budget (metric-actions.ts),
  // counting the tasks this rollout pass stops against the same budget.
  const rolloutStops = slots.filter((s) => s.ready && ((s.mustReplace && targets.versions.get(s.index) === job.version && !targets.surge.has(s.index)) || targets.restart.has(s.index))).length;
  const gate = approvalGate(inp);
  // Only when a check fired (an attempt waits for its action): the slots are a walk over every task.
  let fired = false;
  for (const a of atts.values()) if (a.metricAction?.state === "waiting") { fired = true; break; }
  if (fired) {
    const metricSlots = [...tasks.values()].filter((t) => wanted.has(t.index)).map((t) => {
      const a = t.attemptId ? (atts.get(t.attemptId) ?? null) : null;
      return { index: t.index, attempt: a, ready: isReady(a, specFor(t.version)) };
    });
    const servingNow = new Map(metricSlots.map((s) => [s.index, s.ready]));
    for (const a of metricActions(metricSlots, replicas, rolloutStops, now, budget)) if (a.desired !== "stop" || gate.ok(a.index, "metric", servingNow.get(a.index) === true)) atts.set(a.id, a);
  }
  // The tasks this decision walks: every one, or (an incremental pass) those decideFocus says may act.
  // A job that asks its application's approval is always walked whole: an approval arrives outside
  // the records the focus follows, and every held task must be listed again for the asker.
  const indexes = inp.focus && !inp.spec.disruption ? decideFocus(inp.focus, { tasks, wanted, targets, jobVersion: job.version, changedAttempts: [...atts.values()].filter((a) => a !== origAtt.get(a.id)) }) : new Set<number>([...tasks.keys(), ...byIndex.keys(), ...wanted.list()]);
  // Drain stops of "at most one live copy" jobs (break-before-make) within what the budget has left
  // after the tasks down for any cause, the moves under way and this pass's rollout stops (drain.ts).
  // Computed when a task must leave (a walk over every task, needless on most passes).
  let drainLeft: number | null = null;

  const newAttempt = (t: Task, hostId: string, startAfter: number): Attempt => {
    const a = freshAttempt(inp.newId(), t, hostId, now, startAfter);
    atts.set(a.id, a);
    byIndex.set(t.index, [...(byIndex.get(t.index) ?? []), a.id]);
    return a;
  };
  // Room on the host for the job's version beside an attempt of `from` that keeps running (a surge).
  const fitsBeside = (host: HostState | undefined, from: JobSpec): boolean =>
    fitsInPlace(inPlaceQuery(inp, host, { used: inp.usage.get(host?.id ?? "") ?? null, counted: null, from, to: spec }));
  const fits = (t: Task, host: HostState | undefined, from: JobSpec): boolean => {
    const orig = origTasks.get(t.index);
    const counted = orig && host && orig.hostId === host.id ? specFor(orig.version).resources : null;
    return fitsInPlace(inPlaceQuery(inp, host, { used: inp.usage.get(host?.id ?? "") ?? null, counted, from, to: specFor(t.version) }));
  };

  for (const index of [...indexes].sort((a, b) => a - b)) {
    let t = tasks.get(index) ?? null;
    if (!wanted.has(index)) {
      for (const a of attemptsAt(index)) if (!isTerminal(a.state) && a.desired === "run") atts.set(a.id, { ...a, desired: "stop" });
      if (attemptsAt(index).every((a) => isTerminal(a.state))) {
        if (t) deletedTasks.add(index);
        for (const a of attemptsAt(index)) deletedAtts.add(a.id);
      }
      continue;
    }
    t ??= { job: job.name, index, version: job.version, hostId: null, attemptId: null, failures: 0, avoidHosts: [], unplacedReason: null };
    let cur = t.attemptId ? (atts.get(t.attemptId) ?? null) : null;
    if (t.attemptId && !cur) t = { ...t, attemptId: null };
    const host = t.hostId === null ? undefined : inp.hosts.get(t.hostId);
    // An "endure" job in a maintenance window of its host: stopped, kept in place (even while the
    // host is down for the work), started again there at the window's end (maintenance.ts).
    const endure = endureWindow(host, specFor(t.version), now);

    // Down host: unplace once nothing of this task is left alive there (the fence wait keeps it).
    if (t.hostId !== null && (!host || host.status === "down") && !(cur && !isTerminal(cur.state)) && endure === null) {
      t = { ...t, hostId: null, attemptId: null };
      cur = null;
    }

    // A new version: stop the old attempt (once the rollout says so) and start the new one below.
    let replaced = false;
    if (t.version !== job.version && !mustReplace(t.version)) {
      // Only replicas (or restart policy...) changed: the running attempt is the new version's too.
      // An apply is also the user's word that a parked task may try again.
      t = t.parked ? { ...unpark(t), version: job.version } : { ...t, version: job.version };
      // Its live attempt is the new version's now (status, apply's progress and the agent agree);
      // the agent leaves a running attempt alone whatever its record says.
      if (cur && !isTerminal(cur.state) && cur.desired === "run" && cur.version !== job.version) {
        cur = { ...cur, version: job.version };
        atts.set(cur.id, cur);
      }
      // An incurable start failure waits for an apply: this one is the user's word to try again.
      if (cur && isTerminal(cur.state) && cur.incurable === true) {
        t = { ...t, failures: 0 };
        replaced = true;
      }
    } else if (t.version === job.version && targets.restart.has(index) && gate.ok(index, "restart", isReady(cur, specFor(t.version)))) {
      // A rolling restart: stop the live attempt; it is started again below once it has ended.
      if (cur && !isTerminal(cur.state) && cur.desired === "run") {
        cur = { ...cur, desired: "stop" };
        atts.set(cur.id, cur);
        t = { ...t, failures: 0 };
      }
    } else if (t.version !== job.version && targets.versions.get(index) === job.version && gate.ok(index, "rollout", isReady(cur, specFor(t.version)))) {
      const h = t.hostId === null ? undefined : inp.hosts.get(t.hostId);
      const hostId = t.hostId;
      const old = cur;
      if (targets.surge.has(index) && !atMostOne && old && !isTerminal(old.state) && old.desired === "run" && hostId !== null && h?.status === "up" && !h.draining && fitsBeside(h, specFor(old.version))) {
        // maxSurge: the new attempt starts beside the old one on the same host (room for both); the
        // old one is stopped below once the new one serves.
        t = { ...t, version: job.version, failures: 0 };
        const fresh = newAttempt(t, hostId, now);
        t = { ...t, attemptId: fresh.id };
        cur = fresh;
      } else if (cur && !isTerminal(cur.state) && cur.desired === "run") {
        cur = { ...cur, desired: "stop" };
        atts.set(cur.id, cur);
        t = { ...t, version: job.version, failures: 0 };
      } else {
        t = { ...(t.parked ? unpark(t) : t), version: job.version, failures: 0 };
        replaced = true;
      }
    }

    // The endure stop asks the application first (cause maintenance) until its approval deadline,
    // then the job's onTimeout (maintenance.ts endureStopFree); a task on a down host serves no one.
    if (endure !== null && cur && !isTerminal(cur.state) && cur.desired === "run" && (endureStopFree(endure, specFor(t.version), now) || gate.ok(index, "maintenance", host?.status !== "down" && isReady(cur, specFor(t.version))))) {
      cur = { ...cur, desired: "stop" };
      atts.set(cur.id, cur);
    }

    // A make-before-break move whose new copy was stopped before it served (its host began to drain
    // or closed meanwhile): the task points at its old copy again, which still serves where it was,
    // and moves again within the budget. Unplaced, it would be placed beside that copy outside the
    // budget (bench/drain-dc.ts saw a job of budget 1 with two tasks moving at once).
    const ended = cur && isTerminal(cur.state) && cur.desired === "stop" && !replaced ? cur : null;
    const version = t.version;
    const fallback = ended ? attemptsAt(index).find((o) => o.id !== ended.id && o.version === version && isReady(o, specFor(o.version))) : undefined;
    if (fallback) {
      t = { ...t, hostId: fallback.hostId, attemptId: fallback.id };
      cur = fallback;
    }

    if (cur && isTerminal(cur.state) && t.hostId !== null && endure === null) {
      const h = inp.hosts.get(t.hostId);
      const s = specFor(t.version);
      // Stopped by the server for a metric health check: a failure like a failed health check.
      const metricEnd = cur.endCause === "metric";
      if ((cur.desired === "stop" && !metricEnd) || replaced) {
        // Stopped on purpose (new version, drain): start again, without counting a failure.
        if (fits(t, h, specFor(cur.version))) t = { ...t, attemptId: newAttempt(t, t.hostId, now).id };
        else t = { ...t, hostId: null, attemptId: null };
      } else if (cur.incurable === true) {
        // The kernel refuses what this version asks, on any host: the task keeps its failed attempt
        // (state and reason for the user) until a new version, instead of a restart loop.
      } else {
        const failures = t.failures + 1;
        const healthMove = (s.health?.action === "move" && cur.endCause === "health") || (metricEnd && cur.metricAction?.action === "move");
        const verdict = afterFailure(s.restart, failures, hostsUp(), healthMove);
        if (verdict === "park") {
          // Failed on every host it was given: no more attempts until an apply or `tiffin restart`.
          // The last attempt stays the current one, so status shows how it ended.
          const ended = attemptsAt(index).filter((a) => isTerminal(a.state) && a.desired === "run");
          t = { ...t, failures, hostId: null, attemptId: cur.id, parked: { at: now, reason: parkedReason(failures, ended) } };
        } else if (verdict === "move") {
          t = { ...t, failures, avoidHosts: addUnique(t.avoidHosts, cur.hostId), hostId: null, attemptId: null };
        } else if (!fits(t, h, specFor(cur.version))) {
          t = { ...t, failures, hostId: null, attemptId: null };
        } else {
          t = { ...t, failures, attemptId: newAttempt(t, t.hostId, now + backoffMs(s.restart, failures)).id };
        }
      }
      cur = t.attemptId ? (atts.get(t.attemptId) ?? null) : null;
    }

    // Placed without an attempt (only after a partial write): start one, or re-place.
    if (t.hostId !== null && t.attemptId === null && endure === null) {
      const h = inp.hosts.get(t.hostId);
      if (h && h.status !== "down" && !h.draining) t = { ...t, attemptId: newAttempt(t, t.hostId, now).id };
      else t = { ...t, hostId: null };
      cur = t.attemptId ? (atts.get(t.attemptId) ?? null) : null;
    }

    if (cur && t.failures > 0 && (cur.state === "running" || cur.state === "healthy") && cur.startedAt !== null && now - cur.startedAt >= ResetFailuresAfterMs) {
      t = { ...t, failures: 0 };
    }

    // Drain. Not serving: nothing to keep, stop it (it is re-placed once it ended). Serving, "at most
    // one live copy": break-before-make, within the disruption budget. Others move make-before-break
    // in the placement phase (placementNeeds). Past the drain's deadline: "stop" stops every task
    // still there; "force" ignores the budget and stops those the report says find no host.
    const h = t.hostId === null ? undefined : inp.hosts.get(t.hostId);
    if (mustLeave(inp, h) && cur && !isTerminal(cur.state) && cur.desired === "run") {
      const ready = isReady(cur, specFor(cur.version));
      const due = leaveDue(inp, h);
      const noHost = due === "force" && (h?.drain?.blocked ?? []).some((b) => b.job === job.name && (b.reason === "no-room" || b.reason === "constraint"));
      const approved = !spec.disruption || inp.approvals?.get(index)?.ok === true;
      if (atMostOne && ready) drainLeft ??= Math.max(0, drainAllowance(inp).allowed - rolloutStops);
      if (!ready || due === "stop" || noHost || (atMostOne && ((drainLeft !== null && drainLeft > 0 && approved) || due === "force"))) {
        if (ready && atMostOne && drainLeft !== null) drainLeft--;
        cur = { ...cur, desired: "stop" };
        atts.set(cur.id, cur);
      }
    }

    // Other live copies of this task (the old side of a make-before-break move): stop them once the
    // current attempt serves, or at once for "at most one live copy" jobs.
    for (const o of attemptsAt(index)) {
      if (o.id === t.attemptId || isTerminal(o.state) || o.desired !== "run") continue;
      if (atMostOne || isReady(cur, specFor(t.version))) atts.set(o.id, { ...o, desired: "stop" });
    }

    // Keep the newest attempts; delete older ended ones.
    const old = attemptsAt(index)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .slice(AttemptsKept)
      .filter((a) => isTerminal(a.state) && a.id !== t.attemptId);
    for (const a of old) deletedAtts.add(a.id);
    tasks.set(index, t);
  }

  return {
    putTasks: [...tasks.values()].filter((t) => !deletedTasks.has(t.index) && changed(origTasks.get(t.index), t)),
    deleteTasks: [...deletedTasks].filter((i) => origTasks.has(i)),
    putAttempts: [...atts.values()].filter((a) => !deletedAtts.has(a.id) && changed(origAtt.get(a.id), a)),
    deleteAttempts: [...deletedAtts].filter((id) => origAtt.has(id)),
    ...(gate.held.length > 0 ? { held: gate.held } : {}),
  };
}

/** What an incremental decision knows when it picks the tasks to walk. */
export interface FocusInput {
  tasks: ReadonlyMap<number, Task>;
  wanted: { has(index: number): boolean; list(): Iterable<number> };
  targets: RolloutTargets;
  jobVersion: number;
  /** Attempts this decision already changed before its walk (lost on a down host, a fired metric check). */
  changedAttempts: readonly Attempt[];
}

/**
 * The task indexes an incremental decision walks: those whose task or attempts changed since the last
 * pass (`changed`, from the mirror's changes), those the rollout controller moves or restarts now
 * (budget freed by a task that came back admits the phase's next slots), those with an attempt changed
 * above, and wanted slots with no task yet. Every other task was decided unchanged and nothing of it
 * changed since: walking it again gives the same answer. What only the clock changes (back-off over,
 * a failure count to reset, a drain's deadline) waits for the next full pass, as for jobs not dirty.
 */
export function decideFocus(changed: ReadonlySet<number>, f: FocusInput): Set<number> {
  const out = new Set(changed);
  for (const [i, v] of f.targets.versions) {
    if (v !== f.jobVersion) continue;
    const t = f.tasks.get(i);
    if (t === undefined || t.version !== f.jobVersion) out.add(i);
  }
  for (const i of f.targets.restart) out.add(i);
  for (const i of f.targets.surge) out.add(i);
  for (const a of f.changedAttempts) out.add(a.index);
  for (const i of f.wanted.list()) if (!f.tasks.has(i)) out.add(i);
  for (const i of f.tasks.keys()) if (!f.wanted.has(i)) out.add(i);
  return out;
}

/** Tasks the placement phase should place: unplaced ones, and serving tasks on draining hosts as
 * many as the job's disruption budget allows now (make-before-break, drain.ts; "at most one live
 * copy" jobs are handled in decideJob). */
export function placementNeeds(inp: JobInput): PlacementNeed[] {
  if (inp.job.removedAt !== null) return [];
  const out: PlacementNeed[] = [];
  // A batch job's tasks are its runs' items (batch-decide.ts keeps at most `parallelism` of them): each
  // is placed as it comes, none is moved.
  if (inp.spec.batch) {
    for (const t of [...inp.tasks].sort((a, b) => a.index - b.index)) if (t.hostId === null && !t.parked) out.push({ index: t.index, avoid: t.avoidHosts, move: false });
    return out;
  }
  const wanted = wantedOf(inp);
  const tasks = inp.tasks.filter((t) => wanted.has(t.index)).sort((a, b) => a.index - b.index);
  for (const t of tasks) if (t.hostId === null && !t.parked) out.push({ index: t.index, avoid: t.avoidHosts, move: false });
  // An every-host task belongs to its host: a drain stops it there (decideJob), it never moves.
  if (inp.everyHost || inp.spec.disconnect.stopAfterMs !== null) return out;
  // No host to leave: no candidate (and no walk of every task for the allowance, on every pass).
  if (!anyHostLeaving(inp.hosts)) return out;
  for (const t of drainCandidates(inp, drainAllowance(inp).allowed)) out.push({ index: t.index, avoid: addUnique(t.avoidHosts, t.hostId ?? ""), move: true });
  return out;
}

/** A move is under way, or the job is not fully serving (not counting crash-looping tasks): a spread
 * move (rebalance.ts) waits. Drains ask the disruption budget instead (drain.ts drainAllowance). */
export function isDrainBusy(inp: JobInput): boolean {
  const byId = new Map(inp.attempts.map((a) => [a.id, a]));
  const current = new Set(inp.tasks.map((t) => t.attemptId));
  for (const a of inp.attempts) if (!current.has(a.id) && !isTerminal(a.state) && a.desired === "run") return true;
  const tasks = new Map(inp.tasks.map((t) => [t.index, t]));
  for (const i of wantedOf(inp).list()) {
    const t = tasks.get(i);
    if (!t) return true;
    const spec = t.version === inp.job.version ? inp.spec : (inp.specOf(t.version) ?? inp.spec);
    if (t.failures === 0 && !isReady(t.attemptId ? byId.get(t.attemptId) : null, spec)) return true;
  }
  return false;
}

/** The scheduler's in-place question for a task on `host` (the decision's host state says whether
 * it is usable: a suspect host keeps restarting its tasks, a down or draining one does not). */
export function inPlaceQuery(inp: Pick<JobInput, "schedHost">, host: HostState | undefined, q: Omit<InPlaceQuery, "host">): InPlaceQuery {
  const sh = host ? inp.schedHost(host.id) : null;
  return { overheadMiB: TaskOverheadMiB, ...q, host: sh && host ? { ...sh, schedulable: host.status !== "down" && !host.draining && host.closed !== true } : null };
}

/** A new attempt of a task on a host, not started before `startAfter`. */
export function freshAttempt(id: string, t: Task, hostId: string, now: number, startAfter: number): Attempt {
  return {
    id,
    job: t.job,
    index: t.index,
    version: t.version,
    hostId,
    desired: "run",
    state: "pending",
    pid: null,
    exitCode: null,
    signal: null,
    reason: null,
    ports: {},
    createdAt: now,
    startAfter,
    startedAt: null,
    endedAt: null,
    ...(t.batch !== undefined ? { batch: t.batch } : {}),
  };
}

/** The task as it is after an apply or `tiffin restart` released it from parking: placed afresh,
 * with a clean failure count and avoid list. */
export function unpark(t: Task): Task {
  return { ...t, parked: null, failures: 0, avoidHosts: [], hostId: null, attemptId: null, unplacedReason: null };
}

function addUnique(list: string[], x: string): string[] {
  return list.includes(x) ? list : [...list, x];
}

function changed<T>(before: T | undefined, after: T): boolean {
  // Untouched records come back as the very object that was read: the common case, and free.
  if (before === after) return false;
  return before === undefined || stableJson(before) !== stableJson(after);
}
