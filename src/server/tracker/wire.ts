// The tracker endpoints' request bodies, checked by schemas (agents of another version may send
// anything): a shape error is a 400 that names the expected shape and lists each problem's path.
import { z } from "zod";
import type { SwarmAnnounce, SwarmPlanRequest, SwarmReport } from "../../api/types.ts";
import { ErrorCodes, intList, TiffinError } from "../../model/index.ts";
import type { Assert, TypesMatch } from "../../model/index.ts";
import { Sha256Pattern } from "../../pkg/index.ts";
import { issuesToProblems } from "../../spec/problems.ts";

/** Most pieces one request may list (a 4 TiB package at 4 MiB pieces). */
const MaxIndexes = 1 << 20;

const sha = z.string().regex(Sha256Pattern, { error: "expected a sha256 in lower-case hex" });
const index = z.number().int().min(0).max(MaxIndexes - 1);
// intList rather than z.array(index): the same rule, checked in one pass on the leader for every
// fetching agent (a million indexes: about 10 ms instead of 300 ms; model/int-list.ts).
const indexes = intList(index, MaxIndexes);
const address = z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: "expected host:port" });

/** `POST /v1/agent/swarm/announce`. */
export const announceSchema = z.object({
  address,
  full: z.boolean(),
  packages: z.array(z.object({ id: sha, complete: z.boolean(), pieces: indexes })),
});

/** `POST /v1/agent/swarm/plan`. */
export const planRequestSchema = z.object({
  packageId: sha,
  address,
  total: z.number().int().min(0).max(MaxIndexes),
  missing: indexes,
  inflight: indexes,
  fallback: indexes.exactOptional(),
  stuck: indexes.exactOptional(),
});

/** `POST /v1/agent/swarm/report`; `index` is required with kind "missing". */
export const swarmReportSchema = z
  .object({
    packageId: sha,
    peer: z.string(),
    piece: sha,
    reason: z.string(),
    kind: z.enum(["bad-piece", "missing"]).exactOptional(),
    index: index.exactOptional(),
  })
  .refine((r) => r.kind !== "missing" || r.index !== undefined, { error: "index is required with kind \"missing\"", path: ["index"] });

/** Compile-time proof that the schemas are the API's swarm types. */
export type SwarmWireChecks = [
  Assert<TypesMatch<z.infer<typeof announceSchema>, SwarmAnnounce>>,
  Assert<TypesMatch<z.infer<typeof planRequestSchema>, SwarmPlanRequest>>,
  Assert<TypesMatch<z.infer<typeof swarmReportSchema>, SwarmReport>>,
];

function parse<T>(schema: z.ZodType<T>, v: unknown, what: string, shape: string): T {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  // A list of a million bad indexes is one problem too many: the first few say enough.
  const problems = issuesToProblems(r.error.issues.slice(0, 10), v, [], null);
  throw new TiffinError(ErrorCodes.BadRequest, `swarm ${what}: body must be ${shape}`, { hint: "the agent and the server may be different versions", problems });
}

/** A SwarmAnnounce, or a 400. */
export function announceOf(v: unknown): SwarmAnnounce {
  return parse(announceSchema, v, "announce", "{address: host:port, full: boolean, packages: [{id, complete, pieces: number[]}]}");
}

/** A SwarmPlanRequest, or a 400. */
export function planRequestOf(v: unknown): SwarmPlanRequest {
  return parse(planRequestSchema, v, "plan", "{packageId, address: host:port, total, missing: number[], inflight: number[], fallback?: number[], stuck?: number[]}");
}

/** A SwarmReport (its reason cut to 200 characters), or a 400. */
export function reportOf(v: unknown): SwarmReport {
  const r = parse(swarmReportSchema, v, "report", `{packageId, peer, piece, reason, kind?: "bad-piece" | "missing", index?: number (required with "missing")}`);
  return { ...r, reason: r.reason.slice(0, 200) };
}
