// The fast planner: the pipeline over the few hosts search.ts offers, and reject reasons counted
// over every host only for tasks that found no place (an explanation is worth O(hosts); a placement
// is not).

import type { Plan, PlanRequest, RejectReason } from "./types.ts";
import type { PlanContext } from "./context.ts";
import { evaluate } from "./pipeline.ts";
import type { PoolRegistry } from "./pools.ts";
import { DomainWalk, keysFor } from "./search.ts";
import { closePlan, openPlan, place, setAvoid } from "./session.ts";
import type { ClusterState } from "./state.ts";

/** Plans a request against the state, leaving the state as it found it. */
export function fastPlan(st: ClusterState, pools: PoolRegistry, req: PlanRequest): Plan {
  const s = openPlan(st, pools, req);
  const ctx = s.ctx;
  const plan: Plan = { job: req.spec.name, placements: [], unplaced: [] };
  try {
    const walk = new DomainWalk(ctx, keysFor(ctx), st.domains(ctx.level));
    // Once a task without an avoid list finds no host, no later one can: a plan only adds load.
    let exhausted: Partial<Record<RejectReason, number>> | null = null;
    let exhaustedAt = -1;
    for (const index of s.indexes) {
      setAvoid(s, req.avoid?.[index]);
      let slot = -1;
      if (ctx.avoid !== null) slot = walk.nextAvoiding();
      else if (exhausted === null) slot = walk.next();
      if (slot >= 0) {
        place(s, slot);
        plan.placements.push({ index, hostId: st.hosts[slot]!.id });
        continue;
      }
      if (ctx.avoid !== null) {
        plan.unplaced.push({ index, reasons: countReasons(ctx) });
        continue;
      }
      if (exhausted === null || exhaustedAt !== plan.placements.length) {
        exhausted = countReasons(ctx);
        exhaustedAt = plan.placements.length;
      }
      plan.unplaced.push({ index, reasons: { ...exhausted } });
    }
  } finally {
    closePlan(s);
  }
  return plan;
}

/** Why no host can take the current task: each host counted once, under the first filter it fails. */
export function countReasons(ctx: PlanContext): Partial<Record<RejectReason, number>> {
  const st = ctx.st;
  const out: Partial<Record<RejectReason, number>> = {};
  for (let slot = 0; slot < st.capacity; slot++) {
    if (st.hosts[slot] === null) continue;
    const r = evaluate(ctx, slot);
    if (r === null) throw new Error(`scheduler bug: host ${st.hosts[slot]!.id} passes every filter but was not found`);
    out[r] = (out[r] ?? 0) + 1;
  }
  return out;
}
