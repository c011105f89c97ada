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
