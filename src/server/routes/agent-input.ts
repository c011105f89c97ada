// Shape checks of what agents send (register inventory, heartbeats, attempt updates): the model's
// schemas of those shapes with the bounds the server holds agents to. Agents are our own code, but the
// server never trusts a request: every problem is listed (field path, what was expected, the value
// found), nothing is written.
import { z } from "zod";
import { attemptUpdateSchema, machineCheckResultSchema, hostInventorySchema, MaxChecksPerHost, repairResultSchema, resourceUsageSchema } from "../../model/index.ts";
import type { Assert, AttemptUpdate, MachineCheckResult, HostInventory, RepairResult, TypesMatch } from "../../model/index.ts";
import { parseBody } from "../http/bodies.ts";

/** Bounds of what an inventory may claim: the scheduler adds and compares these figures, and a host
 * claiming 1e308 MiB would take every task. Far above any real machine. */
export const InventoryLimits = {
  cores: 16_384,
  /** 1 PiB */
  memoryMiB: 2 ** 30,
  /** 1 EiB */
  diskMiB: 2 ** 40,
} as const;
const MaxLabels = 64;
const MaxLabelChars = 253;
const MaxInfoChars = 256;

// host:port, the host a name or an IPv4 address, or an IPv6 address in brackets: the server builds
// http://ADDRESS/... from it to reach the agent, so nothing that could add a path or a query.
const hostPort = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;
const info = z.string().max(MaxInfoChars, { error: `expected a string of at most ${MaxInfoChars} characters` });
const hostId = z.string().min(1).max(253, { error: "expected the host id register returned" });
/** A count, size, time or id: finite and not negative (zod numbers are finite). */
const nonNegative = z.number().min(0);

/** The body of `POST /v1/agent/register`, bounded. */
export const registerBodySchema = z.object({
  inventory: hostInventorySchema.extend({
    name: z.string().min(1).max(253, { error: "expected a host name (1 to 253 characters)" }),
    address: z.string().max(300).regex(hostPort, { error: "expected host:port where the agent serves logs" }),
    cores: z.number().positive().max(InventoryLimits.cores, { error: `expected a positive number, at most ${InventoryLimits.cores}` }),
    memoryMiB: nonNegative.max(InventoryLimits.memoryMiB, { error: `expected MiB, at most ${InventoryLimits.memoryMiB} (1 PiB)` }),
    diskMiB: nonNegative.max(InventoryLimits.diskMiB, { error: `expected MiB, at most ${InventoryLimits.diskMiB} (1 EiB)` }),
    os: z.object({ id: info, version: info }),
    kernel: info,
    labels: z
      .record(z.string().min(1).max(MaxLabelChars), z.string().max(MaxLabelChars))
      .refine((l) => Object.keys(l).length <= MaxLabels, { error: `expected at most ${MaxLabels} labels (keys and values 1 to ${MaxLabelChars} characters)` }),
    runtime: info,
    capabilities: z.array(z.string().max(64)).max(64, { error: "expected an array of capability names" }).exactOptional(),
  }),
  /** The host token of an earlier registration, or nothing. */
  hostToken: z.string().min(1).max(512).nullable().exactOptional(),
  /** A first registration's token, chosen by the agent and kept before it asks (256 random bits,
   * base64url), so a retry after a lost answer proves it is the same agent. */
  proposedToken: z.string().regex(/^[A-Za-z0-9_-]{43,128}$/, { error: "expected 43 to 128 base64url characters (256 random bits or more)" }).exactOptional(),
});

/** The body of `POST /v1/agent/heartbeat`. */
export const heartbeatBodySchema = z.object({
  hostId,
  upgradeMs: nonNegative.max(86_400_000, { error: "expected milliseconds, at most a day" }).exactOptional(),
  checks: z.array(machineCheckResultSchema.extend({ name: z.string().min(1).max(128), message: z.string().max(1024), at: nonNegative })).max(MaxChecksPerHost).exactOptional(),
  checksComplete: z.boolean().exactOptional(),
  repairResult: repairResultSchema.extend({ id: z.string().min(1).max(64), output: z.string().max(1024) }).exactOptional(),
});

/** The body of `POST /v1/agent/attempts`: the model's AttemptUpdate, numbers not negative. */
export const reportBodySchema = z.object({
  hostId,
  updates: z.array(
    attemptUpdateSchema.extend({
      id: z.string().min(1).max(253),
      pid: nonNegative.nullable(),
      ports: z.record(z.string(), nonNegative),
      startedAt: nonNegative.nullable(),
      endedAt: nonNegative.nullable(),
      usage: resourceUsageSchema
        .extend({ at: nonNegative, cpuSeconds: nonNegative, cpuCores: nonNegative.nullable(), memoryBytes: nonNegative, memoryPeakBytes: nonNegative.nullable(), pids: nonNegative.nullable(), throttledSeconds: nonNegative.nullable().exactOptional(), cpuPeriods: nonNegative.nullable().exactOptional(), cpuThrottledPeriods: nonNegative.nullable().exactOptional(), oomKills: nonNegative.nullable().exactOptional(), ioReadBytes: nonNegative.nullable().exactOptional(), ioWriteBytes: nonNegative.nullable().exactOptional(), ioReadRate: nonNegative.nullable().exactOptional(), ioWriteRate: nonNegative.nullable().exactOptional() })
        .nullable()
        .exactOptional(),
    }),
  ),
});

/** Compile-time proof that the bounded schemas are still the model's shapes. */
export type AgentInputChecks = [
  Assert<TypesMatch<z.infer<typeof registerBodySchema>["inventory"], HostInventory>>,
  Assert<TypesMatch<z.infer<typeof reportBodySchema>["updates"][number], AttemptUpdate>>,
];

/** The body as `schema` reads it, or a BAD_REQUEST listing every problem. */
function agentBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  return parseBody(schema, body, (n) => `${what}: ${n} problem${n === 1 ? "" : "s"}`, "the agent and the server may be different versions");
}

/** The inventory and the host token (null when none is sent) of a register body, or a BAD_REQUEST
 * listing every problem. */
export function registerOf(body: unknown): { inventory: HostInventory; hostToken: string | null; proposedToken: string | null } {
  const { inventory: inv, hostToken, proposedToken } = agentBody(registerBodySchema, body, "invalid register request");
  // No capabilities and an empty list are the same host record (stableJson compares them).
  const { capabilities, ...rest } = inv;
  return { inventory: { ...rest, ...(capabilities !== undefined && capabilities.length > 0 ? { capabilities } : {}) }, hostToken: hostToken ?? null, proposedToken: proposedToken ?? null };
}

/** `hostId` and `upgradeMs` of a heartbeat body. */
export function heartbeatOf(body: unknown): { hostId: string; upgradeMs: number | undefined; checks: MachineCheckResult[]; checksComplete: boolean; repairResult: RepairResult | null } {
  const b = agentBody(heartbeatBodySchema, body, "invalid heartbeat");
  return { hostId: b.hostId, upgradeMs: b.upgradeMs, checks: b.checks ?? [], checksComplete: b.checksComplete === true, repairResult: b.repairResult ?? null };
}

/** The updates of an attempts report. */
export function reportOf(body: unknown): { hostId: string; updates: AttemptUpdate[] } {
  return agentBody(reportBodySchema, body, "invalid attempts report");
}
