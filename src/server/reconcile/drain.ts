// Drains, as pure decisions over one job: how many of its tasks may leave draining hosts now (the
// job's disruption budget, ../disruption.ts, less the tasks down for any cause and the moves under
// way: a rollout, a crash, a metric action and a drain share one budget, and the budget is the drain's
// parallelism), which tasks move, what a drain's deadline does, and why a job is still held on a
// draining host (the report `tiffin drain` shows). decide.ts and place.ts act on these answers;
// ../drain-report.ts writes the report.

import { isTerminal } from "../../model/index.ts";
import type { Attempt, DrainBlock, DrainBlockReason, DrainThen, JobSpec, Task } from "../../model/index.ts";
import type { RejectReason } from "../../scheduler/types.ts";
import { disruptionBudget, disruptionsLeft } from "../disruption.ts";
import { isReady } from "./ready.ts";
import type { HostState, JobInput } from "./types.ts";
import { moveWindow } from "./maintenance.ts";
import { approvalDetail } from "./approval-gate.ts";

type LeaveInput = Pick<JobInput, "job" | "spec" | "tasks" | "hosts" | "now">;

/** Whether the job's tasks must leave host `h` now: it drains, or a maintenance window's moves of
 * this job are due there (maintenance.ts). */
export function mustLeave(inp: LeaveInput, h: HostState | undefined): boolean {
  if (!h) return false;
  if (h.draining) return true;
  const budget = disruptionBudget(inp.job.removedAt === null ? inp.spec.replicas : 0, inp.spec.rollout?.maxUnavailable);
  return moveWindow(h, inp.spec, { tasks: inp.tasks, hosts: inp.hosts, budget, now: inp.now }) !== null;
}

// Per host-state snapshot (one per pass): whether any host drains or is in a maintenance window.
const leavingCache = new WeakMap<ReadonlyMap<string, HostState>, boolean>();

/** True when some host drains or has a maintenance window: only then can mustLeave hold for any
 * task, so a job's drain candidates and allowance need no walk over its tasks otherwise. */
export function anyHostLeaving(hosts: ReadonlyMap<string, HostState>): boolean {
  let v = leavingCache.get(hosts);
  if (v === undefined) {
    v = false;
    for (const h of hosts.values()) if (h.draining || (h.windows?.length ?? 0) > 0) { v = true; break; }
    leavingCache.set(hosts, v);
  }
  return v;
}

/** What happens now to the job's tasks still on host `h`: its drain's deadline action, or "stop" once
 * a maintenance window they had to leave before has started; null: nothing yet. */
export function leaveDue(inp: LeaveInput, h: HostState | undefined): Exclude<DrainThen, "wait"> | null {
  const due = drainDue(h, inp.now);
  if (due !== null || !h) return due;
  const budget = disruptionBudget(inp.job.removedAt === null ? inp.spec.replicas : 0, inp.spec.rollout?.maxUnavailable);
  const w = moveWindow(h, inp.spec, { tasks: inp.tasks, hosts: inp.hosts, budget, now: inp.now });
  return w !== null && inp.now >= w.start ? "stop" : null;
}

/** What a job's drain may do now. */
export interface DrainAllowance {
  /** The job's disruption budget. */
  budget: number;
  /** Tasks not serving now, for any cause (unplaced, starting, crashing, stopping, parked). */
  down: number;
  /** Tasks with a second live copy (a make-before-break move or a surge under way). */
  moving: number;
  /** How many more tasks may start to leave now: budget - down - moving, never negative. */
  allowed: number;
}

type AllowanceInput = Pick<JobInput, "job" | "spec" | "specOf" | "tasks" | "attempts">;

/** The job's drain allowance (see DrainAllowance). */
export function drainAllowance(inp: AllowanceInput): DrainAllowance {
  const replicas = inp.job.removedAt === null ? inp.spec.replicas : 0;
  const live = new Map<number, Attempt[]>();
  for (const a of inp.attempts) if (!isTerminal(a.state) && a.desired === "run") live.set(a.index, [...(live.get(a.index) ?? []), a]);
  const specFor = (v: number): JobSpec => (v === inp.job.version ? inp.spec : (inp.specOf(v) ?? inp.spec));
  const tasks = new Map(inp.tasks.map((t) => [t.index, t]));
  let down = 0;
  let moving = 0;
  for (let i = 0; i < replicas; i++) {
    const copies = live.get(i) ?? [];
    if (!tasks.has(i) || !copies.some((a) => isReady(a, specFor(a.version)))) down++;
    else if (copies.length > 1) moving++;
  }
  const budget = disruptionBudget(replicas, inp.spec.rollout?.maxUnavailable);
  return { budget, down, moving, allowed: disruptionsLeft(replicas, down + moving, inp.spec.rollout?.maxUnavailable) };
}

/** The action of a host's drain due now: its deadline passed and it does not just wait. */
export function drainDue(h: Pick<HostState, "draining" | "drain"> | undefined, now: number): Exclude<DrainThen, "wait"> | null {
  const d = h?.draining ? h.drain : undefined;
  if (!d || d.deadline === null || now < d.deadline || d.then === "wait") return null;
  return d.then;
}

