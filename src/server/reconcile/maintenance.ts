// What maintenance windows (model/maintenance.ts) mean for one job's tasks, as pure decisions: a host
// in a window's closed time takes nothing new (HostState.closed, set by liveness.ts); a "move" job's
// tasks leave a window's hosts from its start less the job's lead (sized by the job's disruption
// budget), the way a drain moves them (drain.ts: within the budget); an "endure" job's tasks are
// stopped at the start and keep their place, not re-placed elsewhere, until the end, then start again
// on the same host (decide.ts); a window that overruns (ended, host not back) holds them up to the
// job's limit, then they go elsewhere. The endure stop asks the job's application first (spec
// `disruption`, cause "maintenance"): a "not yet" holds it until the approval deadline (the start plus
// the job's approval timeout), then the job's `onTimeout` acts ("allow" stops, "wait" keeps asking).

import { DefaultMaintenanceOverrunMs, isTerminal, jobLeadMs, windowEnd } from "../../model/index.ts";
import type { DisruptionPolicy, DrainBlock, JobSpec, MaintenanceWindow, Task } from "../../model/index.ts";
import { approvalDetail, approved } from "./approval-gate.ts";
import { isReady } from "./ready.ts";
import type { HostState, JobInput } from "./types.ts";

/** The job's tasks on hosts that window `w` covers. */
export function tasksInWindow(tasks: readonly Task[], hosts: ReadonlyMap<string, HostState>, w: MaintenanceWindow): number {
  let n = 0;
  for (const t of tasks) if (t.hostId !== null && hosts.get(t.hostId)?.windows?.some((x) => x.id === w.id)) n++;
  return n;
}

/** The window whose moves of this "move" job are due on host `h` now, or null. */
export function moveWindow(h: HostState | undefined, spec: Pick<JobSpec, "maintenance">, ctx: { tasks: readonly Task[]; hosts: ReadonlyMap<string, HostState>; budget: number; now: number }): MaintenanceWindow | null {
  if (!h?.windows || spec.maintenance !== "move") return null;
  for (const w of h.windows) {
    if (ctx.now >= windowEnd(w)) continue;
    if (ctx.now >= w.start - jobLeadMs(w, tasksInWindow(ctx.tasks, ctx.hosts, w), ctx.budget)) return w;
  }
  return null;
}

/** The window during which this "endure" job's tasks on `h` stay stopped in place, or null: from its
 * start to its end, and past its end while the host is not back, up to the job's overrun limit
 * (`maintenanceOverrunMs`); after that the tasks are placed elsewhere like any on a down host. */
export function endureWindow(h: HostState | undefined, spec: Pick<JobSpec, "maintenance" | "maintenanceOverrunMs">, now: number): MaintenanceWindow | null {
  if (!h || spec.maintenance !== "endure") return null;
  const active = h.windows?.find((w) => now >= w.start && now < windowEnd(w));
  if (active) return active;
  const limit = spec.maintenanceOverrunMs ?? DefaultMaintenanceOverrunMs;
  return h.overrun?.find((w) => now < windowEnd(w) + limit) ?? null;
}

/** How long before a window's start the application of an "endure" job is asked about its tasks'
 * stop, so that a prompt yes (valid 30 s) lets the stop happen right at the start. */
export const EndureAskAheadMs = 10_000;

/** When a "not yet" (or no answer) to an endure stop stops holding it: the window's start plus the
 * job's approval timeout; from then the job's `onTimeout` applies. */
export function endureApprovalDeadline(w: Pick<MaintenanceWindow, "start">, policy: Pick<DisruptionPolicy, "timeoutMs">): number {
  return w.start + policy.timeoutMs;
}

/** Whether the endure stop in window `w` may go ahead without the application's yes: the job asks
 * nothing, or the approval deadline passed and its `onTimeout` is "allow". */
export function endureStopFree(w: Pick<MaintenanceWindow, "start">, spec: Pick<JobSpec, "disruption">, now: number): boolean {
  const p = spec.disruption;
  return !p || (p.onTimeout === "allow" && now >= endureApprovalDeadline(w, p));
}

type EndureInput = Pick<JobInput, "spec" | "tasks" | "attempts" | "hosts" | "now" | "approvals">;

/** The serving tasks of an endure job with an approval policy that a window will stop soon or
 * stops now (from its start less EndureAskAheadMs to its end), with the window: what the leader's
 * ApprovalAsker asks about (cause "maintenance"). Tasks whose stop goes ahead anyway are left out. */
export function endureAsks(inp: EndureInput): { index: number; window: MaintenanceWindow }[] {
  if (inp.spec.maintenance !== "endure" || !inp.spec.disruption) return [];
  const byId = new Map(inp.attempts.map((a) => [a.id, a]));
  const out: { index: number; window: MaintenanceWindow }[] = [];
  for (const t of inp.tasks) {
    const h = t.hostId === null ? undefined : inp.hosts.get(t.hostId);
    if (!h || h.status === "down" || !isReady(t.attemptId ? byId.get(t.attemptId) : null, inp.spec)) continue;
    const w = h.windows?.find((x) => inp.now >= x.start - EndureAskAheadMs && inp.now < windowEnd(x));
    if (w && !endureStopFree(w, inp.spec, inp.now)) out.push({ index: t.index, window: w });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Why an endure job's tasks on host `hostId` still run in a started window (its application has
 * not said yes to their stop), as a block of the window's report; null when nothing is held. */
export function endureBlock(inp: EndureInput & Pick<JobInput, "job">, hostId: string): Omit<DrainBlock, "since"> | null {
  const p = inp.spec.disruption;
  const h = inp.hosts.get(hostId);
  const w = endureWindow(h, inp.spec, inp.now);
  if (!p || !w || h?.status === "down" || endureStopFree(w, inp.spec, inp.now)) return null;
  const byId = new Map(inp.attempts.map((a) => [a.id, a]));
  const held = inp.tasks
    .filter((t) => t.hostId === hostId)
    .filter((t) => {
      const a = t.attemptId ? byId.get(t.attemptId) : undefined;
      return a !== undefined && !isTerminal(a.state) && isReady(a, inp.spec) && !approved(inp, t.index, "maintenance", true);
    })
    .map((t) => t.index)
    .sort((a, b) => a - b);
  const first = held[0];
  if (first === undefined) return null;
  const then = inp.now >= endureApprovalDeadline(w, p) ? "past its approval deadline, onTimeout wait: waits for a yes" : `onTimeout ${p.onTimeout} at the approval deadline`;
  return { job: inp.job.name, reason: "approval", detail: `${approvalDetail(first, inp.approvals?.get(first), p, "maintenance")}; the endure stop at the window's start waits for a yes (${then})`, tasks: held };
}
