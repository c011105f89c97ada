// The write that drains, undrains, cordons or uncordons a host: one place for what
// `POST /v1/hosts/:name/drain` does and what remediation does (remediation/controller.ts), so a drain
// by either is the same drain (the reconciler then moves the tasks as for any drain).
import type { Host } from "../model/index.ts";
import type { Compare, Op } from "../state/store.ts";
import { hostKey, Kinds } from "./kinds.ts";
import type { Mirror } from "./mirror.ts";

/** The flags a write may set. */
export interface HostFlags {
  draining?: boolean;
  unschedulable?: boolean;
}

/** The compare and put that set `flags` on host `hostId` as the mirror has it, or null when the host
 * is gone or already so. The compare is on the host's modRevision: a write in between makes it fail. */
export function hostFlagsWrite(m: Mirror, hostId: string, flags: HostFlags): { compare: Compare[]; success: Op[] } | null {
  const h = m.hosts.get(hostId)?.value;
  if (!h) return null;
  const next: Host = { ...h };
  if (flags.draining !== undefined) next.draining = flags.draining;
  // An undrain ends the drain under way (its deadline and report: model/host.ts HostDrain).
  if (flags.draining === false) delete next.drain;
  if (flags.unschedulable === true) next.unschedulable = true;
  if (flags.unschedulable === false) delete next.unschedulable;
  if (next.draining === h.draining && next.unschedulable === h.unschedulable && next.drain === h.drain) return null;
  return {
    compare: [{ key: hostKey(h.id), target: "modRevision", op: "==", value: m.modRevision(hostKey(h.id)) }],
    success: [{ type: "put", key: hostKey(h.id), value: Kinds.host.encode(next) }],
  };
}
