// The state layout: every key the server writes, in one place (documented in README.md). Numbers in
// keys are zero-padded so a prefix range returns versions and task indexes in numeric order.

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
} as const;

const pad = (n: number, width: number): string => String(n).padStart(width, "0");

/** `/jobs/<name>`: the JobRecord. */
export const jobKey = (name: string): string => `${Prefix.jobs}${name}`;
/** `/versions/<name>/<v, 10 digits>`: one JobVersion. */
export const versionKey = (name: string, version: number): string => `${Prefix.versions}${name}/${pad(version, 10)}`;
/** `/tasks/<name>/<index, 6 digits>`: one Task. */
export const taskKey = (name: string, index: number): string => `${Prefix.tasks}${name}/${pad(index, 6)}`;
/** `/attempts/<id>`: one Attempt. */
export const attemptKey = (id: string): string => `${Prefix.attempts}${id}`;
/** `/hosts/<id>`: the Host record. */
export const hostKey = (id: string): string => `${Prefix.hosts}${id}`;
/** `/alive/<hostId>`: attached to the host's lease; gone = host down. */
export const aliveKey = (hostId: string): string => `${Prefix.alive}${hostId}`;
/** `/alloc/<hostId>`: used resources; rewritten (with a compare) by every write that changes them. */
export const allocKey = (hostId: string): string => `${Prefix.alloc}${hostId}`;
/** `/hosttokens/<hostId>`: the host's bearer token (never sent out by /v1/events). */
export const hostTokenKey = (hostId: string): string => `${Prefix.hostTokens}${hostId}`;

/** `/secrets/<name>`: a server token (`admin`, `join`), created by the first server (never sent by /v1/events). */
export const secretKey = (name: string): string => `${Prefix.secrets}${name}`;

/** `/audit/<epoch ms, 13 digits>-<id>`: one AuditEntry (time order). */
export const auditKey = (at: number, id: string): string => `${Prefix.audit}${pad(at, 13)}-${id}`;

/** `/usage/<job>/<index, 6 digits>/`: the samples of one task. */
export const usageTaskPrefix = (job: string, index: number): string => `${Prefix.usage}${job}/${pad(index, 6)}/`;
/** `/usage/<job>/<index, 6 digits>/<minute start, epoch ms 13 digits>`: one UsageSample. */
export const usageKey = (job: string, index: number, bucketAt: number): string => `${usageTaskPrefix(job, index)}${pad(bucketAt, 13)}`;

/** `/packages/<name>/<version>`: one registered package version (PackageRecord in api/types.ts). */
export const packageKey = (name: string, version: string): string => `${Prefix.packages}${name}/${version}`;
/** `/pkgtags/<name>/<tag>`: the version a tag points at (`{version}`). */
export const packageTagKey = (name: string, tag: string): string => `${Prefix.packageTags}${name}/${tag}`;

/** `/pieceholders/<packageId>/<serverId>`: `{url}` of a server holding every piece of the package. */
export const pieceHolderKey = (id: string, serverId: string): string => `${Prefix.pieceHolders}${id}/${serverId}`;

/** The value of `/alive/<hostId>`: how the lease was granted. */
export interface AliveValue {
  ttlMs: number;
  /** Set while the agent announced an upgrade: no suspicion until then. */
  upgradeUntil: number | null;
}

/** The value of `/alloc/<hostId>`. */
export interface AllocValue {
  cpu: number;
  memoryMiB: number;
  diskMiB: number;
  tasks: number;
}

/** Splits `/versions/<name>/<v>` or `/tasks/<name>/<i>` into the name and the number, or null. */
export function splitNumbered(key: string, prefix: string): { name: string; n: number } | null {
  const rest = key.slice(prefix.length);
  const slash = rest.lastIndexOf("/");
  if (slash <= 0) return null;
  const n = Number(rest.slice(slash + 1));
  return Number.isInteger(n) ? { name: rest.slice(0, slash), n } : null;
}

/** JSON text with object keys sorted, so equal values give equal text (spec comparison). */
export function stableJson(v: unknown): string {
  return JSON.stringify(sortKeys(v));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}
