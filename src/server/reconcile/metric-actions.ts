// What the reconciler does with the metric health checks that fired for a job's tasks: stop each
// such attempt (which decideJob answers with a restart or a move, counted as a failure) while the
// job's disruption budget (../disruption.ts, the one shared with rollouts and drains) has room, and
// hold the others back, saying so in the attempt (status shows it). Pure, table-tested.
//
// A task that does not serve anyway costs nothing to stop, so it is never held back; stopping a
// serving one makes it one more task down until its new attempt serves.

import { isTerminal } from "../../model/index.ts";
import type { Attempt } from "../../model/index.ts";
import { disruptionBudget } from "../disruption.ts";

/** One task slot below the job's replica count, as the decision sees it. */
export interface MetricSlot {
  index: number;
  /** The task's current attempt (null: none). */
  attempt: Attempt | null;
  /** It serves now (decide.ts isReady). */
  ready: boolean;
}

/** `budget`: the job's disruption budget (disruption.ts, from its spec's `rollout.maxUnavailable`).
 * The attempts to write: fired checks acted on ("acting", desired "stop") or held back (`held` set). */
export function metricActions(slots: readonly MetricSlot[], replicas: number, alsoDown: number, now: number, budget: number = disruptionBudget(replicas)): Attempt[] {
  let down = alsoDown + Math.max(0, replicas - slots.filter((s) => s.ready).length);
  const fired = slots
    .filter((s) => s.attempt !== null && s.attempt.metricAction?.state === "waiting" && s.attempt.desired === "run" && !isTerminal(s.attempt.state))
    .sort((a, b) => (a.attempt?.metricAction?.firedAt ?? 0) - (b.attempt?.metricAction?.firedAt ?? 0) || a.index - b.index);
  const out: Attempt[] = [];
  for (const s of fired) {
    const a = s.attempt;
    const m = a?.metricAction;
    if (!a || !m) continue;
    if (!s.ready || down < budget) {
      if (s.ready) down++;
      out.push({ ...a, desired: "stop", metricAction: { ...m, state: "acting", actedAt: now } });
    } else if (m.held === null || m.held.budget !== budget || m.held.down !== down) {
      out.push({ ...a, metricAction: { ...m, held: { at: m.held?.at ?? now, budget, down } } });
    }
  }
  return out;
}
