// Every-host jobs in the reconcile pass: the slots of every-host.ts computed from the mirror (which
// hosts match the job's constraints, which are down or draining, where the job's tasks are now), and
// the job's task indexes as the decisions see them: a counted job's are 0..replicas-1, an every-host
// job's are its running slots (holes stay where a host left: its neighbours keep their indexes).

import type { JobSpec, Task } from "../../model/index.ts";
import { matchesConstraints } from "../../scheduler/api.ts";
import { stableJson } from "../keys.ts";
import type { Mirror } from "../mirror.ts";
import { everyHostSlots } from "./every-host.ts";
import type { EveryHostSlot } from "./every-host.ts";
import type { SchedHost } from "../../scheduler/types.ts";
import type { HostState, JobInput } from "./types.ts";

// Whether a host record matches a set of constraints, per host record (a new record: a new answer).
const matchCache = new WeakMap<object, Map<string, boolean>>();

/** The every-host slots of `spec` over the registered hosts now; `tasks`: the job's tasks (their hosts);
 * `schedHost`: a host as the scheduler sees it (inputs.ts schedHostOf). */
export function everyHostSlotsOf(m: Mirror, spec: JobSpec, tasks: readonly Task[], hosts: ReadonlyMap<string, HostState>, schedHost: (id: string) => SchedHost | null): EveryHostSlot[] {
  const key = stableJson([spec.constraints, spec.isolation, spec.capabilities ?? null]);
  const list = [];
  for (const [id, { value: rec }] of m.hosts) {
    let byKey = matchCache.get(rec);
    if (!byKey) matchCache.set(rec, (byKey = new Map()));
    let matches = byKey.get(key);
    if (matches === undefined) {
      const sh = schedHost(id);
      matches = sh !== null && matchesConstraints(spec, sh);
      byKey.set(key, matches);
    }
    const st = hosts.get(id);
    list.push({ id, matches, down: !st || st.status === "down", draining: rec.draining });
  }
  const homes = new Map<number, string>();
  for (const t of tasks) if (t.hostId !== null) homes.set(t.index, t.hostId);
  return everyHostSlots(list, homes);
}

/** index -> host of the every-host slots that should run a task now. */
export function runningSlots(slots: readonly EveryHostSlot[]): Map<number, string> {
  return new Map(slots.filter((s) => s.run).map((s) => [s.index, s.hostId]));
}

/** The job's wanted task indexes as the decisions see them: `has` and how many. */
export interface Wanted {
  has(index: number): boolean;
  count: number;
  /** Every wanted index, ascending. */
  list(): number[];
}

/** The wanted indexes of a decision's input: the every-host slots, or 0..replicas-1 (none once removed). */
export function wantedOf(inp: Pick<JobInput, "job" | "spec" | "everyHost">): Wanted {
  if (inp.job.removedAt !== null) return { has: () => false, count: 0, list: () => [] };
  const eh = inp.everyHost;
  if (eh) return { has: (i) => eh.has(i), count: eh.size, list: () => [...eh.keys()].sort((a, b) => a - b) };
  const n = inp.spec.replicas;
  return { has: (i) => i >= 0 && i < n, count: n, list: () => Array.from({ length: n }, (_, i) => i) };
}
