// The agent's decisions as pure functions over plain data: which attempts to start and stop for a
// desired set, which to stop when the server has been out of reach too long, which old attempt
// directories to delete. main.ts and attempts.ts carry them out.

import type { Assignment } from "../api/types.ts";
import { isTerminal, taskId } from "../model/index.ts";

/** What the agent knows about one attempt it runs or ran. */
export interface LocalAttempt {
  id: string;
  /** True once a final status is known. */
  ended: boolean;
  /** The reason of the stop already sent, or null. */
  stopping: string | null;
  /** The job's disconnect policy (`spec.disconnect.stopAfterMs`). */
  stopAfterMs: number | null;
}

/** What to do about a desired set. */
export interface ReconcilePlan {
  start: Assignment[];
  /** Stops the server asked for (desired stop, or gone from the host's set): ended as "stopped". */
  stop: { id: string; reason: string }[];
  /** Attempts the server thinks exist here but this agent never ran or has no record of, with the
   * state to report: "stopped" for one stopped before it started, "failed" otherwise. */
  fail: { id: string; reason: string; state: "stopped" | "failed" }[];
  /** Earliest `startAfter` still in the future: reconcile again then. */
  wakeAt: number | null;
  /** Attempts to start once their `startAfter` comes (their packages can be fetched now). */
  waiting: Assignment[];
}

/** Reason given to a helper when the server asks for a stop. */
export const REASON_STOPPED = "stopped by server";
/** Reason given when an attempt left the host's desired set. */
export const REASON_UNASSIGNED = "no longer assigned to this host";
/** Reason reported for an attempt the server believes started here but this host has no record of. */
export const REASON_UNKNOWN = "attempt unknown to the agent (no attempt directory on the host)";
/** Reason reported for a pending attempt stopped before it started. */
export const REASON_NEVER_STARTED = "stopped before it started";

/** Compares the desired set with the local attempts. `known` holds ids already handled and gone. */
export function planReconcile(desired: Assignment[], local: ReadonlyMap<string, LocalAttempt>, known: ReadonlySet<string>, now: number): ReconcilePlan {
  const plan: ReconcilePlan = { start: [], stop: [], fail: [], wakeAt: null, waiting: [] };
  const wanted = new Set<string>();
  for (const a of desired) {
    const { attempt } = a;
    wanted.add(attempt.id);
    const mine = local.get(attempt.id);
    if (mine) {
      if (attempt.desired === "stop" && !mine.ended && mine.stopping === null) plan.stop.push({ id: attempt.id, reason: REASON_STOPPED });
      continue;
    }
    if (known.has(attempt.id) || isTerminal(attempt.state)) continue;
    if (attempt.desired === "stop") {
      plan.fail.push(attempt.state === "pending" ? { id: attempt.id, reason: REASON_NEVER_STARTED, state: "stopped" } : { id: attempt.id, reason: REASON_UNKNOWN, state: "failed" });
    } else if (attempt.state !== "pending") {
      // An attempt is one start: one that got further elsewhere in time cannot be started again.
      plan.fail.push({ id: attempt.id, reason: REASON_UNKNOWN, state: "failed" });
    } else if (attempt.startAfter <= now) {
      plan.start.push(a);
    } else {
      plan.wakeAt = plan.wakeAt === null ? attempt.startAfter : Math.min(plan.wakeAt, attempt.startAfter);
      plan.waiting.push(a);
    }
  }
  for (const l of local.values()) {
    if (!wanted.has(l.id) && !l.ended && l.stopping === null) plan.stop.push({ id: l.id, reason: REASON_UNASSIGNED });
  }
  return plan;
}

/** Attempts to stop because the server has been unreachable past their job's `disconnect.stopAfterMs`,
 * and when to check again (null: nothing left to watch). */
export function planDisconnectStops(
  local: Iterable<LocalAttempt>,
  lastContact: number,
  now: number,
): { stop: { id: string; reason: string }[]; nextCheckAt: number | null } {
  const stop: { id: string; reason: string }[] = [];
  let next: number | null = null;
  for (const l of local) {
    if (l.ended || l.stopping !== null || l.stopAfterMs === null) continue;
    const due = lastContact + l.stopAfterMs;
    if (now >= due) stop.push({ id: l.id, reason: `disconnected from server for ${l.stopAfterMs}ms` });
    else next = next === null ? due : Math.min(next, due);
  }
  return { stop, nextCheckAt: next };
}

/** An attempt directory as cleanup sees it. */
export interface AttemptDirInfo {
  id: string;
  job: string;
  index: number;
  createdAt: number;
  /** Ended and its final status accepted by the server: nobody needs it but log readers. */
  done: boolean;
}

/** Attempt directories to delete: per task, everything done beyond the newest `keep`. */
export function planCleanup(dirs: AttemptDirInfo[], keep = 3): string[] {
  const byTask = new Map<string, AttemptDirInfo[]>();
  for (const d of dirs) {
    const k = taskId(d.job, d.index);
    const list = byTask.get(k) ?? [];
    list.push(d);
    byTask.set(k, list);
  }
  const out: string[] = [];
  for (const list of byTask.values()) {
    list.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    for (const d of list.slice(keep)) if (d.done) out.push(d.id);
  }
  return out;
}
