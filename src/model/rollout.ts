// Phased rollouts: the policy a job spec carries (`rollout`), and the Rollout record the server keeps
// per job and version (which phase, which tasks per phase, each phase's verdicts, why it ended). The
// decisions over them are pure functions in src/server/reconcile (rollout-phases.ts, rollout-step.ts).
import { z } from "zod";
import type { Assert, TypesMatch } from "./resources.ts";
import { rolloutChecksSchema } from "./judge/checks-spec.ts";
import type { RolloutChecks } from "./judge/checks-spec.ts";

/** Failure-domain levels a phase may name: every task in the domains the rollout has reached so far. */
export const RolloutDomains = ["rack", "cluster", "datacenter"] as const;
/** One of RolloutDomains. */
export type RolloutDomain = (typeof RolloutDomains)[number];

/** One phase as written: a task count (`1`), a share of the replicas (`"10%"`), a failure-domain level
 * (`"cluster"`), or `"all"`. Phases are cumulative: each takes the rollout at least that far. */
export type RolloutPhaseSpec = number | `${number}%` | RolloutDomain | "all";

/** A count of tasks, or a share of the job's replicas as `"10%"` (budgets: maxUnavailable, maxSurge). */
export type TaskCount = number | `${number}%`;

/** What a failed phase does: roll every new task back to the last good version, or pause for a human. */
export const RolloutFailureActions = ["rollback", "pause"] as const;
/** One of RolloutFailureActions. */
export type RolloutFailureAction = (typeof RolloutFailureActions)[number];

/** What a phase whose safety checks are still inconclusive at its deadline does: "fail" (then
 * onFailure: rollback or pause), "pause" for a human, or "pass" (only when a spec says so: too little
 * evidence never passes silently). */
export const RolloutInconclusiveActions = ["fail", "pause", "pass"] as const;
/** One of RolloutInconclusiveActions. */
export type RolloutInconclusiveAction = (typeof RolloutInconclusiveActions)[number];

/** A job's rollout policy, compiled (durations in ms). */
export interface RolloutPolicy {
  /** The phases; null: chosen by the job's size and spread when a rollout starts. */
  phases: RolloutPhaseSpec[] | null;
  /** How long each phase's tasks must stay healthy (none restarted) before the next phase. */
  bakeMs: number;
  /** How long a phase may take, bake included, before it fails. */
  deadlineMs: number;
  /** At most this many of the job's tasks down at once, for every voluntary cause (disruption.ts). */
  maxUnavailable: TaskCount;
  /** Extra tasks allowed while replacing. */
  maxSurge: TaskCount;
  onFailure: RolloutFailureAction;
  /** The judge's safety checks run during each bake (model/judge); absent: health and restarts only
   * (the policy of specs that write no `rollout.checks`, stored as they were). */
  checks?: RolloutChecks;
  /** Checks still inconclusive at the deadline; absent: "fail". */
  inconclusive?: RolloutInconclusiveAction;
}

const taskCountSchema = z.union([z.number(), z.custom<`${number}%`>((v) => typeof v === "string" && /^\d+(\.\d+)?%$/.test(v))]);
const phaseSpecSchema = z.union([z.number(), z.enum([...RolloutDomains, "all"]), z.custom<`${number}%`>((v) => typeof v === "string" && /^\d+(\.\d+)?%$/.test(v))]);

/** A RolloutPolicy as stored (structural; limits are checked at apply). */
export const rolloutPolicySchema = z.object({
  phases: z.array(phaseSpecSchema).nullable(),
  bakeMs: z.number(),
  deadlineMs: z.number(),
  maxUnavailable: taskCountSchema,
  maxSurge: taskCountSchema,
  onFailure: z.enum(RolloutFailureActions),
  checks: rolloutChecksSchema.exactOptional(),
  inconclusive: z.enum(RolloutInconclusiveActions).exactOptional(),
});

/** Where a rollout stands. `running` and `paused` are live; the others are final. */
export const RolloutStates = ["running", "paused", "succeeded", "failed", "superseded"] as const;
/** One of RolloutStates. `failed`: a phase failed (rolled back, or paused for a human when onFailure is
 * "pause": then `state` is "paused" and `failure` is set); `superseded`: a newer version was applied. */
export type RolloutState = (typeof RolloutStates)[number];

/** What started a rollout: a new version, `tiffin restart`, or an automatic rollback. */
export const RolloutCauses = ["apply", "restart", "rollback"] as const;
/** One of RolloutCauses. */
export type RolloutCause = (typeof RolloutCauses)[number];

