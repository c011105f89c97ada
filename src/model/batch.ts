// Batch jobs (issue 18): the policy a job spec carries (`batch`), and the Run record the server keeps
// per start of such a job (its items, each item's attempts, why it ended). The decisions over them are
// pure functions in src/server/reconcile/batch-*.ts.
//
//   run:   queued ──> running ──> succeeded | failed | cancelled
//   item:  pending ──> running ──> succeeded
//             ^           │  └──> failed (retries spent, or stopped with its run) | cancelled
//             └───────────┘ (failed attempt, retries left: pending again after the back-off)
import { z } from "zod";
import type { Assert, TypesMatch } from "./resources.ts";

/** What a run does once an item has failed for good: stop the run at once (it fails), or finish the
 * other items and report (the success policy decides). */
export const FailedItemsPolicies = ["stop", "finish"] as const;
/** One of FailedItemsPolicies. */
export type FailedItemsPolicy = (typeof FailedItemsPolicies)[number];

/** A job's batch policy, compiled (durations in ms). A job with one runs to completion per run, and
 * runs only when started (`tiffin run`); it has no service tasks. */
export interface BatchPolicy {
  /** Items per run: `items.length` when items are given. */
  completions: number;
  /** At most this many items run at once. */
  parallelism: number;
  /** The work items, one task each (handed over as TIFFIN_ITEM); null: items are numbers 0..completions-1. */
  items: string[] | null;
  /** Failed attempts retried per item, with back-off initial * 2^(failures-1), capped at max. */
  retries: { limit: number; backoffInitialMs: number; backoffMaxMs: number };
  /** The whole run fails (its running items stopped) this long after it started; null: no deadline. */
  deadlineMs: number | null;
  /** Items that must succeed for the run to succeed; null: all of them. */
  successCount: number | null;
  failedItems: FailedItemsPolicy;
  /** Finished runs kept per job (older ones and their attempts' records are deleted). */
  keepRuns: number;
  /** Batch jobs this one runs after (a workflow, model/batch-after.ts): each run waits for the run of
   * each that was the newest when it was created, and is cancelled when one did not succeed. Absent: none. */
  after?: string[];
}

/** A BatchPolicy as stored (structural; limits are checked at apply). */
export const batchPolicySchema = z.object({
  completions: z.number(),
  parallelism: z.number(),
  items: z.array(z.string()).nullable(),
  retries: z.object({ limit: z.number(), backoffInitialMs: z.number(), backoffMaxMs: z.number() }),
  deadlineMs: z.number().nullable(),
  successCount: z.number().nullable(),
  failedItems: z.enum(FailedItemsPolicies),
  keepRuns: z.number(),
  after: z.array(z.string()).exactOptional(),
});

/** States of a run. */
export const RunStates = ["queued", "running", "succeeded", "failed", "cancelled"] as const;
/** One of RunStates. */
export type RunState = (typeof RunStates)[number];
/** States of one item of a run. */
export const RunItemStates = ["pending", "running", "succeeded", "failed", "cancelled"] as const;
/** One of RunItemStates. */
export type RunItemState = (typeof RunItemStates)[number];

