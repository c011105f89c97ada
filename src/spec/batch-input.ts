// The zod schema of the `batch` part of a spec as users write it (issue 18): completions or work
// items, parallelism, retries with back-off, a deadline, a success policy and what failed items do.
// Its output has durations in ms; compile.ts makes the BatchPolicy (compileBatch below).
import { z } from "zod";
import { durationMs } from "./duration-schema.ts";
import { FailedItemsPolicies } from "../model/index.ts";
import type { BatchPolicy } from "../model/index.ts";
import { AfterJobPattern, batchPolicyProblems, count, MaxAfter, MaxBatchItems, MaxItemLength, MaxParallelism } from "./batch-rules.ts";

/** "at most 10,000 items; 10,001 asked for": the limit and what was asked, both as numbers. */
const tooMany = (what: string, max: number, verb: string) => (iss: { input?: unknown }): string =>
  `${what.replace("N", count(max))}; ${count(Array.isArray(iss.input) ? iss.input.length : Number(iss.input))} ${verb}`;

const durationMessage = 'expected a duration such as "500ms", "30s", "5m" or "1h"';

const duration = (minMs: number, maxMs: number) => durationMs(minMs, maxMs, durationMessage);

const item = z
  .union([z.string().max(MaxItemLength, { error: `an item is at most ${MaxItemLength} characters` }), z.number()], { error: "expected an item: a string or a number" })
  .refine((v) => typeof v === "number" || !v.includes("\0"), { error: "an item may not contain NUL (it is handed over in the environment)" })
  .transform((v) => String(v));

/** `batch`: the job runs to completion, once per run (`tiffin run`), instead of being kept running. */
export const batchInputSchema = z
  .strictObject({
    completions: z.number().int().min(1).max(MaxBatchItems, { error: tooMany("a run has at most N items", MaxBatchItems, "asked for") }).optional().describe("Items per run (default: the number of `items`, else 1)."),
    parallelism: z.number().int().min(1).max(MaxParallelism, { error: tooMany("at most N items run at once", MaxParallelism, "asked for") }).default(1).describe("At most this many items run at once."),
    items: z.array(item).min(1).max(MaxBatchItems, { error: tooMany("a run has at most N items", MaxBatchItems, "given") }).nullable().default(null).describe("Work items, one task each: TIFFIN_ITEM (and TIFFIN_ITEM_INDEX)."),
    retries: z
      .strictObject({
        limit: z.number().int().min(0).max(100).default(3).describe("Failed attempts retried per item."),
        backoff: z.strictObject({ initial: duration(1, 3_600_000).prefault("1s"), max: duration(1, 3_600_000).prefault("1m") }).prefault({}),
      })
      .prefault({}),
    deadline: duration(1000, 7 * 24 * 3_600_000).nullable().default(null).describe("The run fails, its running items stopped, this long after it started."),
    success: z
      .union([z.literal("all", { error: 'expected "all" or a number of items' }), z.number().int().min(1).max(MaxBatchItems)], { error: 'expected "all" or a number of items' })
      .default("all")
      .describe('Items that must succeed: "all", or N of the run\'s items.'),
    failedItems: z.enum(FailedItemsPolicies).default("finish").describe('An item that failed for good: "stop" the run at once, or "finish" the others and report.'),
    keep: z.number().int().min(1).max(1000).default(20).describe("Finished runs kept (their records, attempts and logs)."),
    after: z
      .array(z.string().regex(AfterJobPattern, { error: "expected a batch job's name" }))
      .max(MaxAfter, { error: `a job runs after at most ${MaxAfter} jobs` })
      .refine((a) => new Set(a).size === a.length, { error: "each job is named once" })
      .default([])
      .describe("Batch jobs this one runs after: each run waits for their newest runs to succeed (cancelled if one does not)."),
  })
  .superRefine((b, ctx) => {
    for (const p of batchPolicyProblems(compileBatch(b))) {
      // The count disagreeing with the items is said where it was written.
      if (p.field === "completions" && b.completions === undefined) continue;
      ctx.addIssue({ code: "custom", path: p.field === "retries" ? ["retries", "backoff", "initial"] : [p.field], message: p.message });
    }
  });

/** `batch` after field validation. */
export type ParsedBatch = z.output<typeof batchInputSchema>;

/** The BatchPolicy of a parsed `batch` part. */
export function compileBatch(b: ParsedBatch): BatchPolicy {
  const completions = b.completions ?? b.items?.length ?? 1;
  return {
    completions,
    parallelism: b.parallelism,
    items: b.items === null ? null : [...b.items],
    retries: { limit: b.retries.limit, backoffInitialMs: b.retries.backoff.initial, backoffMaxMs: b.retries.backoff.max },
    deadlineMs: b.deadline,
    successCount: b.success === "all" ? null : b.success,
    failedItems: b.failedItems,
    keepRuns: b.keep,
    ...(b.after.length > 0 ? { after: [...b.after] } : {}),
  };
}
