// What maintenance windows (model/maintenance.ts) mean for one job's tasks, as pure decisions: a host
// in a window's closed time takes nothing new (HostState.closed, set by liveness.ts); a "move" job's
// tasks leave a window's hosts from its start less the job's lead (sized by the job's disruption
// budget), the way a drain moves them (drain.ts: within the budget); an "endure" job's tasks are
// stopped at the start and keep their place, not re-placed elsewhere, until the end, then start again
// on the same host (decide.ts); a window that overruns (ended, host not back) holds them up to the
// job's limit, then they go elsewhere.

import { DefaultMaintenanceOverrunMs, jobLeadMs, windowEnd } from "../../model/index.ts";
import type { JobSpec, MaintenanceWindow, Task } from "../../model/index.ts";
import type { HostState } from "./types.ts";

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
