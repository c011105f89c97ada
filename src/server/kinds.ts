// The resource layer: every kind the server stores, declared once with its key layout and its schema
// (the types are inferred from, or checked against, the schemas in src/model). The mirror decodes
// every stored value through here (a corrupt one is reported with its key and field path, never used)
// and every server write encodes through here, so no stored value is read by a cast. Numbers in keys
// are zero-padded so a prefix range returns versions and task indexes in numeric order. The layout is
// documented in README.md ("State layout"); a new kind is one entry below (docs/architecture.md).
import type { Logger } from "pino";
import { z } from "zod";
import {
  attemptSchema, formatPath, auditEntrySchema, hostSchema, jobRecordSchema, jobVersionSchema, packageRecordSchema, packageTagSchema,
  aliveSchema, apiTokenSchema, endpointSchema, maintenanceWindowSchema, metricBlockSchema, resourcesSchema, rolloutSchema, taskSchema, usageSampleSchema,
  runSchema, runItemSchema, scheduleStateSchema,
} from "../model/index.ts";
import { secretRecordSchema } from "../model/index.ts";
import { hostChecksSchema, remediationAlertSchema, remediationSchema, repairRequestSchema } from "../model/index.ts";

/** Key prefixes of the server's state. */
export const Prefix = {
  jobs: "/jobs/",
  versions: "/versions/",
  tasks: "/tasks/",
  attempts: "/attempts/",
  hosts: "/hosts/",
  alive: "/alive/",
  alloc: "/alloc/",
  hostTokens: "/hosttokens/",
  /** The admin and join tokens, shared by every server on the store. */
  secrets: "/secrets/",
  /** Audit log of user actions into tasks (`tiffin exec`): AuditEntry, newest last. */
  audit: "/audit/",
  /** Per-minute resource samples of each task, 24 h (usage-history.ts). */
  usage: "/usage/",
  /** Package versions and tags (read from the store directly: the mirror does not hold them). */
  packages: "/packages/",
  packageTags: "/pkgtags/",
  /** Which server holds which package's pieces on its disk (piece-replication.ts). */
  pieceHolders: "/pieceholders/",
  /** Rollouts per job, numbered in the order they started: the live one and the job's rollout history. */
  rollouts: "/rollouts/",
  /** Closed blocks of task metric points (task-metrics-store.ts); not mirrored, not streamed. */
  metricBlocks: "/metricblocks/",
  /** The serving endpoints of each service, written by the leader (endpoints/controller.ts). */
  endpoints: "/endpoints/",
  /** API tokens with policies (`tiffin token create`): the secret's digest, never the secret; mirrored, never streamed. */
  tokens: "/tokens/",
  /** Each host's machine checks with their history (remediation/checks-store.ts); not mirrored. */
  hostChecks: "/checks/",
  /** Remediation records (remediation/controller.ts); not mirrored. */
  remediations: "/remediations/",
  /** The remediation budget alert, while one is raised. */
  remediationAlert: "/remediationalert",
  /** A repair command waiting for (or run by) a host's agent. */
  repairs: "/repairs/",
  /** Runs of batch jobs (issue 18): their items and each item's attempts (reconcile/batch-*.ts). */
  runs: "/runs/",
  /** Items of batch runs that left "pending", one record each (run-store.ts). */
  runItems: "/runitems/",
  /** Each scheduled batch job's last handled fire (schedules.ts). */
  schedules: "/schedules/",
  /** Maintenance windows (routes/maintenance.ts): hosts, racks, clusters, datacenters. */
  maintenance: "/maintenance/",
  /** Users' secrets (routes/secrets.ts), sealed; mirrored (the assignment hub opens them), never streamed. */
  secretValues: "/secretvalues/",
} as const;

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

/** Where a stored value is wrong: its key, the field path inside it ("" for the whole value), what. */
export interface StoredProblem {
  key: string;
  path: string;
  message: string;
}

/** A decoded value, or why it cannot be used. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; problem: StoredProblem };

/** One part of a key: a name or id, or a number (zero-padded in the key). */
type KeyPart = string | number;

