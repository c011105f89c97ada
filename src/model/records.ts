// Stored records beside jobs, tasks and hosts: audit entries, packages and their tags, usage samples.
// Declared once here (schema and inferred type); the API re-exports the types (src/api/types.ts).
import { z } from "zod";
import { actorSchema } from "./token.ts";
import { resourceUsageSchema } from "./resources.ts";

/** An audit entry of a `tiffin exec`: written before it runs, completed with how it ended. */
export const execAuditEntrySchema = z.object({
  id: z.string(),
  /** Epoch ms when the action started. */
  at: z.number(),
  action: z.literal("exec"),
  /** What the client said (ExecRequest.user) and where it connected from. */
  user: z.string().nullable(),
  remote: z.string().nullable(),
  job: z.string(),
  index: z.number(),
  attemptId: z.string(),
  hostId: z.string(),
  command: z.array(z.string()),
  /** How it ran: output only (the plain POST), with stdin, or on a terminal (the upgrade session;
   * src/api/exec-wire.ts). Absent in entries older than sessions. */
  mode: z.enum(["output", "stdin", "tty"]).exactOptional(),
  /** Null while running, or when it could not run (see `error`). */
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  error: z.string().nullable(),
  endedAt: z.number().nullable(),
  /** The token that called (absent in entries older than API tokens). */
  by: actorSchema.exactOptional(),
});

/** An audit entry of any other call that changes something (or was refused trying): written when it
 * ends. The body is never recorded (it may carry secrets); tokens are named by id and name only. */
export const callAuditEntrySchema = z.object({
  id: z.string(),
  /** Epoch ms the call arrived. */
  at: z.number(),
  action: z.literal("call"),
  /** The token that called; null when none was identified. */
  by: actorSchema.nullable(),
  /** The address the request came from (the socket's peer; forwarding headers are not trusted). */
  remote: z.string().nullable(),
  method: z.string(),
  /** The route's pattern (`/v1/jobs/:name`) and the path called, without the query. */
  route: z.string(),
  path: z.string(),
  /** The HTTP status answered, and the error code when it failed. */
  status: z.number(),
  error: z.string().nullable(),
  /** What the route says it did, when it says (`token create` names the new token). */
  detail: z.string().nullable(),
  endedAt: z.number(),
});

/** One entry of the server's audit log (`GET /v1/audit`), stored under `/audit/`. */
export const auditEntrySchema = z.discriminatedUnion("action", [execAuditEntrySchema, callAuditEntrySchema]);
/** An exec's audit entry (execAuditEntrySchema). */
export type ExecAuditEntry = z.infer<typeof execAuditEntrySchema>;
/** A call's audit entry (callAuditEntrySchema). */
export type CallAuditEntry = z.infer<typeof callAuditEntrySchema>;
/** One audit log entry (auditEntrySchema). */
export type AuditEntry = z.infer<typeof auditEntrySchema>;

/** One registered package version, as stored under /packages/<name>/<version>. The manifest is kept
 * as the JSON object src/pkg builds; its sha256 over canonical text is `id`. */
export const packageRecordSchema = z.object({
  name: z.string(),
  version: z.string(),
  id: z.string(),
  manifest: z.unknown(),
  totalSize: z.number(),
  pieces: z.number(),
  registeredAt: z.number(),
});
/** One registered package version (packageRecordSchema). */
export type PackageRecord = z.infer<typeof packageRecordSchema>;

/** The version a package tag points at (`/pkgtags/<name>/<tag>`). */
export const packageTagSchema = z.object({ version: z.string() });
/** A package tag's value (packageTagSchema). */
export type PackageTag = z.infer<typeof packageTagSchema>;

/** One per-minute resource sample of a task (`/usage/...`), with the attempt it came from. */
export const usageSampleSchema = resourceUsageSchema.extend({
  attemptId: z.string(),
  /** The largest `memoryBytes` among the samples of its minute (absent in samples not from the store). */
  memoryMaxBytes: z.number().exactOptional(),
});
/** One usage sample (usageSampleSchema). */
export type UsageSample = z.infer<typeof usageSampleSchema>;

/** The value of `/alive/<hostId>`: how the host's lease was granted (a watch kind too). */
export const aliveSchema = z.object({
  ttlMs: z.number(),
  /** Set while the agent announced an upgrade: no suspicion until then. */
  upgradeUntil: z.number().nullable(),
});
/** The value of `/alive/<hostId>`. */
export type AliveValue = z.infer<typeof aliveSchema>;
