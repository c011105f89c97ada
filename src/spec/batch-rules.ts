// The rules of a `batch` part of a spec, shared by the check of what users write (batch-input.ts) and
// the strict check of the compiled spec the server receives (canonical.ts). Pure.
import type { BatchPolicy } from "../model/index.ts";

/** Most items one run may have (each is a line of the run record). */
export const MaxBatchItems = 10_000;
/** Most items of one run running at once. */
export const MaxParallelism = 1000;
/** Longest work item value, in characters (it travels as TIFFIN_ITEM). */
export const MaxItemLength = 4096;
/** Most jobs one batch job runs after (`batch.after`). */
export const MaxAfter = 16;
/** A job's name as `batch.after` names it (input.ts's jobNamePattern; not imported: input.ts imports this file's users). */
export const AfterJobPattern = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Most bytes the work items of one spec may add up to (UTF-8): the spec travels in one request of at
 * most 1 MiB, and each version is kept. Larger inputs belong in a file the items name. */
export const MaxItemsBytes = 512 * 1024;

/** A count as users read it: 10,000. */
export const count = (n: number): string => n.toLocaleString("en-US");

/** A problem between fields of a batch policy: the field it belongs to, and why. */
export interface BatchProblem {
  field: "completions" | "success" | "retries" | "items" | "parallelism";
  message: string;
}

/** Problems between the fields of a compiled batch policy (each field's own range is its schema's). */
export function batchPolicyProblems(p: Pick<BatchPolicy, "completions" | "items" | "successCount" | "retries">): BatchProblem[] {
  const out: BatchProblem[] = [];
  if (p.items !== null && p.items.length !== p.completions) {
    out.push({ field: "completions", message: `completions is the number of items: ${p.items.length} items given, completions ${p.completions}; give one or the other` });
  }
  if (p.successCount !== null && p.successCount > p.completions) {
    out.push({ field: "success", message: `${p.successCount} items can never succeed in a run of ${p.completions}: success must be "all" or at most completions` });
  }
  const utf8 = new TextEncoder();
  const bytes = (p.items ?? []).reduce((n, it) => n + utf8.encode(it).length, 0);
  if (bytes > MaxItemsBytes) {
    out.push({ field: "items", message: `the items are ${count(bytes)} bytes together; at most ${count(MaxItemsBytes)}: name larger inputs (files, keys) in the items instead of the data itself` });
  }
  if (p.retries.backoffInitialMs > p.retries.backoffMaxMs) {
    out.push({ field: "retries", message: "the back-off's initial delay is longer than its max" });
  }
  return out;
}
