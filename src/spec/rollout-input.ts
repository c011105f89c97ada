// The zod schema of the `rollout` part of a spec as users write it: phases, bake, deadline, budget and
// what a failed phase does. Its output has durations in ms; compile.ts makes the RolloutPolicy.
import { z } from "zod";
import { durationMs } from "./duration-schema.ts";
import { DefaultRolloutPolicy, RolloutFailureActions, RolloutInconclusiveActions } from "../model/index.ts";
import type { RolloutPhaseSpec, TaskCount } from "../model/index.ts";
import { rolloutChecksInputSchema } from "./rollout-checks.ts";
import { bakeProblem, phaseOrderProblems, phaseProblem, taskCountProblem, zeroBudgetProblem } from "./rollout-rules.ts";

const durationMessage = 'expected a duration such as "30s", "5m" or "1h"';

const duration = (minMs: number, maxMs: number) => durationMs(minMs, maxMs, durationMessage);

/** One phase: a count, a share, a failure-domain level or "all" (rollout-rules.ts phaseProblem). The
 * union of number and string keeps the JSON Schema; the refinement is the rule. */
const phase = (z.union([z.number(), z.string()], { error: 'expected a phase: a task count, a share such as "10%", "rack", "cluster", "datacenter" or "all"' }) as unknown as z.ZodType<RolloutPhaseSpec, RolloutPhaseSpec>)
  .superRefine((v, ctx) => {
    const problem = phaseProblem(v);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  });

/** A budget of tasks: a count of at least `min`, or a share such as "10%". */
function taskCount(min: 0 | 1) {
  return (z.union([z.number(), z.string()], { error: 'expected a number of tasks or a share such as "10%"' }) as unknown as z.ZodType<TaskCount, TaskCount>)
    .superRefine((v, ctx) => {
      const problem = taskCountProblem(v, min);
      if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
    });
}

/** The `rollout` part of a job as users write it. Field docs: job-input.ts (RolloutInput). */
export const rolloutInputSchema = z
  .strictObject({
    phases: z
      .array(phase)
      .min(1, { error: "at least one phase" })
      .max(10, { error: "at most 10 phases" })
      .superRefine((phases, ctx) => {
        for (const p of phaseOrderProblems(phases)) ctx.addIssue({ code: "custom", path: [p.index], message: p.message });
      })
      .nullable()
      .default(null)
      .describe('Phases by count, share or failure domain, e.g. [1, "10%", "cluster", "all"]; null: chosen by the job\'s size and spread.'),
    bake: duration(0, 24 * 3_600_000).prefault("0s").describe("How long each phase's tasks must stay healthy before the next phase."),
    deadline: duration(1000, 24 * 3_600_000).prefault("5m").describe("How long a phase may take, bake included, before it fails."),
    maxUnavailable: taskCount(0).default(DefaultRolloutPolicy.maxUnavailable).describe("At most this many tasks of the job down at once for a voluntary cause (a count or a share); 0: none (drains and windows wait, a rollout needs maxSurge)."),
    maxSurge: taskCount(0).default(DefaultRolloutPolicy.maxSurge).describe("Extra tasks allowed while replacing."),
    onFailure: z.enum(RolloutFailureActions).default("rollback").describe('"rollback" every new task to the last good version, or "pause" for a human.'),
    checks: rolloutChecksInputSchema.optional().describe("Safety checks judged during each bake: health, crash rate, metric comparisons, efficiency, custom checks."),
    inconclusive: z.enum(RolloutInconclusiveActions, { error: 'expected "fail", "pause" or "pass"' }).default("fail").describe('Checks still inconclusive at the deadline: "fail" (then onFailure), "pause", or "pass".'),
  })
  .superRefine((r, ctx) => {
    const problem = bakeProblem(r.bake, r.deadline);
    if (problem !== null) ctx.addIssue({ code: "custom", path: ["bake"], message: problem });
    const zero = zeroBudgetProblem(r.maxUnavailable, r.maxSurge);
    if (zero !== null) ctx.addIssue({ code: "custom", path: ["maxUnavailable"], message: zero });
  });
