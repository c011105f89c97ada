// What a user's command does to a rollout (`tiffin rollout pause|resume|promote|abort`). Pure: the
// route stores the answer (and, for an abort that rolls back, the rollback's writes).

import { isLiveRollout } from "../../model/index.ts";
import type { Rollout } from "../../model/index.ts";

/** The user commands on a live rollout. */
export const RolloutCommands = ["pause", "resume", "promote", "abort"] as const;
/** One of RolloutCommands. */
export type RolloutCommand = (typeof RolloutCommands)[number];

/** The rollout after the command, whether to roll back now, or why the command does not apply. */
export type CommandOutcome = { ok: true; rollout: Rollout; rollback: boolean } | { ok: false; problem: string; hint: string };

/** Applies a user's command to the job's latest rollout at `now`. */
export function applyRolloutCommand(r: Rollout | null, cmd: RolloutCommand, now: number): CommandOutcome {
  if (r === null || !isLiveRollout(r)) {
    const state = r === null ? "no rollout yet" : `its last rollout (version ${r.version}) ${r.state}`;
    return { ok: false, problem: `no rollout in progress to ${cmd} (${state})`, hint: cmd === "abort" ? "roll back a finished version with `tiffin revert JOB VERSION`" : "apply a new version, or `tiffin restart JOB`" };
  }
  const at = { updatedAt: now };
  switch (cmd) {
    case "pause":
      if (r.state === "paused") return { ok: false, problem: `the rollout of version ${r.version} is already paused`, hint: "resume it with `tiffin rollout resume JOB`" };
      return { ok: true, rollout: { ...r, ...at, state: "paused", why: "paused by a user" }, rollback: false };
    case "resume":
    case "promote": {
      if (cmd === "resume" && r.state === "running") return { ok: false, problem: `the rollout of version ${r.version} is not paused`, hint: "pause it with `tiffin rollout pause JOB`" };
      // A phase that failed (onFailure "pause") starts again from now: its checks judge it afresh.
      const phases = r.failure === null ? r.phases : r.phases.map((p, i) => (i === r.phase ? { ...p, startedAt: now, healthyAt: null, endedAt: null, outcome: null, checks: [] } : p));
      return { ok: true, rollout: { ...r, ...at, phases, state: "running", failure: null, why: null, promote: cmd === "promote" }, rollback: false };
    }
    case "abort": {
      const phases = r.phases.map((p, i) => (i === r.phase ? { ...p, endedAt: now, outcome: "failed" as const } : p));
      const back = r.from !== null;
      return {
        ok: true,
        rollout: { ...r, ...at, phases, state: back ? "failed" : "paused", failure: { phase: r.phase, check: "abort" }, endedAt: back ? now : null, why: back ? `aborted by a user in phase ${r.phase + 1}` : "aborted by a user; no older version to roll back to" },
        rollback: back,
      };
    }
  }
}
