// What `GET /v1/watch` may stream: each watch kind's key prefix, how a key names its object, and how
// a stored value is decoded. The table IS the allow-list: a key under no prefix here (host tokens,
// secrets, the leader, audit, packages, a prefix added next year) is never sent. Each entry decodes
// through its stored kind (kinds.ts: the same zod schema the mirror reads with), so a value that does
// not decode is not streamed.

import type { WatchChange, WatchEvent, WatchKind } from "../api/watch-types.ts";
import type { KeyValue, WatchEvent as StoreWatchEvent } from "../state/store.ts";
import { Kinds, splitNumbered } from "./kinds.ts";
import type { Kind } from "./kinds.ts";

/** How one watch kind is stored. */
export interface WatchKindEntry {
  prefix: string;
  /** Objects of this kind belong to a job (a `job=` filter applies). */
  jobScoped: boolean;
  /** Objects of this kind belong to a host (a `host=` filter applies). */
  hostScoped: boolean;
  /** The object's name from its key (null: a key under the prefix that is no object of the kind). */
  name(key: string): string | null;
  /** The stored value decoded by its kind's schema; throws when it does not decode. */
  decode(key: string, text: string): unknown;
}

const rest = (prefix: string) => (key: string): string | null => {
  const name = key.slice(prefix.length);
  return name === "" ? null : name;
};
const numbered = (prefix: string) => (key: string): string | null => {
  const s = splitNumbered(key, prefix);
  return s ? `${s.name}/${s.n}` : null;
};
const through = <T>(kind: Kind<T>) => (key: string, text: string): unknown => {
  const d = kind.decode(key, text);
  if (!d.ok) throw new Error(`${d.problem.key}: ${d.problem.path} ${d.problem.message}`);
  return d.value;
};
const entry = <T>(kind: Kind<T>, scope: { job: boolean; host: boolean }, name: (prefix: string) => (key: string) => string | null): WatchKindEntry => ({
  prefix: kind.prefix,
  jobScoped: scope.job,
  hostScoped: scope.host,
  name: name(kind.prefix),
  decode: through(kind),
});

/** Every watchable kind (compile-time complete over WatchKinds). */
export const watchKindTable: Readonly<Record<WatchKind, WatchKindEntry>> = {
  job: entry(Kinds.job, { job: true, host: false }, rest),
  version: entry(Kinds.version, { job: true, host: false }, numbered),
  task: entry(Kinds.task, { job: true, host: true }, numbered),
  attempt: entry(Kinds.attempt, { job: true, host: true }, rest),
  host: entry(Kinds.host, { job: false, host: true }, rest),
  alive: entry(Kinds.alive, { job: false, host: true }, rest),
  rollout: entry(Kinds.rollout, { job: true, host: false }, numbered),
  endpoint: entry(Kinds.endpoint, { job: true, host: true }, numbered),
  run: entry(Kinds.run, { job: true, host: false }, rest),
  maintenance: entry(Kinds.maintenance, { job: false, host: false }, rest),
};

/** Which objects a watcher asked for: `job=` and `host=` (host ids), both holding when both are
 * given; an empty list does not filter. */
export interface WatchFilter {
  jobs: readonly string[];
  hosts: readonly string[];
  /** Which job ids the watcher may see (its namespaces, issue 17); every one when absent. */
  visible?: (jobId: string) => boolean;
}

/** No filter: every object of the kinds asked. */
export const NoFilter: WatchFilter = { jobs: [], hosts: [] };

/** The kind and name of a key among `kinds`, or null when it is not to be streamed. */
export function classifyKey(key: string, kinds: readonly WatchKind[]): { kind: WatchKind; name: string } | null {
  for (const kind of kinds) {
    const entry = watchKindTable[kind];
    if (!key.startsWith(entry.prefix)) continue;
    const name = entry.name(key);
    return name === null ? null : { kind, name };
  }
  return null;
}

/** The typed event of one store change, or null when its key is not among `kinds` or its value does
 * not decode. A put that created the key (createRevision = its revision) is "added". A removed object
 * is the last one stored (the store's `prevKv`), or null when the store did not say or it does not
 * decode. */
export function toWatchEvent(ev: StoreWatchEvent, kinds: readonly WatchKind[]): WatchEvent | null {
  const at = classifyKey(ev.kv.key, kinds);
  if (!at) return null;
  if (ev.type === "delete") {
    const last = ev.prevKv ? decodeOrNull(at.kind, ev.prevKv) : null;
    // The table decodes each kind to its object (WatchObjects); the union cannot follow that per kind.
    return { type: "removed", kind: at.kind, name: at.name, revision: ev.revision, object: last } as WatchEvent;
  }
  const object = decodeOrNull(at.kind, ev.kv);
  if (object === null) return null;
  const type: WatchChange = ev.kv.createRevision === ev.kv.modRevision ? "added" : "updated";
  return { type, kind: at.kind, name: at.name, revision: ev.revision, object } as WatchEvent;
}