/** One attempt of an item, as the run keeps it once it ended (the attempt record may be gone). */
export const runAttemptSchema = z.object({
  id: z.string(),
  hostId: z.string(),
  /** The attempt's terminal state (exited, stopped, failed, lost). */
  state: z.string(),
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  reason: z.string().nullable(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
});
/** One ended attempt of an item (runAttemptSchema). */
export type RunAttempt = z.infer<typeof runAttemptSchema>;

/** One item of a run. */
export const runItemSchema = z.object({
  index: z.number(),
  state: z.enum(RunItemStates),
  /** Failed attempts so far. */
  failures: z.number(),
  /** A pending item that failed is not started again before this time (back-off). */
  notBefore: z.number(),
  /** Ended attempts, oldest first. The running one is the task's (`/tasks/<job>/<slot>`). */
  attempts: z.array(runAttemptSchema),
});
/** One item of a run (runItemSchema). */
export type RunItem = z.infer<typeof runItemSchema>;

/** How many of a run's items are in each state. */
export const runProgressSchema = z.object({ pending: z.number(), running: z.number(), succeeded: z.number(), failed: z.number(), cancelled: z.number() });
/** A run's items counted by state (runProgressSchema). */
export type RunProgress = z.infer<typeof runProgressSchema>;

/** One run of a batch job (`/runs/<job>/<id>`). */
export const runSchema = z.object({
  job: z.string(),
  /** In answers, the job's namespace outside "default" (`job` is then its name there); stored records name the job by its id. */
  namespace: z.string().optional(),
  id: z.string(),
  /** The job version it runs (the desired one when it was started). */
  version: z.number(),
  state: z.enum(RunStates),
  /** Why it ended as it did, or why it waits. */
  reason: z.string().nullable(),
  /** Who started it: `tiffin run` (manual), a schedule or a dispatch. */
  cause: z.enum(["manual", "schedule", "dispatch"]),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  /** Dispatch parameters, handed to each task as TIFFIN_PARAM_<NAME>. */
  params: z.record(z.string(), z.string()),
  /** How many items the run has. */
  size: z.number(),
  /** Every item, in order. Stored apart (`/runitems/<job>/<id>/<index>`, one record an item, written
   * only once it leaves "pending"): the stored run record has none, so an item's change costs one
   * small write, not a rewrite of every item. The API's runs (GET) carry them all; the watch's do not. */
  items: z.array(runItemSchema),
  /** The items counted by state, kept in the stored record (written with every item change), so a
   * watch of runs, which carries no items, shows a run's progress (`tiffin run --wait`). Absent in
   * records of servers before it. */
  progress: runProgressSchema.optional(),
  /** The upstream runs ("job/id"; "job/" when that job had none) it waits for (its job's batch.after,
   * resolved when it was created). Absent: none. */
  after: z.array(z.string()).exactOptional(),
});
/** One run of a batch job (runSchema). */
export type Run = z.infer<typeof runSchema>;

/** What ties a task slot (and its attempts) to a run's item; absent on service tasks. */
export const batchRefSchema = z.object({
  run: z.string(),
  item: z.number(),
  /** The item's value (TIFFIN_ITEM): the spec's work item, or the index as text. */
  value: z.string(),
  params: z.record(z.string(), z.string()),
});
/** A task's or attempt's run and item (batchRefSchema). */
export type BatchRef = z.infer<typeof batchRefSchema>;

/** Longest dispatch parameter (the payload is one), in characters: each travels in the environment
 * of every task of the run. */
export const MaxParamChars = 65_536;

/** True once a run has ended. */
export function isRunOver(state: RunState): boolean {
  return state === "succeeded" || state === "failed" || state === "cancelled";
}

/** The value item `index` is given (TIFFIN_ITEM). */
export function itemValue(policy: BatchPolicy, index: number): string {
  return policy.items?.[index] ?? String(index);
}

/** Back-off before an item's next attempt after `failures` failed ones. */
export function retryBackoffMs(policy: BatchPolicy, failures: number): number {
  const r = policy.retries;
  return Math.min(r.backoffInitialMs * 2 ** Math.max(0, failures - 1), r.backoffMaxMs);
}

/** A new run of a job's version, queued, every item pending. */
export function newRun(o: { job: string; id: string; version: number; policy: BatchPolicy; cause: Run["cause"]; now: number; params?: Record<string, string>; after?: string[] }): Run {
  const items: RunItem[] = [];
  for (let index = 0; index < o.policy.completions; index++) items.push(pendingItem(index));
  const run: Run = { job: o.job, id: o.id, version: o.version, state: "queued", reason: null, cause: o.cause, createdAt: o.now, startedAt: null, endedAt: null, params: { ...(o.params ?? {}) }, size: items.length, items };
  if (o.after !== undefined && o.after.length > 0) run.after = [...o.after];
  return run;
}

/** Item `index` of a run as it is before its first change (no record stored for it yet). */
export function pendingItem(index: number): RunItem {
  return { index, state: "pending", failures: 0, notBefore: 0, attempts: [] };
}

/** Compile-time proof that the schema above and BatchPolicy are the same shape. */
export type BatchSchemaChecks = [Assert<TypesMatch<z.infer<typeof batchPolicySchema>, BatchPolicy>>];

/** What a fire does while the job's previous run is still going: "skip" it, "queue" a run after it,
 * or "replace" it (the running one is cancelled). */
export const OverlapPolicies = ["skip", "queue", "replace"] as const;
/** One of OverlapPolicies. */
export type OverlapPolicy = (typeof OverlapPolicies)[number];
/** What fires missed while no server led (an outage) do: "once" (one run for them all, at once), or "skip". */
export const MissedPolicies = ["once", "skip"] as const;
/** One of MissedPolicies. */
export type MissedPolicy = (typeof MissedPolicies)[number];

/** `schedule` of a batch job, compiled: when the leading server starts its runs (Kubernetes CronJob, Nomad periodic). */
export interface SchedulePolicy {
  /** A cron expression: 5 fields, or 6 with seconds first (croner's syntax). */
  cron: string;
  /** IANA time zone the expression is read in. */
  timeZone: string;
  overlap: OverlapPolicy;
  missed: MissedPolicy;
  /** Each fire is delayed by a stable pseudo-random share of this (the same on every server). */
  jitterMs: number;
}

/** A SchedulePolicy as stored (structural). */
export const schedulePolicySchema = z.object({
  cron: z.string(),
  timeZone: z.string(),
  overlap: z.enum(OverlapPolicies),
  missed: z.enum(MissedPolicies),
  jitterMs: z.number(),
});

/** `/schedules/<job>`: the schedule's last handled fire (its cron time), written in the transaction
 * that starts (or skips) the run of that fire, so a restart or a new leader neither loses nor repeats one. */
export const scheduleStateSchema = z.object({
  job: z.string(),
  lastFireAt: z.number(),
  /** The run the last fire started (null: it started none: skipped, or the first look). */
  lastRun: z.string().nullable(),
  /** What the last fire did, in words ("started", "skipped: run x still running", "missed 3 fires: ran once"). */
  note: z.string(),
});
/** The stored state of one job's schedule (scheduleStateSchema). */
export type ScheduleState = z.infer<typeof scheduleStateSchema>;

/** Compile-time proof that the schedule schema and SchedulePolicy are the same shape. */
export type ScheduleSchemaChecks = [Assert<TypesMatch<z.infer<typeof schedulePolicySchema>, SchedulePolicy>>];

/** A run's items counted by state. */
export function runProgressOf(items: readonly RunItem[]): RunProgress {
  const p: RunProgress = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const it of items) p[it.state]++;
  return p;
}

/** How many of a run's items succeeded, failed and run, of all (what `tiffin runs` and the dashboard
 * show): from its items, or from its `progress` when it comes without them (a watch's run). */
export function runItemCounts(r: Pick<Run, "items"> & Partial<Pick<Run, "size" | "progress">>): { succeeded: number; failed: number; running: number; total: number } {
  if (r.items.length === 0 && (r.size ?? 0) > 0) return { succeeded: r.progress?.succeeded ?? 0, failed: r.progress?.failed ?? 0, running: r.progress?.running ?? 0, total: r.size ?? 0 };
  const p = runProgressOf(r.items);
  return { succeeded: p.succeeded, failed: p.failed, running: p.running, total: r.items.length };
}
