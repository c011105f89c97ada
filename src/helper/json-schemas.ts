// Derives the JSON Schemas the helper checks with from the zod schemas, which stay the one declaration
// (config-schema.ts, protocol-schema.ts). The agent runs this when it bundles the helper and writes
// the result into the bundle (helper-bundle.ts); a helper run from source derives them at its first
// check (checks.ts).
import { z } from "zod";
import type { JsonSchema } from "../model/json-check.ts";
import { helperConfigSchema } from "./config-schema.ts";
import { agentMessageSchema, helperMessageSchema, helperStatusSchema, poolRequestSchema } from "./protocol-schema.ts";

/** The JSON Schema of each shape the helper (or a reader of its files and socket) checks. */
export interface HelperJsonSchemas {
  /** attempt.json (HelperConfig). */
  config: JsonSchema;
  /** A line from an agent (AgentMessage). */
  agentMessage: JsonSchema;
  /** A line from a helper (HelperMessage). */
  helperMessage: JsonSchema;
  /** status.json (HelperStatus). */
  status: JsonSchema;
  /** A control request to a shared helper process (PoolRequest). */
  poolRequest: JsonSchema;
}

/** z.toJSONSchema of each helper schema, on the input side; throws on what JSON Schema cannot say. */
export function deriveHelperJsonSchemas(): HelperJsonSchemas {
  // zod's JSONSchema type is wider than our subset; compileJsonSchema refuses any keyword outside it.
  const derive = (s: z.ZodType): JsonSchema => z.toJSONSchema(s, { io: "input", unrepresentable: "throw" }) as JsonSchema;
  return {
    config: derive(helperConfigSchema),
    agentMessage: derive(agentMessageSchema),
    helperMessage: derive(helperMessageSchema),
    status: derive(helperStatusSchema),
    poolRequest: derive(poolRequestSchema),
  };
}
