// The store transaction of a restart (routes/restart.ts) or of an apply that releases parked tasks
// (routes/jobs.ts): the pure decision of reconcile/restart-task.ts, guarded by the modRevisions read.

import type { Attempt } from "../../model/index.ts";
import type { Compare, Op } from "../../state/store.ts";
import { attemptKey, Kinds, taskKey } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { restartTasks } from "../reconcile/restart-task.ts";
import type { RestartDecision } from "../reconcile/restart-task.ts";

/** The guarded txn of a restart of job `name`'s tasks (`index` null: all), with its outcome; null
 * when there is nothing to write. `liveToo` false only releases parked tasks (what an apply does). */
export function restartTxn(m: Mirror, name: string, index: number | null, liveToo: boolean): { compare: Compare[]; success: Op[]; outcome: RestartDecision["outcome"] } | null {
  const byIndex = m.tasks.get(name);
  const tasks = [...(byIndex?.values() ?? [])].map((e) => e.value).filter((t) => index === null || t.index === index);
  const atts = new Map<string, Attempt>();
  for (const t of tasks) {
    const a = t.attemptId ? m.attempts.get(t.attemptId)?.value : undefined;
    if (a) atts.set(a.id, a);
  }
  const d = restartTasks(tasks, atts, liveToo);
  if (d.tasks.length + d.attempts.length === 0) return null;
  const keys = [...d.tasks.map((t) => taskKey(name, t.index)), ...d.attempts.map((a) => attemptKey(a.id))];
  return {
    compare: keys.map((key) => ({ key, target: "modRevision" as const, op: "==" as const, value: m.modRevision(key) })),
    success: [...d.tasks.map((t) => ({ type: "put" as const, key: taskKey(name, t.index), value: Kinds.task.encode(t) })), ...d.attempts.map((a) => ({ type: "put" as const, key: attemptKey(a.id), value: Kinds.attempt.encode(a) }))],
    outcome: d.outcome,
  };
}