/** One stored kind: its name, key layout and schema; encode/decode between values and stored text. */
export interface Kind<T, P extends readonly KeyPart[] = readonly KeyPart[]> {
  /** Singular, as in logs and docs ("attempt"). */
  readonly name: string;
  readonly prefix: string;
  readonly schema: z.ZodType<T>;
  /** The key of the value named by `parts`. */
  key(...parts: P): string;
  /** The parts of a key of this kind, or null when it is not one. */
  parseKey(key: string): P | null;
  /** The stored text of a value (typed: only a T can be written). */
  encode(value: T): string;
  /** The value stored at `key`, checked against the schema. */
  decode(key: string, text: string): Decoded<T>;
}

/** The first problem of `v` against `schema` (path and message), or null when it fits. */
export function schemaProblem(schema: z.ZodType, v: unknown): { path: string; message: string } | null {
  const r = schema.safeParse(v);
  if (r.success) return null;
  const issue = r.error.issues[0];
  return { path: issue ? formatPath(issue.path) : "", message: issue?.message ?? "invalid" };
}

/**
 * Declares a kind. Decoding checks the parsed JSON against the schema and returns that same object:
 * the schemas carry no defaults or transforms, so a value that fits is its own typed form, and fields
 * a newer server added survive a read-modify-write by an older one (zod's output would drop them).
 */
export function defineKind<T, P extends readonly KeyPart[]>(name: string, prefix: string, schema: z.ZodType<T>, layout: Layout<P>): Kind<T, P> {
  return {
    name,
    prefix,
    schema,
    key: (...parts) => prefix + layout.key(...parts),
    parseKey: (key) => (key.startsWith(prefix) ? layout.parse(key.slice(prefix.length)) : null),
    encode: (value) => JSON.stringify(value),
    decode(key, text) {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        return { ok: false, problem: { key, path: "", message: `not JSON: ${(err as Error).message}` } };
      }
      const problem = schemaProblem(schema, json);
      return problem === null ? { ok: true, value: fits(schema, json) } : { ok: false, problem: { key, ...problem } };
    },
  };
}

/** How the key of a kind continues after its prefix. */
interface Layout<P extends readonly KeyPart[]> {
  key(...parts: P): string;
  parse(rest: string): P | null;
}

/** `<id>`: one name or id, the rest of the key. */
const one: Layout<[string]> = { key: (id) => id, parse: (rest) => (rest === "" ? null : [rest]) };
/** `<name>/<n, zero-padded>`: the name may itself hold slashes; the number is after the last one. */
const numbered = (width: number): Layout<[string, number]> => ({
  key: (name, n) => `${name}/${pad(n, width)}`,
  parse: (rest) => {
    const s = splitNumbered(rest, "");
    return s ? [s.name, s.n] : null;
  },
});
/** `<a>/<b>`, neither holding a slash (package names, versions, tags, ids). */
const pair: Layout<[string, string]> = {
  key: (a, b) => `${a}/${b}`,
  parse: (rest) => {
    const [a, b, more] = rest.split("/");
    return a && b && more === undefined ? [a, b] : null;
  },
};
/** A kind with one key: the prefix is the key. */
const single: Layout<[]> = { key: () => "", parse: (rest) => (rest === "" ? [] : null) };

/** `v`, known to fit `schema` (checked by the caller just before). */
function fits<T>(_schema: z.ZodType<T>, v: unknown): T {
  return v as T; // checked by schemaProblem; see defineKind for why the input rather than zod's copy
}

/** The value of `/alive/<hostId>` (declared in the model: the watch's clients read it too). */
export { aliveSchema };
export type { AliveValue } from "../model/index.ts";

/** The value of `/alloc/<hostId>`: resources booked on the host and by how many tasks. */
export const allocSchema = resourcesSchema.extend({ tasks: z.number() });
/** The value of `/alloc/<hostId>`. */
export type AllocValue = z.infer<typeof allocSchema>;

/** The value of `/pieceholders/<id>/<serverId>`. */
export const pieceHolderSchema = z.object({ url: z.string() });
/** The value of `/pieceholders/<id>/<serverId>`. */
export type PieceHolder = z.infer<typeof pieceHolderSchema>;

/** The key the leading server holds, on its lease (leader.ts). */
export const LeaderKey = "/leader";

/** The value of `/leader`, as stored (servers before incarnations wrote neither `incarnation` nor `since`). */
export const leaderSchema = z.object({
  id: z.string(),
  incarnation: z.string().exactOptional(),
  url: z.string(),
  since: z.number().exactOptional(),
});

