// zod schemas of wire shapes the OpenAPI document shows (z.toJSONSchema) that have no schema elsewhere:
// request bodies are the routes' own (routes/*.ts), objects the model's (src/model).

import { z } from "zod";
import { WatchExpiredCode, WatchKinds } from "../../api/watch-types.ts";

/** `ApiErrorBody`: the body of every error response (declared with the client that reads it). */
export { apiErrorBodySchema as errorBodySchema } from "../../api/http-errors.ts";

/** `{ok: true}`. */
export const okSchema = z.object({ ok: z.literal(true) });

/** One message of `GET /v1/watch` (SSE data; src/api/watch-types.ts). */
export const watchMessageSchema = z.union([
  z.object({ type: z.enum(["added", "updated", "removed"]), kind: z.enum(WatchKinds), name: z.string(), revision: z.number().int(), object: z.unknown().meta({ description: "The object of the kind; when removed, the last one stored" }) }),
  z.object({ type: z.literal("bookmark"), revision: z.number().int() }),
  z.object({ code: z.literal(WatchExpiredCode), message: z.string(), hint: z.string(), compactRevision: z.number().int() }).meta({ description: "event: expired: the revision is no longer kept; list again" }),
]);

/** JSON Schema (draft 2020-12, what OpenAPI 3.1 uses) of a zod schema. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  delete out["$schema"];
  return out;
}
