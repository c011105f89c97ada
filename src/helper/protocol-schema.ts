// The wire schemas of helper.sock and status.json (protocol.ts's types, asserted equal). The helper
// process does not load them: it checks with the JSON Schemas derived from them (checks.ts).
import { z } from "zod";
import { attemptStatusSchema } from "../model/index.ts";
import type { Assert, TypesMatch } from "../model/index.ts";
import type { AgentMessage, HelperMessage, HelperStatus } from "./protocol.ts";

/** status.json and the `status` message: the attempt status fields less the ports, with the helper's pid. */
export const helperStatusSchema = attemptStatusSchema.omit({ ports: true }).extend({
  attemptId: z.string(),
  helperPid: z.number(),
});

/** The wire form of AgentMessage, checked by the helper. */
export const agentMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ping"), awayUntil: z.number().exactOptional(), seq: z.int().exactOptional() }),
  z.object({ type: z.literal("stop"), reason: z.string(), deliberate: z.boolean().exactOptional() }),
  z.object({ type: z.literal("ack") }),
]);

/** The wire form of HelperMessage, checked by the agent. */
export const helperMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("status"), status: helperStatusSchema }),
  z.object({ type: z.literal("ping"), seq: z.int() }),
]);

/** Compile-time proof that the message schemas and the documented types are the same shapes. */
export type MessageSchemaChecks = [
  Assert<TypesMatch<z.infer<typeof helperStatusSchema>, HelperStatus>>,
  Assert<TypesMatch<z.infer<typeof agentMessageSchema>, AgentMessage>>,
  Assert<TypesMatch<z.infer<typeof helperMessageSchema>, HelperMessage>>,
];

/** A control request to a shared helper process (pool.ts): run the attempt of a directory (with
 * attempt.json written). The directory must be absolute: pool.ts checks that beside the schema
 * (JSON Schema, which the helper checks with, cannot say it). */
export const poolRequestSchema = z.object({ type: z.literal("run"), dir: z.string().min(1) });
/** A control request to a shared helper process (poolRequestSchema). */
export type PoolRequest = z.infer<typeof poolRequestSchema>;

/** The answer to a PoolRequest. */
export const poolReplySchema = z.discriminatedUnion("ok", [z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), reason: z.enum(["full", "closing", "bad request"]) })]);
/** The answer to a PoolRequest (poolReplySchema). */
export type PoolReply = z.infer<typeof poolReplySchema>;