function decodeOrNull(kind: WatchKind, kv: KeyValue): unknown {
  try {
    return watchKindTable[kind].decode(kv.key, kv.value);
  } catch {
    return null;
  }
}

/** The typed event of one store change if the watcher's filter lets it through: when the object
 * matches, or matched before this change (a task that moved off a watched host is sent once more,
 * on its new host, so the watcher learns it left). `typed` is `toWatchEvent(ev, kinds)` when the caller
 * has it already. */
export function filteredWatchEvent(ev: StoreWatchEvent, kinds: readonly WatchKind[], filter: WatchFilter, typed = toWatchEvent(ev, kinds)): WatchEvent | null {
  if (!typed || matchesFilter(typed, filter)) return typed;
  if (ev.type === "put" && ev.prevKv) {
    const before = toWatchEvent({ type: "put", kv: ev.prevKv, revision: ev.revision }, kinds);
    if (before && matchesFilter(before, filter)) return typed;
  }
  return null;
}

/** True when `ev` passes both filters. */
export function matchesFilter(ev: WatchEvent, filter: WatchFilter): boolean {
  return matchesJobs(ev, filter.jobs) && matchesHosts(ev, filter.hosts) && (filter.visible === undefined || visibleJob(ev, filter.visible));
}

/** True when `ev`'s job is one `visible` lets through; objects of no job (hosts, liveness,
 * maintenance) always are. A removal whose object the store did not describe shows only its key. */
export function visibleJob(ev: WatchEvent, visible: (jobId: string) => boolean): boolean {
  switch (ev.kind) {
    case "job":
      return visible(ev.name);
    case "version":
    case "task":
    case "rollout":
    case "run":
      return visible(ev.name.slice(0, ev.name.lastIndexOf("/")));
    case "attempt":
      return ev.object === null || visible(ev.object.job);
    case "endpoint":
      return ev.object === null ? visible(ev.name.slice(0, ev.name.lastIndexOf("/"))) : visible(ev.object.job);
    default:
      return true;
  }
}

/** True when `ev` is on one of `hosts` (host ids; every event when empty). An object that is not known
 * (a removal the store did not describe) matches: a watcher may get a removal of something it never
 * saw, never miss one. */
export function matchesHosts(ev: WatchEvent, hosts: readonly string[]): boolean {
  if (hosts.length === 0) return true;
  switch (ev.kind) {
    case "host":
    case "alive":
      return hosts.includes(ev.name);
    case "task":
    case "attempt":
    case "endpoint":
      return ev.object === null || (ev.object.hostId !== null && hosts.includes(ev.object.hostId));
    default:
      return false;
  }
}

/** True when `ev` belongs to one of `jobs` (every event when `jobs` is empty). A removal whose object
 * the store did not describe matches (see matchesHosts). */
export function matchesJobs(ev: WatchEvent, jobs: readonly string[]): boolean {
  if (jobs.length === 0) return true;
  switch (ev.kind) {
    case "job":
      return jobs.includes(ev.name);
    case "version":
    case "task":
    case "rollout":
    case "run":
      return jobs.includes(ev.name.slice(0, ev.name.lastIndexOf("/")));
    case "attempt":
      return ev.object === null || jobs.includes(ev.object.job);
    // By service (what `job=` lists from, and what the agents' `service=` names) or by the job offering it.
    case "endpoint":
      return ev.object === null || jobs.includes(ev.object.service) || jobs.includes(ev.object.job);
    default:
      return false;
  }
}

/** The key prefixes to list a kind's objects under `filter` from: the kind's prefix, or the keys
 * named by the filter where the key starts with what it filters by (a job's versions and tasks, a
 * host's record and liveness). Each listed object is still matched against the filter. */
export function listPrefixes(kind: WatchKind, filter: WatchFilter): string[] {
  const prefix = watchKindTable[kind].prefix;
  if (filter.jobs.length > 0 && (kind === "version" || kind === "task" || kind === "endpoint" || kind === "run")) return filter.jobs.map((j) => `${prefix}${j}/`);
  if (filter.jobs.length > 0 && kind === "job") return filter.jobs.map((j) => `${prefix}${j}`);
  if (filter.hosts.length > 0 && (kind === "host" || kind === "alive")) return filter.hosts.map((h) => `${prefix}${h}`);
  return [prefix];
}
