// The batch jobs' part of a reconcile pass: builds decideBatch's input from the mirror and turns its
// decision into a write set (tasks and attempts as decide.ts's are written; runs guarded by their own
// compares), so a pass commits a batch job's run, tasks and freed resources in one transaction.

import { isRunOver } from "../../model/index.ts";
import type { Mirror } from "../mirror.ts";
import { runById, runDeletes, runsOf, runWrites, upstreamRun } from "../run-store.ts";
import type { WriteSet } from "./commit.ts";
import { decideBatch } from "./batch-decide.ts";
import type { JobInput } from "./types.ts";

/** The writes of one batch job's decision, and whether the job waits for nothing but a change (no
 * run going: the full passes may skip it). */
export function batchWrites(m: Mirror, inp: JobInput): { ws: WriteSet; atRest: boolean } {
  const runs = runsOf(m, inp.job.name);
  const d = decideBatch({ ...inp, runs, upstream: (job, id) => upstreamRun(m, job, id) });
  const ws: WriteSet = { tasks: d.putTasks, deleteTasks: d.deleteTasks.map((index) => ({ job: inp.job.name, index })), attempts: d.putAttempts, deleteAttempts: d.deleteAttempts };
  if (d.putRuns.length + d.deleteRuns.length > 0) {
    ws.other = { compare: [], success: [] };
    // Each run against the very objects the decision read, so its unchanged items compare by reference.
    const read = new Map(runs.map((r) => [r.id, r]));
    for (const r of d.putRuns) {
      const w = runWrites(m, read.get(r.id) ?? runById(m, r.job, r.id), r);
      ws.other.compare.push(...w.compare);
      ws.other.success.push(...w.success);
    }
    for (const id of d.deleteRuns) {
      const w = runDeletes(m, inp.job.name, id);
      ws.other.compare.push(...w.compare);
      ws.other.success.push(...w.success);
    }
  }
  const going = runs.some((r) => !isRunOver(r.state)) || d.putRuns.some((r) => !isRunOver(r.state)) || inp.tasks.length > 0;
  return { ws, atRest: !going && d.putRuns.length + d.deleteRuns.length + d.putTasks.length + d.deleteTasks.length + d.putAttempts.length + d.deleteAttempts.length === 0 };
}
