// Every-host jobs (`replicas: "every-host"`, issue 14): which task index belongs to which host. Pure:
// the placement of an every-host job is decided here, host by host, not by the scheduler's search,
// since each task belongs to one host (like a Kubernetes DaemonSet pod or a Nomad system job's
// allocation). The reconcile loop and the plan read it through every-host-input.ts.

/** What the decision needs to know about one registered host. */
export interface EveryHostHost {
  id: string;
  /** The host matches the job's constraints (OS, kernel, labels, runtime). */
  matches: boolean;
  down: boolean;
  draining: boolean;
}

/** One task of an every-host job: its index, the host it belongs to, and whether it runs now. */
export interface EveryHostSlot {
  index: number;
  hostId: string;
  /** False on a drained host: the task stops and is not moved (it belongs to its host). */
  run: boolean;
  /** Why it does not run, or why it may not be running although wanted (a down host); null otherwise. */
  reason: string | null;
}

/**
 * The job's slots: a host that already has an index keeps it (a task keeps its identity on its host
 * across versions); a matching host without one gets the lowest free index, hosts taken in id order
 * so every server decides alike. A host that is removed or no longer matches loses its task; a down
 * host keeps its task where it is (never moved elsewhere); a draining host keeps the index but the
 * task stops. `homes`: index -> host of the job's existing tasks.
 */
export function everyHostSlots(hosts: readonly EveryHostHost[], homes: ReadonlyMap<number, string>): EveryHostSlot[] {
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const slots: EveryHostSlot[] = [];
  const taken = new Set<number>();
  const homed = new Set<string>();
  for (const [index, hostId] of [...homes].sort((a, b) => a[0] - b[0])) {
    const h = byId.get(hostId);
    if (!h || !h.matches || homed.has(hostId)) continue;
    homed.add(hostId);
    taken.add(index);
    slots.push(slotOf(index, h));
  }
  let next = 0;
  for (const h of [...hosts].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (!h.matches || homed.has(h.id) || h.down || h.draining) continue;
    while (taken.has(next)) next++;
    taken.add(next);
    slots.push(slotOf(next, h));
  }
  return slots.sort((a, b) => a.index - b.index);
}

function slotOf(index: number, h: EveryHostHost): EveryHostSlot {
  if (h.draining) return { index, hostId: h.id, run: false, reason: `host ${h.id} is draining: its every-host task stops and is not moved` };
  if (h.down) return { index, hostId: h.id, run: true, reason: `host ${h.id} is down: its every-host task waits for it and is not moved` };
  return { index, hostId: h.id, run: true, reason: null };
}
