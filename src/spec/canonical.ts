// The strict schema of a compiled JobSpec: what the server checks every client-sent spec against
// (never trust the client). Same limits as the input schema, canonical shapes only: no shorthands,
// no unknown fields, every field present.
// Why a second JobSpec schema beside the stored one (model/job-schema.ts): they answer two questions.
// This one says what may be applied now (limits, patterns, strictness, in a layer the model must not
// import); the stored one says what can be read back, whatever the limits were when it was applied
// (a version stored under older limits must stay readable, and a limit tightened later must not make
// the mirror drop running jobs as corrupt). Their fields are one set: canonical.test.ts compares the
// two at every level, and both are pinned to the JobSpec type at compile time.
import { z } from "zod";
import { namespacePattern } from "../model/index.ts";
import { Capabilities, Isolations, MetricSignalNames, Networks, SpreadDomains } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import {
  absolutePathProblem, envNamePattern, jobNamePattern, serviceRefPattern, metricNamePattern, mountTargetProblem, osIdPattern, packageRefPattern, portNamePattern, tagPattern,
} from "./input.ts";
import { kernelRangePattern, StopSignals } from "./units.ts";
import { MaxMetricChecks } from "./rules.ts";
import { MaxUseMin, MaxUses } from "./uses.ts";
import { phaseOrderProblems, phaseProblem, taskCountProblem, zeroBudgetProblem } from "./rollout-rules.ts";
import { RolloutFailureActions, RolloutInconclusiveActions } from "../model/index.ts";
import { rolloutChecksSchema } from "../model/judge/index.ts";
import { FailedItemsPolicies } from "../model/index.ts";
import { MaxAfter, MaxBatchItems, MaxItemLength, MaxParallelism } from "./batch-rules.ts";
import { MissedPolicies, OverlapPolicies } from "../model/index.ts";
import type { RolloutPhaseSpec, TaskCount } from "../model/index.ts";

// Number or string, refined by the shared rules (z.custom has no JSON Schema; see rollout-input.ts).
const phase = (z.union([z.number(), z.string()]) as unknown as z.ZodType<RolloutPhaseSpec, RolloutPhaseSpec>).superRefine((v, ctx) => {
  const problem = phaseProblem(v);
  if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
});
const taskCount = (min: 0 | 1) =>
  (z.union([z.number(), z.string()]) as unknown as z.ZodType<TaskCount, TaskCount>).superRefine((v, ctx) => {
    const problem = taskCountProblem(v, min);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem });
  });

const metricName = z.string().regex(metricNamePattern).nullable();
const day = 24 * 3_600_000;
const ms = (min: number, max = day) => z.number().int().min(min).max(max);
const timing = {
  intervalMs: ms(100),
  timeoutMs: ms(1),
  failures: z.number().int().min(1).max(100),
  graceMs: ms(0),
  action: z.enum(["restart", "move"]),
};

