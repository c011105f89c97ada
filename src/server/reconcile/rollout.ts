// The rollout controller's seam: which version each task should run now, and which tasks a rolling
// restart replaces now. Pure; the lifecycle (decide.ts) then brings each task to its target (stop the
// old attempt, start the new one; with maxSurge, start the new one beside the old). Two limits: the phase gate (a live Rollout's phases so far,
// rollout-step.ts: tasks outside them keep their version) and the job's disruption budget
// (../disruption.ts: as many replaced at a time as it allows, counting tasks that do not serve anyway
// against it). A task that does not serve is never held back by the budget (stopping it costs
// nothing), but a live one is by the phase gate: the server may not have read its start yet.

import { disruptionBudget } from "../disruption.ts";

/** What the controller knows of one task slot below the job's replica count. */
export interface RolloutSlot {
  index: number;
  /** The version the task runs now (null: no task yet). */
  version: number | null;
  /** It serves now (running, or healthy when the job has a health check). */
  ready: boolean;
  /** It has a live attempt the server still wants running (one a replacement must stop first). */
  live: boolean;
  /** Moving it to the job's version needs a new attempt (replaceCauses is not empty). */
  mustReplace: boolean;
  /** A rolling restart wants a new attempt of it (its live attempt started before the restart did). */
  stale?: boolean;
  /** It runs an extra copy while replacing (maxSurge): the new attempt starts, the old one still serves. */
  surging?: boolean;
}

/** How far a rollout may go now: which slots its phases reached, and how many tasks may be down. */
export interface RolloutGate {
  /** Tasks that may be down at once (the disruption budget, resolved). */
  budget: number;
  /** True when the rollout's phases so far include the slot (it may move now). */
  admitted(index: number): boolean;
  /** Extra tasks that may run while replacing (maxSurge, resolved); absent: none. */
  surge?: number;
}

/** The gate without phases: every slot admitted, the default budget (no Rollout record). */
export function openGate(replicas: number): RolloutGate {
  return { budget: disruptionBudget(replicas), admitted: () => true };
}

/** What the controller decided: the version each slot should run now, the slots a rolling restart
 * replaces now, and the slots that move by starting the new attempt beside the old one (surge). */
export interface RolloutTargets {
  versions: Map<number, number>;
  restart: Set<number>;
  surge: Set<number>;
}

/** The version each slot should run now, by index: the job's version, or (for a serving task held
 * back by the phase gate or the disruption budget) the one it runs; and which stale slots restart now.
 * `wanted`: the job's task indexes when they are not 0..replicas-1 (an every-host job's). */
export function rolloutTargets(jobVersion: number, replicas: number, slots: readonly RolloutSlot[], gate: RolloutGate = openGate(replicas), wanted?: readonly number[]): RolloutTargets {
  const versions = new Map<number, number>();
  const restart = new Set<number>();
  const surge = new Set<number>();
  const byIndex = new Map(slots.map((s) => [s.index, s]));
  let surging = slots.filter((s) => s.surging === true).length;
  let disrupted = 0;
  // The job's task indexes: 0..replicas-1, or (`wanted`) an every-host job's slots, holes and all.
  for (const i of wanted ?? Array.from({ length: replicas }, (_, k) => k)) if (!byIndex.get(i)?.ready) disrupted++;
  for (const s of [...slots].sort((a, b) => a.index - b.index)) {
    const moving = s.version !== null && s.version !== jobVersion && s.mustReplace;
    const restarting = !moving && s.version === jobVersion && s.stale === true;
    if (!(moving || restarting) || !s.live) {
      versions.set(s.index, jobVersion);
    } else if (!s.ready) {
      // Live but not serving as far as the server knows: counted as down already, so moving it uses
      // no budget; but only within the phase gate. Its "running" report may be on its way (the
      // server's view lags the agents'), and a phase's limit on who gets the new version holds for
      // every task that runs.
      const admitted = gate.admitted(s.index);
      versions.set(s.index, admitted ? jobVersion : (s.version ?? jobVersion));
      if (restarting && admitted) restart.add(s.index);
    } else if (gate.admitted(s.index) && disrupted < gate.budget) {
      disrupted++;
      versions.set(s.index, jobVersion);
      if (restarting) restart.add(s.index);
    } else if (moving && gate.admitted(s.index) && surging < (gate.surge ?? 0)) {
      // Over the unavailability budget, within the surge: the new attempt starts beside the old one,
      // which serves until the new one does.
      surging++;
      versions.set(s.index, jobVersion);
      surge.add(s.index);
    } else {
      versions.set(s.index, s.version ?? jobVersion);
    }
  }
  return { versions, restart, surge };
}