/** The value of `/secrets/peer`: the peer tokens (tracker/peer-tokens.ts), or, from older servers, the bare token. */
export const peerTokensSchema = z.union([
  z.string().min(1),
  z.object({ current: z.string().min(1), previous: z.string().nullable(), rotatedAt: z.number() }),
]);

/** Every stored kind. Keys are built by the functions below, whose comments give their layout. */
export const Kinds = {
  /** `/jobs/<name>`: which version is desired, or that the job was removed. */
  job: defineKind("job", Prefix.jobs, jobRecordSchema, one),
  /** `/versions/<name>/<v, 10 digits>`: one stored spec (kept after removal). */
  version: defineKind("job version", Prefix.versions, jobVersionSchema, numbered(10)),
  /** `/tasks/<name>/<index, 6 digits>`: one replica slot. */
  task: defineKind("task", Prefix.tasks, taskSchema, numbered(6)),
  /** `/attempts/<id>`: one start of a task on a host. */
  attempt: defineKind("attempt", Prefix.attempts, attemptSchema, one),
  /** `/hosts/<id>`: the host record. */
  host: defineKind("host", Prefix.hosts, hostSchema, one),
  /** `/alive/<hostId>`: on the host's lease; gone = host down. */
  alive: defineKind("alive", Prefix.alive, aliveSchema, one),
  /** `/alloc/<hostId>`: resources in use; rewritten (with a compare) by every write that changes them. */
  alloc: defineKind("alloc", Prefix.alloc, allocSchema, one),
  /** `/hosttokens/<hostId>`: the host's bearer token, a JSON string (never sent out by /v1/watch). */
  hostToken: defineKind("host token", Prefix.hostTokens, z.string().min(1), one),
  /** `/secrets/<name>`: a shared server token (`admin`, `join`), a JSON string. */
  secret: defineKind("secret", Prefix.secrets, z.string(), one),
  /** `/audit/<epoch ms, 13 digits>-<id>`: one audit entry (time order). */
  audit: defineKind("audit entry", Prefix.audit, auditEntrySchema, {
    key: (at: number, id: string) => `${pad(at, 13)}-${id}`,
    parse: (rest) => {
      const dash = rest.indexOf("-");
      const at = Number(rest.slice(0, dash));
      return dash > 0 && Number.isSafeInteger(at) && dash < rest.length - 1 ? [at, rest.slice(dash + 1)] : null;
    },
  }),
  /** `/usage/<job>/<index, 6 digits>/<minute start, epoch ms 13 digits>`: one usage sample. */
  usage: defineKind("usage sample", Prefix.usage, usageSampleSchema, {
    key: (job: string, index: number, bucketAt: number) => `${job}/${pad(index, 6)}/${pad(bucketAt, 13)}`,
    parse: (rest) => {
      const last = rest.lastIndexOf("/");
      const task = last > 0 ? splitNumbered(rest.slice(0, last), "") : null;
      const at = Number(rest.slice(last + 1));
      return task && last < rest.length - 1 && Number.isSafeInteger(at) ? [task.name, task.n, at] : null;
    },
  }),
  /** `/metricblocks/<start, epoch ms 13 digits>/<job>/<chunk, 6 digits>/<writer>`: a closed block of
   * task metric points (the start first, so expiry is one deletePrefix a block). */
  metricBlock: defineKind("metric block", Prefix.metricBlocks, metricBlockSchema, {
    key: (start: number, job: string, chunk: number, writer: string) => `${pad(start, 13)}/${job}/${pad(chunk, 6)}/${writer}`,
    parse: (rest): [number, string, number, string] | null => {
      const parts = rest.split("/");
      const start = Number(parts[0]);
      const writer = parts.at(-1) ?? "";
      const chunk = Number(parts.at(-2));
      const job = parts.slice(1, -2).join("/");
      return parts.length >= 4 && Number.isSafeInteger(start) && Number.isSafeInteger(chunk) && job !== "" && writer !== "" ? [start, job, chunk, writer] : null;
    },
  }),
  /** `/packages/<name>/<version>`: one registered package version. */
  package: defineKind("package", Prefix.packages, packageRecordSchema, pair),
  /** `/pkgtags/<name>/<tag>`: the version a tag points at. */
  packageTag: defineKind("package tag", Prefix.packageTags, packageTagSchema, pair),
  /** `/pieceholders/<packageId>/<serverId>`: a server holding every piece of the package. */
  pieceHolder: defineKind("piece holder", Prefix.pieceHolders, pieceHolderSchema, pair),
  /** `/rollouts/<job>/<n, 10 digits>`: the job's n-th rollout (a new version, a restart or a rollback). */
  rollout: defineKind("rollout", Prefix.rollouts, rolloutSchema, numbered(10)),
  /** `/endpoints/<service>/<index, 6 digits>`: one serving task of a service. */
  endpoint: defineKind("endpoint", Prefix.endpoints, endpointSchema, numbered(6)),
  /** `/secretvalues/<ns>/<name>`: one user secret, its value sealed (secrets/seal.ts). */
  secretValue: defineKind("secret value", Prefix.secretValues, secretRecordSchema, pair),
  /** `/tokens/<id>`: one API token with its policy (the secret's sha256 only). */
  token: defineKind("token", Prefix.tokens, apiTokenSchema, one),
  /** `/checks/<hostId>`: the host's machine checks and their history. */
  hostChecks: defineKind("host checks", Prefix.hostChecks, hostChecksSchema, one),
  /** `/remediations/<id>`: one remediation action (ids sort in creation order). */
  remediation: defineKind("remediation", Prefix.remediations, remediationSchema, one),
  /** `/remediationalert`: the budget alert while it is raised. */
  remediationAlert: defineKind("remediation alert", Prefix.remediationAlert, remediationAlertSchema, single),
  /** `/repairs/<hostId>`: the repair the host's agent is to run (one at a time). */
  repair: defineKind("repair", Prefix.repairs, repairRequestSchema, one),
  /** `/runs/<job>/<id>`: one run of a batch job. */
  run: defineKind("run", Prefix.runs, runSchema, pair),
  /** `/runitems/<job>/<run id>/<index, 6 digits>`: one item of a run, once it left "pending". */
  runItem: defineKind("run item", Prefix.runItems, runItemSchema, {
    key: (job: string, id: string, index: number) => `${job}/${id}/${pad(index, 6)}`,
    parse: (rest): [string, string, number] | null => {
      const [job, id, n, more] = rest.split("/");
      const index = Number(n);
      return job && id && n && more === undefined && Number.isSafeInteger(index) ? [job, id, index] : null;
    },
  }),
  /** `/schedules/<job>`: the job's last handled fire. */
  schedule: defineKind("schedule", Prefix.schedules, scheduleStateSchema, one),
  /** `/maintenance/<id>`: one maintenance window. */
  maintenance: defineKind("maintenance window", Prefix.maintenance, maintenanceWindowSchema, one),
  /** `/leader`: the leading server (`{id, incarnation, url, since}`), on its lease. */
  leader: defineKind("leader", LeaderKey, leaderSchema, single),
  /** `/secrets/peer`: the peer tokens agents require of each other. */
  peerTokens: defineKind("peer tokens", `${Prefix.secrets}peer`, peerTokensSchema, single),
} as const;