/** `NS/NAME` (secret-input.ts; the server refuses another namespace than the job's). */
const secretFullName = /^[a-z0-9][a-z0-9-]{0,62}\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The compiled JobSpec, strictly (its output type is checked against JobSpec at compile time). */
export const jobSpecSchema: z.ZodType<JobSpec> = z.strictObject({
  name: z.string().regex(jobNamePattern),
  namespace: z.string().regex(namespacePattern).exactOptional(),
  command: z.array(z.string()).min(1).refine((a) => a[0] !== "", { error: "the program name must not be empty" }),
  env: z.record(z.string().regex(envNamePattern), z.string()),
  secretEnv: z.record(z.string().regex(envNamePattern), z.string().regex(secretFullName)).exactOptional(),
  secretFiles: z.record(z.string().refine((p) => p !== "" && !p.startsWith("/") && !p.split("/").some((s) => s === ".." || s === "")), z.string().regex(secretFullName)).exactOptional(),
  files: z.record(
    z.string().refine((p) => p !== "" && !p.startsWith("/") && !p.split("/").some((s) => s === ".." || s === "")),
    z.strictObject({ content: z.string().max(1 << 20), mode: z.number().int().min(0).max(0o7777) }),
  ),
  replicas: z.number().int().min(0).max(10_000),
  everyHost: z.literal(true).exactOptional(),
  resources: z.strictObject({
    cpu: z.number().positive().max(1024),
    memoryMiB: z.number().int().positive(),
    diskMiB: z.number().int().positive(),
  }),
  constraints: z.strictObject({
    os: z.strictObject({ id: z.string().regex(osIdPattern), version: z.string().min(1).nullable() }).nullable(),
    kernel: z.string().regex(kernelRangePattern).nullable(),
    labels: z.record(z.string().regex(tagPattern), z.string()),
  }),
  spread: z.enum(SpreadDomains),
  antiAffinity: z.string().regex(tagPattern).nullable(),
  ports: z
    .array(z.string().regex(portNamePattern))
    .max(16)
    .refine((p) => new Set(p).size === p.length, { error: "port names must be unique" }),
  restart: z.strictObject({ backoffInitialMs: ms(1), backoffMaxMs: ms(1), moveAfterFailures: z.number().int().min(1).max(1000) }),
  health: z
    .discriminatedUnion("kind", [
      z.strictObject({ kind: z.literal("http"), port: z.string(), path: z.string().startsWith("/"), ...timing }),
      z.strictObject({ kind: z.literal("tcp"), port: z.string(), ...timing }),
      z.strictObject({ kind: z.literal("command"), run: z.array(z.string()).min(1), ...timing }),
    ])
    .nullable(),
  stop: z.strictObject({ signal: z.enum(StopSignals), graceMs: ms(0, 3_600_000), delayMs: ms(0, 3_600_000).exactOptional() }),
  maintenance: z.enum(["move", "endure"]),
  maintenanceOverrunMs: ms(0, 7 * 24 * 3_600_000).exactOptional(),
  disruption: z
    .strictObject({ approve: z.string().refine((u) => /^https?:\/\//.test(u) && URL.canParse(u), { error: "expected an http:// or https:// URL" }), timeoutMs: ms(1, 60_000), onTimeout: z.enum(["wait", "allow"]) })
    .exactOptional(),
  disconnect: z.strictObject({ stopAfterMs: ms(1000).nullable() }),
  packages: z.array(z.string().regex(packageRefPattern)),
  // Optional for specs stored before sandboxes existed (see JobSpec); compiled specs always have them.
  isolation: z.enum(Isolations).exactOptional(),
  network: z.enum(Networks).exactOptional(),
  mounts: z
    .array(
      z.strictObject({
        host: z.string().refine((p) => absolutePathProblem(p) === null, { error: "expected a normalized absolute path" }),
        task: z
          .string()
          .refine((p) => absolutePathProblem(p) === null && mountTargetProblem(p) === null, { error: "expected a normalized absolute path outside /proc, /dev, /sys" }),
        writable: z.boolean(),
      }),
    )
    .max(32)
    .exactOptional(),
  capabilities: z.array(z.enum(Capabilities)).exactOptional(),
  persist: z.boolean().exactOptional(),
  metrics: z
    .strictObject({
      port: z.string(),
      path: z.string().startsWith("/"),
      intervalMs: ms(1000, 3_600_000),
      timeoutMs: ms(1),
      signals: z.strictObject({ clients: metricName, errors: metricName, latency: metricName }),
      quantile: z.number().gt(0).lt(1),
    })
    .exactOptional(),
  metricChecks: z
    .array(
      z.strictObject({
        signal: z.enum(MetricSignalNames),
        when: z.enum(["above", "below"]),
        threshold: z.number().min(0),
        forMs: ms(1000),
        graceMs: ms(0),
        action: z.enum(["restart", "move"]),
      }),
    )
    .min(1)
    .max(MaxMetricChecks)
    .exactOptional(),
  adapt: z
    .strictObject({
      min: z.strictObject({ cpu: z.number().positive().max(1024).nullable(), memoryMiB: z.number().int().positive().nullable() }),
      max: z.strictObject({ cpu: z.number().positive().max(1024).nullable(), memoryMiB: z.number().int().positive().nullable() }),
      everyMs: ms(1000, 30 * day),
    })
    .exactOptional(),
  rollout: z
    .strictObject({
      phases: z
        .array(phase)
        .min(1)
        .max(10)
        .superRefine((phases, ctx) => {
          for (const p of phaseOrderProblems(phases)) ctx.addIssue({ code: "custom", path: [p.index], message: p.message });
        })
        .nullable(),
      bakeMs: ms(0),
      deadlineMs: ms(1000),
      maxUnavailable: taskCount(0),
      maxSurge: taskCount(0),
      onFailure: z.enum(RolloutFailureActions),
      checks: rolloutChecksSchema.exactOptional(),
      inconclusive: z.enum(RolloutInconclusiveActions).exactOptional(),
    })
    .superRefine((r, ctx) => {
      const zero = zeroBudgetProblem(r.maxUnavailable, r.maxSurge);
      if (zero !== null) ctx.addIssue({ code: "custom", path: ["maxUnavailable"], message: zero });
    })
    .exactOptional(),
  uses: z
    .array(z.strictObject({ service: z.string().regex(serviceRefPattern), min: z.number().int().min(0).max(MaxUseMin) }))
    .min(1)
    .max(MaxUses)
    .refine((u) => new Set(u.map((x) => x.service)).size === u.length, { error: "each service is used once" })
    .exactOptional(),
  services: z
    .record(z.string().regex(jobNamePattern), z.string())
    .refine((s) => Object.keys(s).length > 0, { error: "name at least one service, or leave services out" })
    .exactOptional(),
  batch: z
    .strictObject({
      completions: z.number().int().min(1).max(MaxBatchItems),
      parallelism: z.number().int().min(1).max(MaxParallelism),
      items: z.array(z.string().max(MaxItemLength).refine((v) => !v.includes("\0"), { error: "an item may not contain NUL" })).min(1).max(MaxBatchItems).nullable(),
      retries: z.strictObject({ limit: z.number().int().min(0).max(100), backoffInitialMs: ms(1, 3_600_000), backoffMaxMs: ms(1, 3_600_000) }),
      deadlineMs: ms(1000, 7 * day).nullable(),
      successCount: z.number().int().min(1).max(MaxBatchItems).nullable(),
      failedItems: z.enum(FailedItemsPolicies),
      keepRuns: z.number().int().min(1).max(1000),
      after: z.array(z.string().regex(jobNamePattern)).min(1).max(MaxAfter).exactOptional(),
    })
    .exactOptional(),
  schedule: z
    .strictObject({
      cron: z.string(),
      timeZone: z.string(),
      overlap: z.enum(OverlapPolicies),
      missed: z.enum(MissedPolicies),
      jitterMs: ms(0, 3_600_000),
    })
    .exactOptional(),
});
