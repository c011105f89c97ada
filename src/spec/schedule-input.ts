// The zod schema of the `schedule` part of a batch job as users write it (issue 18): a cron
// expression (croner's syntax, 5 fields or 6 with seconds), its time zone, what a fire does while the
// previous run goes on, what fires missed during an outage do, and a jitter.
import { z } from "zod";
import { durationMs } from "./duration-schema.ts";
import { MissedPolicies, OverlapPolicies } from "../model/index.ts";
import type { SchedulePolicy } from "../model/index.ts";
import { cronProblem, timeZoneProblem } from "./schedule-rules.ts";

const durationMessage = 'expected a duration such as "0s", "30s" or "5m"';
const jitter = durationMs(0, 3_600_000, durationMessage, "must be between 0s and 1h");

/** `schedule`: the leading server starts a run at every fire of `cron`. */
export const scheduleInputSchema = z.strictObject({
  cron: z.string({ error: 'expected a cron expression such as "*/5 * * * *"' }).superRefine((c, ctx) => {
    const p = cronProblem(c);
    if (p !== null) ctx.addIssue({ code: "custom", message: p });
  }).describe('When: 5 fields ("*/5 * * * *"), or 6 with seconds first ("*/2 * * * * *").'),
  timeZone: z.string().superRefine((tz, ctx) => {
    const p = timeZoneProblem(tz);
    if (p !== null) ctx.addIssue({ code: "custom", message: p });
  }).default("UTC").describe('The IANA time zone `cron` is read in ("Europe/Berlin").'),
  overlap: z.enum(OverlapPolicies).default("skip").describe('A fire while the previous run goes on: "skip" it, "queue" a run after it, or "replace" it.'),
  missed: z.enum(MissedPolicies).default("once").describe('Fires missed while no server led: "once" (one run for them all) or "skip".'),
  jitter: jitter.prefault("0s").describe("Delay each fire by a stable random share of this."),
});

/** The SchedulePolicy of a parsed `schedule`. */
export function compileSchedule(s: z.output<typeof scheduleInputSchema>): SchedulePolicy {
  return { cron: s.cron, timeZone: s.timeZone, overlap: s.overlap, missed: s.missed, jitterMs: s.jitter };
}