/** `/jobs/<name>`: the JobRecord. */
export const jobKey = (name: string): string => Kinds.job.key(name);
/** `/versions/<name>/<v, 10 digits>`: one JobVersion. */
export const versionKey = (name: string, version: number): string => Kinds.version.key(name, version);
/** `/tasks/<name>/<index, 6 digits>`: one Task. */
export const taskKey = (name: string, index: number): string => Kinds.task.key(name, index);
/** `/attempts/<id>`: one Attempt. */
export const attemptKey = (id: string): string => Kinds.attempt.key(id);
/** `/hosts/<id>`: the Host record. */
export const hostKey = (id: string): string => Kinds.host.key(id);
/** `/alive/<hostId>`: attached to the host's lease; gone = host down. */
export const aliveKey = (hostId: string): string => Kinds.alive.key(hostId);
/** `/alloc/<hostId>`: used resources; rewritten (with a compare) by every write that changes them. */
export const allocKey = (hostId: string): string => Kinds.alloc.key(hostId);
/** `/hosttokens/<hostId>`: the host's bearer token (never sent out by /v1/watch). */
export const hostTokenKey = (hostId: string): string => Kinds.hostToken.key(hostId);
/** `/secrets/<name>`: a server token (`admin`, `join`), created by the first server (never sent by /v1/watch). */
export const secretKey = (name: string): string => Kinds.secret.key(name);
/** `/audit/<epoch ms, 13 digits>-<id>`: one AuditEntry (time order). */
export const auditKey = (at: number, id: string): string => Kinds.audit.key(at, id);
/** `/usage/<job>/<index, 6 digits>/`: the samples of one task. */
export const usageTaskPrefix = (job: string, index: number): string => `${Prefix.usage}${job}/${pad(index, 6)}/`;
/** `/usage/<job>/<index, 6 digits>/<minute start, epoch ms 13 digits>`: one UsageSample. */
export const usageKey = (job: string, index: number, bucketAt: number): string => Kinds.usage.key(job, index, bucketAt);
/** `/metricblocks/<start, 13 digits>/`: every metric block of one block start (expiry deletes it whole). */
export const metricBlockStartPrefix = (start: number): string => `${Prefix.metricBlocks}${pad(start, 13)}/`;
/** `/metricblocks/<start>/<job>/` or, with `chunk`, `.../<chunk, 6 digits>/`: the blocks of a job or one chunk of its tasks. */
export const metricBlockJobPrefix = (start: number, job: string, chunk?: number): string =>
  `${metricBlockStartPrefix(start)}${job}/${chunk === undefined ? "" : `${pad(chunk, 6)}/`}`;
