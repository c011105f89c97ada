// The overrun alert of maintenance windows (issue 16): a window that ended while some of its hosts
// are not back (not up) overruns. The leader writes that on the window record (`overrun`: when it
// saw it, which hosts are still out, when the last came back), so `tiffin maintenance list`, the
// typed watch (kind maintenance: the events) and the log say so; meanwhile "endure" tasks wait for
// their host up to their job's limit, then are placed elsewhere (reconcile/maintenance.ts). Run on
// each tick of the DrainReporter (drain-report.ts): leader only, each write compared with the
// window's modRevision.

import type { Logger } from "pino";
import { MaxMaintenanceOverrunMs, windowCovers, windowEnd } from "../model/index.ts";
import type { MaintenanceOverrun, MaintenanceWindow } from "../model/index.ts";
import type { Store } from "../state/store.ts";
import { Kinds, maintenanceKey } from "./kinds.ts";
import type { Mirror } from "./mirror.ts";
import type { HostState } from "./reconcile/types.ts";

/** The window's overrun record after a look at `now` given its hosts' state (`out`: names of those
 * not up), or null when nothing is to be written. Pure. */
export function nextOverrun(w: MaintenanceWindow, out: readonly string[], now: number): MaintenanceOverrun | null {
  if (w.cancelledAt !== null || now < windowEnd(w) || now >= windowEnd(w) + MaxMaintenanceOverrunMs) return null;
  const prev = w.overrun;
  const hosts = [...out].sort();
  if (!prev) return hosts.length === 0 ? null : { at: now, hosts, backAt: null };
  if (JSON.stringify(prev.hosts) === JSON.stringify(hosts)) return null;
  return { at: prev.at, hosts, backAt: hosts.length === 0 ? now : null };
}

/** Writes the overrun records due now (see the file comment). */
export async function writeOverruns(o: { store: Store; mirror: Mirror; log: Logger }, hosts: ReadonlyMap<string, HostState>, now: number): Promise<void> {
  const m = o.mirror;
  for (const { value: w } of m.maintenance.values()) {
    if (w.cancelledAt !== null || now < windowEnd(w)) continue;
    const out: string[] = [];
    for (const { value: h } of m.hosts.values()) if (windowCovers(w, h) && hosts.get(h.id)?.status !== "up") out.push(h.name);
    const overrun = nextOverrun(w, out, now);
    if (!overrun) continue;
    const key = maintenanceKey(w.id);
    const r = await o.store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: m.modRevision(key) }],
      success: [{ type: "put", key, value: Kinds.maintenance.encode({ ...w, overrun }) }],
    });
    if (!r.succeeded) continue;
    if (overrun.hosts.length > 0) o.log.warn({ id: w.id, scope: w.scope, target: w.target, hosts: overrun.hosts, endedAt: windowEnd(w) }, "maintenance window overruns: hosts not back after its end; endure tasks are placed elsewhere after their jobs' limit");
    else o.log.info({ id: w.id, backAt: overrun.backAt }, "maintenance window overrun over: every host is back");
    await m.waitFor(r.revision);
  }
}
