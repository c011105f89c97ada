// Schemas of what the server answers an agent: the agent checks every answer against them before it
// acts on it (a server of another version, or a proxy's page, is a failed call, not a crash or a
// wrong action). Each schema is asserted equal to its type in types.ts at compile time.
import { z } from "zod";
import { attemptSchema, formatPath, repairRequestSchema, storedJobSpecSchema } from "../model/index.ts";
import type { Assert, TypesMatch } from "../model/index.ts";
import type { Assignment, HeartbeatResponse, RegisterResponse, SwarmAnnounceResponse, SwarmPlan } from "./types.ts";

/** The answer to `POST /v1/agent/register`. */
export const registerResponseSchema = z.object({
  hostId: z.string().min(1),
  hostToken: z.string().min(1),
  heartbeatMs: z.number().positive(),
  downAfterMs: z.number().positive(),
  fenceMs: z.number().positive(),
});

/** The answer to `POST /v1/agent/heartbeat`. */
export const heartbeatResponseSchema = z.object({
  ok: z.boolean(),
  reregister: z.boolean(),
  heartbeatMs: z.number().positive().exactOptional(),
  serverTime: z.number().exactOptional(),
  repair: repairRequestSchema.exactOptional(),
  ca: z.object({ signing: z.string(), trust: z.array(z.string()) }).exactOptional(),
});

/** The parts of an error answer (ApiErrorBody) an agent reads: the code and the message. */
export { errorAnswerSchema } from "./http-errors.ts";

/** The answer to `POST /v1/agent/attempts`. */
export const okResponseSchema = z.object({ ok: z.literal(true) });

/** One event of `GET /v1/agent/assignments`: the full desired set of the host. */
export const assignmentsSchema = z.array(z.object({ attempt: attemptSchema, spec: storedJobSpecSchema, secrets: z.record(z.string(), z.string()).exactOptional() }));

/** The tracker's answer to an announce. */
export const swarmAnnounceResponseSchema = z.object({
  epoch: z.string(),
  peerToken: z.string(),
  peerTokens: z.array(z.string()).exactOptional(),
  announceMs: z.number().positive(),
});

/** The tracker's plan. */
export const swarmPlanSchema = swarmAnnounceResponseSchema.extend({
  pieces: z.array(
    z.object({
      index: z.number().int().min(0),
      sources: z.array(z.discriminatedUnion("kind", [z.object({ kind: z.literal("peer"), host: z.string(), address: z.string() }), z.object({ kind: z.literal("origin") })])),
    }),
  ),
  waiting: z.number(),
  retryMs: z.number(),
});

/** Compile-time proof that the schemas are types.ts's shapes. */
export type AgentWireChecks = [
  Assert<TypesMatch<z.infer<typeof registerResponseSchema>, RegisterResponse>>,
  Assert<TypesMatch<z.infer<typeof heartbeatResponseSchema>, HeartbeatResponse>>,
  Assert<TypesMatch<z.infer<typeof assignmentsSchema>[number], Assignment>>,
  Assert<TypesMatch<z.infer<typeof swarmAnnounceResponseSchema>, SwarmAnnounceResponse>>,
  Assert<TypesMatch<z.infer<typeof swarmPlanSchema>, SwarmPlan>>,
];

/** `v` read as `schema`, or what is wrong with it (the first problem: its path and message). */
export function checkAnswer<T>(schema: z.ZodType<T>, v: unknown): { ok: true; value: T } | { ok: false; problem: string } {
  const r = schema.safeParse(v);
  if (r.success) return { ok: true, value: r.data };
  const issue = r.error.issues[0];
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more)` : "";
  return { ok: false, problem: `${issue ? `${formatPath(issue.path) || "(root)"}: ${issue.message}` : "invalid"}${more}` };
}
