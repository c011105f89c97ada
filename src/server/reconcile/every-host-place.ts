// Placement of an every-host job's tasks: each on the host its slot names (every-host-input.ts), never
// elsewhere, when that host takes it now. The verdict is the scheduler's own (a plan on a one-host copy
// of the index with the host's tasks), so an every-host task is refused for the reasons any task would
// be (not schedulable, cpu, memory...), and a refused one stays unplaced with them until room is made.

import { TaskOverheadMiB } from "../../model/index.ts";
import type { JobSpec } from "../../model/index.ts";
import { ClusterIndex } from "../../scheduler/api.ts";
import type { Plan } from "../../scheduler/types.ts";
import type { PlacementNeed } from "./types.ts";

/** Plans `needs` of an every-host job onto their slots' hosts (`homes`: index -> host) and books the
 * placements in `index`. A need whose slot is gone or whose host is unknown is unplaced. */
export function planPinned(index: ClusterIndex, spec: JobSpec, needs: readonly PlacementNeed[], homes: ReadonlyMap<number, string>): { plan: Plan; clearedAvoid: Set<number> } {
  const plan: Plan = { job: spec.name, placements: [], unplaced: [] };
  const r = spec.resources;
  for (const n of needs) {
    const hostId = homes.get(n.index);
    const host = hostId === undefined ? null : index.host(hostId);
    if (hostId === undefined || host === null) {
      plan.unplaced.push({ index: n.index, reasons: {} });
      continue;
    }
    index.release(spec.name, n.index);
    const alone = new ClusterIndex([host], index.tasksOn(hostId), { taskOverheadMiB: TaskOverheadMiB });
    const one = alone.plan({ spec: { ...spec, spread: "none" }, indexes: [n.index] });
    if (one.placements.length === 0) {
      plan.unplaced.push({ index: n.index, reasons: one.unplaced[0]?.reasons ?? {} });
      continue;
    }
    index.assign({ job: spec.name, index: n.index, hostId, cpu: r.cpu, memoryMiB: r.memoryMiB, diskMiB: r.diskMiB, antiAffinity: spec.antiAffinity });
    plan.placements.push({ index: n.index, hostId });
  }
  return { plan, clearedAvoid: new Set() };
}
