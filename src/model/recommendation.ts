// What the recommender answers for a job (`GET /v1/jobs/:name/recommendation`, `tiffin recommend`):
// the current resources, the recommended ones (or why there are none) and the evidence behind them.
import { z } from "zod";
import { resourcesSchema } from "./resources.ts";

/** How a recommendation is computed: the server's settings, shown with every answer. */
export const recommendPolicySchema = z.object({
  /** Usage history looked at, ms (at most the history's 24 h). */
  windowMs: z.number(),
  /** The CPU percentile recommended (0.95: a task may use more 5% of the time, slowed, never killed). */
  percentile: z.number(),
  /** Added above what was seen: 0.15 asks for 15% more. */
  headroom: z.number(),
  /** Fewer samples (all tasks together, one per task per minute) than this: no recommendation. */
  minSamples: z.number(),
});
/** How a recommendation is computed (recommendPolicySchema). */
export type RecommendPolicy = z.infer<typeof recommendPolicySchema>;

/** One task's figures in the window: CPU in cores, memory in MiB (null without samples that say). */
export const taskEvidenceSchema = z.object({
  index: z.number(),
  samples: z.number(),
  cpuP50: z.number().nullable(),
  /** At the policy's percentile. */
  cpuPct: z.number().nullable(),
  cpuPeak: z.number().nullable(),
  memoryP50MiB: z.number(),
  memoryP99MiB: z.number(),
  memoryPeakMiB: z.number(),
});
/** One task's figures (taskEvidenceSchema). */
export type TaskEvidence = z.infer<typeof taskEvidenceSchema>;

/** The figures a recommendation stands on. CPU in cores, memory in MiB. */
export const recommendEvidenceSchema = z.object({
  /** Epoch ms of the oldest and newest sample used (null without samples). */
  from: z.number().nullable(),
  to: z.number().nullable(),
  samples: z.number(),
  tasks: z.number(),
  cpu: z.object({
    p50: z.number().nullable(),
    /** At the policy's percentile. */
    pct: z.number().nullable(),
    peak: z.number().nullable(),
    /** Share of wall time the tasks were held back by their CPU limit (cgroup throttling), 0..1. */
    throttledShare: z.number().nullable(),
  }),
  memory: z.object({
    p50MiB: z.number().nullable(),
    p99MiB: z.number().nullable(),
    peakMiB: z.number().nullable(),
    /** Growth of the tasks' memory, MiB per hour (least squares over the window). */
    trendMiBPerHour: z.number().nullable(),
    /** Attempts the kernel's OOM killer struck in the window, and the largest limit they had. */
    oomKills: z.number(),
    oomLimitMiB: z.number().nullable(),
  }),
  /** The same figures per task, by index: one task far above the others shows here. */
  perTask: z.array(taskEvidenceSchema),
});
/** The figures a recommendation stands on (recommendEvidenceSchema). */
export type RecommendEvidence = z.infer<typeof recommendEvidenceSchema>;

/** One field the recommendation changes, and why, in words. */
export const recommendChangeSchema = z.object({
  field: z.enum(["cpu", "memoryMiB"]),
  from: z.number(),
  to: z.number(),
  why: z.string(),
});
/** One changed field (recommendChangeSchema). */
export type RecommendChange = z.infer<typeof recommendChangeSchema>;

/** A job's recommendation. */
export const recommendationSchema = z.object({
  job: z.string(),
  /** In answers, the job's namespace outside "default" (`job` is then its name there); stored records name the job by its id. */
  namespace: z.string().optional(),
  /** The job version whose resources are `current`. */
  version: z.number(),
  current: resourcesSchema,
  /** null when there is not enough history (see `reason`). Disk is never changed (no usage of it is sampled). */
  recommended: resourcesSchema.nullable(),
  /** Why there is no recommendation, or null. */
  reason: z.string().nullable(),
  changes: z.array(recommendChangeSchema),
  policy: recommendPolicySchema,
  evidence: recommendEvidenceSchema,
  /** The job applies recommendations itself (`resources.adapt`): what it would apply, within its bounds, or null. */
  adapt: z.object({ target: resourcesSchema.nullable(), note: z.string() }).nullable(),
});
/** A job's recommendation (recommendationSchema). */
export type Recommendation = z.infer<typeof recommendationSchema>;
