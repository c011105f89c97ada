// The baseline: score every host for every task. Same context, filters, scores and key as the fast
// planner; only the candidate generation differs. Used by the benchmark and by the property test
// that holds the fast planner to the same plan.

import type { Plan, PlanRequest, RejectReason } from "./types.ts";
import { compareKeys, evaluate, keyOf } from "./pipeline.ts";
import type { PoolRegistry } from "./pools.ts";
import { keysFor } from "./search.ts";
import { closePlan, openPlan, place, setAvoid } from "./session.ts";
import type { ClusterState } from "./state.ts";

/** Plans a request by looking at every host for every task. O(hosts) per placement. */
export function naivePlanState(st: ClusterState, pools: PoolRegistry, req: PlanRequest): Plan {
  const s = openPlan(st, pools, req);
  const ctx = s.ctx;
  const keys = keysFor(ctx);
  const plan: Plan = { job: req.spec.name, placements: [], unplaced: [] };
  try {
    for (const index of s.indexes) {
      setAvoid(s, req.avoid?.[index]);
      const reasons: Partial<Record<RejectReason, number>> = {};
      let best = -1;
      for (let slot = 0; slot < st.capacity; slot++) {
        if (st.hosts[slot] === null) continue;
        const r = evaluate(ctx, slot);
        if (r !== null) {
          reasons[r] = (reasons[r] ?? 0) + 1;
          continue;
        }
        keyOf(ctx, slot, keys.cand);
        if (best < 0 || compareKeys(keys.cand, keys.best, keys.n) > 0) {
          best = slot;
          const t = keys.best;
          keys.best = keys.cand;
          keys.cand = t;
        }
      }
      if (best >= 0) {
        place(s, best);
        plan.placements.push({ index, hostId: st.hosts[best]!.id });
      } else {
        plan.unplaced.push({ index, reasons });
      }
    }
  } finally {
    closePlan(s);
  }
  return plan;
}
