// The rollout controller: which version each task should run now. Pure; the lifecycle (decide.ts)
// then brings each task to its target (stop the old attempt, start the new one). Today's one policy
// replaces as many tasks at a time as the job's disruption budget allows (../disruption.ts),
// counting tasks that do not serve anyway against it, and never holds back a task that does not serve: stopping it costs
// nothing. Canaries, pauses and other strategies plug in here.

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
}

/** The version each slot should run now, by index: the job's version, or (for a serving task held
 * back by the disruption budget) the one it runs. */
export function rolloutTargets(jobVersion: number, replicas: number, slots: readonly RolloutSlot[]): Map<number, number> {
  const out = new Map<number, number>();
  const maxDisrupted = disruptionBudget(replicas);
  const byIndex = new Map(slots.map((s) => [s.index, s]));
  let disrupted = 0;
  for (let i = 0; i < replicas; i++) if (!byIndex.get(i)?.ready) disrupted++;
  for (const s of [...slots].sort((a, b) => a.index - b.index)) {
    if (s.version === null || s.version === jobVersion || !s.mustReplace || !s.live || !s.ready) {
      out.set(s.index, jobVersion);
    } else if (disrupted < maxDisrupted) {
      disrupted++;
      out.set(s.index, jobVersion);
    } else {
      out.set(s.index, s.version);
    }
  }
  return out;
}
