// `tiffin restart JOB[/INDEX]` as a pure decision: a parked task is released (placed afresh, clean
// failure count); a live one has its attempt stopped, which decideJob answers with a new attempt on
// the same host, not counted as a failure. An apply releases parked tasks the same way (routes/jobs.ts).

import { isTerminal } from "../../model/index.ts";
import type { Attempt, Task } from "../../model/index.ts";
import { unpark } from "./decide.ts";

/** The writes of a restart, and what each touched task gets. */
export interface RestartDecision {
  tasks: Task[];
  attempts: Attempt[];
  /** Per task index: "unparked" or "restarted"; tasks with nothing to restart (unplaced, already
   * stopping) are left out. */
  outcome: { index: number; action: "unparked" | "restarted" }[];
}

/** What restarting `tasks` does; `attempts` are the tasks' current ones, by id. `liveToo`: false
 * for an apply, which only releases parked tasks. */
export function restartTasks(tasks: readonly Task[], attempts: ReadonlyMap<string, Attempt>, liveToo: boolean): RestartDecision {
  const out: RestartDecision = { tasks: [], attempts: [], outcome: [] };
  for (const t of [...tasks].sort((a, b) => a.index - b.index)) {
    if (t.parked) {
      out.tasks.push(unpark(t));
      out.outcome.push({ index: t.index, action: "unparked" });
      continue;
    }
    const cur = t.attemptId ? attempts.get(t.attemptId) : undefined;
    if (!liveToo || !cur || isTerminal(cur.state) || cur.desired !== "run") continue;
    out.attempts.push({ ...cur, desired: "stop" });
    if (t.failures > 0) out.tasks.push({ ...t, failures: 0 });
    out.outcome.push({ index: t.index, action: "restarted" });
  }
  return out;
}