/** `/packages/<name>/<version>`: one registered package version (PackageRecord). */
export const packageKey = (name: string, version: string): string => Kinds.package.key(name, version);
/** `/pkgtags/<name>/<tag>`: the version a tag points at (`{version}`). */
export const packageTagKey = (name: string, tag: string): string => Kinds.packageTag.key(name, tag);
/** `/pieceholders/<packageId>/<serverId>`: `{url}` of a server holding every piece of the package. */
export const pieceHolderKey = (id: string, serverId: string): string => Kinds.pieceHolder.key(id, serverId);

/** `/rollouts/<job>/<n, 10 digits>`: the job's n-th Rollout. */
export const rolloutKey = (job: string, n: number): string => Kinds.rollout.key(job, n);
/** `/schedules/<job>`: a scheduled batch job's last handled fire (ScheduleState). */
export const scheduleKey = (job: string): string => Kinds.schedule.key(job);
/** `/runitems/<job>/<id>/<index, 6 digits>`: one item of a run. */
export const runItemKey = (job: string, id: string, index: number): string => Kinds.runItem.key(job, id, index);
/** `/runs/<job>/<id>`: one Run of a batch job. */
export const runKey = (job: string, id: string): string => Kinds.run.key(job, id);
/** `/endpoints/<service>/<index, 6 digits>`: one Endpoint. */
export const endpointKey = (service: string, index: number): string => Kinds.endpoint.key(service, index);

/** `/maintenance/<id>`: one MaintenanceWindow. */
export const maintenanceKey = (id: string): string => Kinds.maintenance.key(id);

/** Splits `/versions/<name>/<v>` or `/tasks/<name>/<i>` into the name and the number, or null. */
export function splitNumbered(key: string, prefix: string): { name: string; n: number } | null {
  const rest = key.slice(prefix.length);
  const slash = rest.lastIndexOf("/");
  if (slash <= 0) return null;
  const n = Number(rest.slice(slash + 1));
  return Number.isInteger(n) ? { name: rest.slice(0, slash), n } : null;
}

/** Logs a corrupt stored value (it is then left out, never used). */
export function logProblem(log: Logger, p: StoredProblem): void {
  log.warn({ key: p.key, path: p.path, problem: p.message }, "corrupt stored value skipped");
}

/** The values of a range read as one kind; corrupt ones are logged and left out. */
export function decodeAll<T>(kind: Kind<T>, kvs: readonly { key: string; value: string }[], log: Logger): T[] {
  const out: T[] = [];
  for (const kv of kvs) {
    const d = kind.decode(kv.key, kv.value);
    if (d.ok) out.push(d.value);
    else logProblem(log, d.problem);
  }
  return out;
}

/** One stored value read as a kind: null when absent, or corrupt (then logged). */
export function decodeOne<T>(kind: Kind<T>, kv: { key: string; value: string } | null, log: Logger): T | null {
  if (kv === null) return null;
  const d = kind.decode(kv.key, kv.value);
  if (d.ok) return d.value;
  logProblem(log, d.problem);
  return null;
}