/** A safety check's verdict. Too little evidence is "inconclusive", never "pass". */
export const Verdicts = ["pass", "fail", "inconclusive"] as const;
/** One of Verdicts. */
export type Verdict = (typeof Verdicts)[number];

/** One safety check of one phase: its verdict, the figures behind it, and a line saying them. */
export interface CheckResult {
  /** "health" (every new task healthy, none restarted) or "restarts" (new against old). */
  name: string;
  verdict: Verdict;
  figures: Record<string, number>;
  detail: string;
}

/** One phase of a rollout: its rule, the task indexes it moves to the new version (cumulative sets
 * minus earlier phases), and how it went. Times are epoch ms; null until they happen. */
export interface RolloutPhase {
  spec: RolloutPhaseSpec;
  tasks: number[];
  startedAt: number | null;
  /** When every task of this and earlier phases first served the new version (the bake's start). */
  healthyAt: number | null;
  endedAt: number | null;
  /** "promoted": a user skipped the bake. */
  outcome: "passed" | "failed" | "promoted" | null;
  checks: CheckResult[];
}

/** The rollout of one job version (`/rollouts/<job>/<version>`), kept after it ends as the job's history. */
export interface Rollout {
  job: string;
  version: number;
  /** The version tasks ran before (the last good one, where a rollback returns); null: none. */
  from: number | null;
  cause: RolloutCause;
  state: RolloutState;
  /** The phase in progress (or the last one, once ended). */
  phase: number;
  phases: RolloutPhase[];
  policy: RolloutPolicy;
  /** Budget in tasks, resolved when the rollout started. */
  maxUnavailable: number;
  startedAt: number;
  updatedAt: number;
  endedAt: number | null;
  /** Why it ended, paused or failed, in words (null while it simply runs). */
  why: string | null;
  /** Set when a phase failed: its index and the failing check. */
  failure: { phase: number; check: string } | null;
  /** The version a failure rolled back to (a new version with `from`'s spec). */
  rolledBackTo: number | null;
  /** A user asked to skip the current phase's bake (`tiffin rollout promote`). */
  promote: boolean;
}

const checkResultSchema = z.object({
  name: z.string(),
  verdict: z.enum(Verdicts),
  figures: z.record(z.string(), z.number()),
  detail: z.string(),
});

const rolloutPhaseSchema = z.object({
  spec: phaseSpecSchema,
  tasks: z.array(z.number()),
  startedAt: z.number().nullable(),
  healthyAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  outcome: z.enum(["passed", "failed", "promoted"]).nullable(),
  checks: z.array(checkResultSchema),
});

/** A stored Rollout. */
export const rolloutSchema = z.object({
  job: z.string(),
  version: z.number(),
  from: z.number().nullable(),
  cause: z.enum(RolloutCauses),
  state: z.enum(RolloutStates),
  phase: z.number(),
  phases: z.array(rolloutPhaseSchema),
  policy: rolloutPolicySchema,
  maxUnavailable: z.number(),
  startedAt: z.number(),
  updatedAt: z.number(),
  endedAt: z.number().nullable(),
  why: z.string().nullable(),
  failure: z.object({ phase: z.number(), check: z.string() }).nullable(),
  rolledBackTo: z.number().nullable(),
  promote: z.boolean(),
});

/** True when the rollout still moves tasks (or waits for a human): running or paused. */
export function isLiveRollout(r: Rollout): boolean {
  return r.state === "running" || r.state === "paused";
}

/** Compile-time proof that the schemas and the types above are the same shapes. */
export type RolloutSchemaChecks = [
  Assert<TypesMatch<z.infer<typeof rolloutPolicySchema>, RolloutPolicy>>,
  Assert<TypesMatch<z.infer<typeof rolloutSchema>, Rollout>>,
];

/** The policy of a job that writes no `rollout` (phases null: chosen by size and spread). No bake by
 * default, as Kubernetes' minReadySeconds: a phase passes once its tasks serve (healthy, when the job
 * has a health check) with none restarted; a soak is the job's choice (`bake: "5m"`). */
export const DefaultRolloutPolicy: RolloutPolicy = {
  phases: null,
  bakeMs: 0,
  deadlineMs: 300_000,
  maxUnavailable: "10%",
  maxSurge: 0,
  onFailure: "rollback",
};
