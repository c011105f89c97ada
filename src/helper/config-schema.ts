// attempt.json's schema (HelperConfig): the one declaration, asserted equal to protocol.ts's types.
// The helper process does not load it: it checks with the JSON Schema derived from it at bundle time
// (checks.ts); the agent and tests use it through the same derivation.
import { z } from "zod";
import { healthCheckSchema, Networks } from "../model/index.ts";
import type { Assert, TypesMatch } from "../model/index.ts";
import type { HelperConfig, RuntimeInfo, SandboxConfig, SandboxUser } from "./protocol.ts";

const posInt = z.number().int().positive({ error: "expected a positive integer" });
const periodMs = z.number().int().min(100, { error: "expected a whole number of ms >= 100" });
const absolute = z.string().startsWith("/", { error: "expected an absolute path" });

/** The OCI runtime an agent found (RuntimeInfo). */
export const runtimeInfoSchema = z.object({
  name: z.enum(["crun", "runc"]),
  path: z.string(),
  version: z.string(),
  rootless: z.boolean(),
  stateDir: z.string().nullable(),
});

/** The sandboxed task's identity (SandboxUser). */
export const sandboxUserSchema = z.object({
  uid: z.number().int().min(0),
  gid: z.number().int().min(0),
  userns: z.object({ hostBase: z.number().int().min(0), size: posInt }).nullable(),
});

/** How the helper sandboxes its task (SandboxConfig). */
export const sandboxConfigSchema = z.object({
  runtime: runtimeInfoSchema,
  network: z.enum(Networks),
  readOnlyPaths: z.array(absolute),
  mounts: z.array(z.object({ host: z.string(), task: z.string(), writable: z.boolean() })),
  limits: z.object({ cpu: z.number().positive(), memoryMiB: z.number().int(), pids: z.number().int() }),
  cgroupParent: absolute,
  user: sandboxUserSchema.exactOptional(),
  capabilities: z.array(z.string()).exactOptional(),
  hiddenPaths: z.array(z.string()).exactOptional(),
  stateDir: z.string().nullable().exactOptional(),
  layoutCache: z.string().exactOptional(),
});

/** attempt.json (HelperConfig). */
export const helperConfigSchema = z.object({
  attemptId: z.string().min(1, { error: "expected a non-empty string" }),
  job: z.string(),
  index: z.number(),
  command: z.array(z.string()).min(1, { error: "expected a non-empty array of strings" }),
  env: z.record(z.string(), z.string()),
  files: z.record(z.string(), z.object({ content: z.string(), mode: z.number() })),
  ports: z.record(z.string(), z.number()),
  health: healthCheckSchema.nullable(),
  stop: z.object({ signal: z.string(), graceMs: z.number() }),
  fenceMs: posInt,
  logSegmentBytes: posInt,
  logSegmentsKept: posInt,
  // Absent or null: a plain process group (and attempt.json files written before sandboxes existed).
  sandbox: sandboxConfigSchema.nullable().exactOptional(),
  runAs: z.object({ uid: z.number().int().min(0), gid: z.number().int().min(0) }).exactOptional(),
  secretsDir: absolute.exactOptional(),
  notice: z.string().exactOptional(),
  usageSampleMs: periodMs.exactOptional(),
  diskLimitMiB: posInt.exactOptional(),
  diskCheckMs: periodMs.exactOptional(),
});

/** Compile-time proof that the schemas above are protocol.ts's types. */
export type HelperConfigChecks = [
  Assert<TypesMatch<z.infer<typeof helperConfigSchema>, HelperConfig>>,
  Assert<TypesMatch<z.infer<typeof sandboxConfigSchema>, SandboxConfig>>,
  Assert<TypesMatch<z.infer<typeof runtimeInfoSchema>, RuntimeInfo>>,
  Assert<TypesMatch<z.infer<typeof sandboxUserSchema>, SandboxUser>>,
];
