// What a scheduled batch job's next look does (issue 18), as a pure function: which cron fire is due
// (its jitter passed), whether it was missed (later than `LateMs`: an outage, no leader) and what the
// policies make of it: a new run, a skip, a queued run, or a run that replaces the one going on.
//
// A fire is identified by its cron time: the run it starts is `s<time>`, created only if absent, and
// `/schedules/<job>` records the time in the same transaction (schedules.ts). So a fire is handled
// once whatever the servers do: a restart or a new leader starts from the recorded time (nothing
// lost), and two servers racing on one fire cannot both write it (nothing doubled).

import { isRunOver, newRun } from "../../model/index.ts";
import type { BatchPolicy, Run, SchedulePolicy, ScheduleState } from "../../model/index.ts";
import { seedOf } from "./inputs.ts";

/** A fire handled later than this after its time (jitter included) counts as missed. */
export const LateMs = 5000;

/** What decideFire reads. `fireTimes(after, until)`: the cron times in (after, until], oldest first. */
export interface FireInput {
  job: string;
  version: number;
  schedule: SchedulePolicy;
  batch: BatchPolicy;
  state: ScheduleState | null;
  runs: readonly Run[];
  now: number;
  fireTimes: (after: number, until: number) => number[];
  lateMs?: number;
}

/** The writes of one look: the new schedule state, a run to create, runs to cancel (replaced). */
export type FireDecision = { kind: "none" } | { kind: "write"; state: ScheduleState; run: Run | null; cancel: Run[] };

/** The id of the run a fire at `at` starts. */
export function scheduledRunId(at: number): string {
  return `s${String(at).padStart(13, "0")}`;
}

/** The fire at `at` is delayed by this: a stable share of the jitter, the same on every server. */
export function jitterOf(job: string, at: number, jitterMs: number): number {
  return jitterMs <= 0 ? 0 : seedOf(`${job}@${at}`) % (jitterMs + 1);
}

/** The decision for one scheduled job now. */
export function decideFire(inp: FireInput): FireDecision {
  const { job, schedule, now } = inp;
  // First look at a (new) schedule: fires count from now, none from before the job had it.
  if (inp.state === null) return { kind: "write", state: { job, lastFireAt: now, lastRun: null, note: "schedule started" }, run: null, cancel: [] };
  const due = inp.fireTimes(inp.state.lastFireAt, now).filter((t) => t + jitterOf(job, t, schedule.jitterMs) <= now);
  const latest = due.at(-1);
  if (latest === undefined) return { kind: "none" };
  const late = now - (latest + jitterOf(job, latest, schedule.jitterMs)) > (inp.lateMs ?? LateMs);
  const missed = due.length - 1 + (late ? 1 : 0);
  const missedNote = missed > 0 ? `missed ${missed} fire${missed === 1 ? "" : "s"}` : "";
  if (late && schedule.missed === "skip") return { kind: "write", state: { job, lastFireAt: latest, lastRun: null, note: `${missedNote} (missed: skip)` }, run: null, cancel: [] };
  const id = scheduledRunId(latest);
  const busy = inp.runs.filter((r) => !isRunOver(r.state) && r.id !== id);
  const prefix = missedNote === "" ? "" : `${missedNote}, ran once; `;
  if (busy.length > 0 && schedule.overlap === "skip") {
    const b = busy[0];
    return { kind: "write", state: { job, lastFireAt: latest, lastRun: null, note: `${prefix}skipped: run ${b?.id ?? "?"} is still ${b?.state ?? "going"} (overlap: skip)` }, run: null, cancel: [] };
  }
  const exists = inp.runs.some((r) => r.id === id);
  const run = exists ? null : newRun({ job, id, version: inp.version, policy: inp.batch, cause: "schedule", now });
  const cancel = schedule.overlap === "replace"
    ? busy.map((r) => ({ ...r, state: "cancelled" as const, reason: `replaced by scheduled run ${id} (overlap: replace)`, endedAt: now, items: r.items.map((it) => (it.state === "pending" ? { ...it, state: "cancelled" as const } : it)) }))
    : [];
  const what = busy.length === 0 ? "started" : schedule.overlap === "queue" ? "queued after the running one (overlap: queue)" : `started, replacing ${busy.map((r) => r.id).join(", ")} (overlap: replace)`;
  return { kind: "write", state: { job, lastFireAt: latest, lastRun: id, note: `${prefix}${what}` }, run, cancel };
}
