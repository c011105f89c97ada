// The schemas a watch client checks each message with (./watch-read.ts): the model's own schemas of
// the objects (src/model, the same ones the server's store decodes with), so a browser or the CLI
// never acts on an object of another shape. Browser-safe (zod only).
import { z } from "zod";
import { aliveSchema, attemptSchema, hostSchema, jobRecordSchema, jobVersionSchema, endpointSchema, maintenanceWindowSchema, rolloutSchema, runSchema, taskSchema } from "../model/index.ts";
import type { Assert, TypesMatch } from "../model/index.ts";
import type { WatchBookmark, WatchExpired, WatchKind, WatchObjects } from "./watch-types.ts";

/** The object schema of each watch kind. */
export const watchObjectSchemas: { readonly [K in WatchKind]: z.ZodType<WatchObjects[K]> } = {
  job: jobRecordSchema,
  version: jobVersionSchema,
  task: taskSchema,
  attempt: attemptSchema,
  host: hostSchema,
  alive: aliveSchema,
  rollout: rolloutSchema,
  endpoint: endpointSchema,
  run: runSchema,
  maintenance: maintenanceWindowSchema,
};

/** The envelope of one event (its object is checked by the kind's schema). */
export const watchEnvelopeSchema = z.object({
  type: z.enum(["added", "updated", "removed"]),
  kind: z.enum(["job", "version", "task", "attempt", "host", "alive", "rollout", "endpoint", "run", "maintenance"]),
  name: z.string(),
  revision: z.number().int().min(0),
  object: z.unknown(),
});

/** A bookmark. */
export const watchBookmarkSchema = z.object({ type: z.literal("bookmark"), revision: z.number().int().min(0) });

/** The data of `event: expired`. */
export const watchExpiredSchema = z.object({
  code: z.literal("TIFFIN_WATCH_EXPIRED"),
  message: z.string(),
  hint: z.string(),
  compactRevision: z.number().int().min(0),
});

/** Compile-time proof that the schemas are watch-types.ts's shapes. */
export type WatchSchemaChecks = [
  Assert<TypesMatch<z.infer<typeof watchBookmarkSchema>, WatchBookmark>>,
  Assert<TypesMatch<z.infer<typeof watchExpiredSchema>, WatchExpired>>,
  Assert<TypesMatch<z.infer<typeof watchEnvelopeSchema>["kind"], WatchKind>>,
];
