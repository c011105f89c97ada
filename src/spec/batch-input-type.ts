// The documented type of a spec's `batch` part, as users import it (job-input.ts proves it equal to
// batch-input.ts's schema input, keys included).
import type { FailedItemsPolicy, MissedPolicy, OverlapPolicy } from "../model/index.ts";
import type { Duration } from "./units.ts";

/** A batch job (Kubernetes Jobs, Nomad batch): each run (`tiffin run JOB`) runs `completions` items (or
 * one per work item) to completion, `parallelism` at a time; an item whose task exits 0 is done. */
export interface BatchInput {
  /** Items per run. @default the number of `items`, else 1 */
  completions?: number | undefined;
  /** At most this many items run at once (1 to 1000). @default 1 */
  parallelism?: number | undefined;
  /** Work items, one task each: handed over as TIFFIN_ITEM, with TIFFIN_ITEM_INDEX. @default null (items are 0..completions-1) */
  items?: (string | number)[] | null | undefined;
  /** Retries of a failed item (exit code not 0, killed, lost host). @default { limit: 3, backoff: { initial: "1s", max: "1m" } } */
  retries?: {
    /** Failed attempts retried per item. @default 3 */
    limit?: number | undefined;
    /** Delay before a retry: initial, doubled per failure, capped at max. @default { initial: "1s", max: "1m" } */
    backoff?: { initial?: Duration | undefined; max?: Duration | undefined } | undefined;
  } | undefined;
  /** The run fails, its running items stopped, this long after it started. @default null (none) */
  deadline?: Duration | null | undefined;
  /** Items that must succeed for the run to succeed: "all", or N of them (N of M). @default "all" */
  success?: "all" | number | undefined;
  /** An item that failed for good: "stop" the run at once (it fails), or "finish" the others and report. @default "finish" */
  failedItems?: FailedItemsPolicy | undefined;
  /** Finished runs kept, with their attempts and logs. @default 20 */
  keep?: number | undefined;
  /** Batch jobs this one runs after (a workflow): each run waits for the newest run of each (when it
   * was created) to succeed, and is cancelled with the reason if one does not. Cycles are refused. @default [] */
  after?: string[] | undefined;
}

/** When the leading server starts runs of a batch job by itself (Kubernetes CronJob, Nomad periodic). */
export interface ScheduleInput {
  /** A cron expression: 5 fields ("*\/5 * * * *"), or 6 with seconds first ("*\/2 * * * * *"). */
  cron: string;
  /** The IANA time zone `cron` is read in. @default "UTC" */
  timeZone?: string | undefined;
  /** A fire while the previous run goes on: "skip" it, "queue" a run after it, or "replace" it (cancelled). @default "skip" */
  overlap?: OverlapPolicy | undefined;
  /** Fires missed while no server led (an outage): "once" (one run for them all, at once) or "skip". @default "once" */
  missed?: MissedPolicy | undefined;
  /** Delay each fire by a stable pseudo-random share of this. @default "0s" */
  jitter?: Duration | undefined;
}