/** Tasks of the job that a drain may move now, make-before-break: serving ones on hosts they must leave at
 * the job's version with no move under way, at most `allowed` of them, or all of them on a host whose
 * deadline forces. */
export function drainCandidates(inp: Pick<JobInput, "job" | "spec" | "tasks" | "attempts" | "hosts" | "now" | "approvals">, allowed: number, opts: { ignoreApproval?: boolean } = {}): Task[] {
  const byId = new Map(inp.attempts.map((a) => [a.id, a]));
  const out: Task[] = [];
  let left = allowed;
  for (const t of [...inp.tasks].sort((a, b) => a.index - b.index)) {
    if (t.index >= inp.spec.replicas || t.hostId === null) continue;
    const h = inp.hosts.get(t.hostId);
    if (!mustLeave(inp, h) || t.version !== inp.job.version) continue;
    if (!isReady(t.attemptId ? byId.get(t.attemptId) : null, inp.spec)) continue;
    if (inp.attempts.some((a) => a.index === t.index && a.id !== t.attemptId && !isTerminal(a.state) && a.desired === "run")) continue;
    const forced = leaveDue(inp, h) !== null;
    if (!forced && left <= 0) continue;
    // The application's word (spec `disruption`): only an approved task goes; a forcing deadline overrides it.
    if (!forced && !opts.ignoreApproval && inp.spec.disruption && inp.approvals?.get(t.index)?.ok !== true) continue;
    if (!forced) left--;
    out.push(t);
  }
  return out;
}

/** Resources refused a task (full hosts, or hosts that take nothing now): "no-room"; only the task's
 * own demands (OS, kernel, labels, anti-affinity, sandbox, capabilities): "constraint". */
export function blockOfUnplaced(reasons: Partial<Record<RejectReason, number>>): DrainBlockReason {
  const room: RejectReason[] = ["cpu", "memory", "disk", "not-schedulable", "avoided"];
  return room.some((r) => (reasons[r] ?? 0) > 0) || Object.values(reasons).every((n) => (n ?? 0) === 0) ? "no-room" : "constraint";
}

/** Why one job is still held on draining host `hostId`, or null when it is not held (nothing there,
 * a move under way, a task about to move). `dryRun` answers whether a task could be placed elsewhere
 * now: null when it could, else the scheduler's reasons and a text for people. */
export function jobDrainBlock(
  inp: Pick<JobInput, "job" | "spec" | "specOf" | "tasks" | "attempts" | "hosts" | "now" | "approvals">,
  hostId: string,
  dryRun: (index: number) => { reasons: Partial<Record<RejectReason, number>>; text: string } | null,
): Omit<DrainBlock, "since"> | null {
  const byId = new Map(inp.attempts.map((a) => [a.id, a]));
  const here = inp.tasks
    .filter((t) => t.hostId === hostId && t.index < inp.spec.replicas)
    .filter((t) => {
      const a = t.attemptId ? byId.get(t.attemptId) : undefined;
      return a !== undefined && !isTerminal(a.state) && a.desired === "run";
    })
    .sort((a, b) => a.index - b.index);
  if (here.length === 0) return null;
  const tasks = here.map((t) => t.index);
  const job = inp.job.name;
  // A second live copy of one of them: a move under way, the drain advances.
  if (inp.attempts.some((a) => tasks.includes(a.index) && a.hostId !== hostId && !isTerminal(a.state) && a.desired === "run")) return null;
  const a = drainAllowance(inp);
  const forced = drainDue(inp.hosts.get(hostId), inp.now) !== null;
  if (a.allowed === 0 && !forced) {
    if (a.budget === 0) return { job, reason: "budget", detail: "disruption budget 0 (rollout.maxUnavailable: 0): none of its tasks may be disrupted; waits for the drain's deadline", tasks };
    return { job, reason: "budget", detail: `${a.down + a.moving} of ${inp.spec.replicas} task(s) down or moving, disruption budget ${a.budget}`, tasks };
  }
  // "At most one live copy" jobs stop first and are placed after (decide.ts): nothing to dry-run.
  if (inp.spec.disconnect.stopAfterMs !== null) return null;
  const first = here.find((t) => t.version === inp.job.version && isReady(t.attemptId ? byId.get(t.attemptId) : null, inp.spec));
  if (!first) return null;
  if (inp.spec.disruption && !forced) {
    const a = inp.approvals?.get(first.index);
    if (a?.ok !== true) return { job, reason: "approval", detail: approvalDetail(first.index, a, inp.spec.disruption, a?.cause === "maintenance" ? "maintenance" : "drain"), tasks };
  }
  const no = dryRun(first.index);
  if (!no) return null;
  return { job, reason: blockOfUnplaced(no.reasons), detail: no.text, tasks };
}

/** The new report, each block keeping its `since` when the same job was held for the same reason. */
export function mergeBlocks(prev: readonly DrainBlock[], next: readonly Omit<DrainBlock, "since">[], now: number): DrainBlock[] {
  return next
    .map((b) => ({ ...b, since: prev.find((p) => p.job === b.job && p.reason === b.reason)?.since ?? now }))
    .sort((x, y) => x.job.localeCompare(y.job));
}
