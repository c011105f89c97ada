// What `GET /v1/watch` may stream: each watch kind's key prefix, how a key names its object, and how
// a stored value is decoded. The table IS the allow-list: a key under no prefix here (host tokens,
// secrets, the leader, audit, packages, a prefix added next year) is never sent. Each entry decodes
// through its stored kind (kinds.ts: the same zod schema the mirror reads with), so a value that does
// not decode is not streamed.

import type { WatchChange, WatchEvent, WatchKind } from "../api/watch-types.ts";
import type { KeyValue } from "../state/store.ts";
import { Kinds, splitNumbered } from "./kinds.ts";
import type { Kind } from "./kinds.ts";

/** How one watch kind is stored. */
export interface WatchKindEntry {
  prefix: string;
  /** Objects of this kind belong to a job (a `job=` filter applies). */
  jobScoped: boolean;
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
const entry = <T>(kind: Kind<T>, jobScoped: boolean, name: (prefix: string) => (key: string) => string | null): WatchKindEntry => ({
  prefix: kind.prefix,
  jobScoped,
  name: name(kind.prefix),
  decode: through(kind),
});

/** Every watchable kind (compile-time complete over WatchKinds). */
export const watchKindTable: Readonly<Record<WatchKind, WatchKindEntry>> = {
  job: entry(Kinds.job, true, rest),
  version: entry(Kinds.version, true, numbered),
  task: entry(Kinds.task, true, numbered),
  attempt: entry(Kinds.attempt, true, rest),
  host: entry(Kinds.host, false, rest),
  alive: entry(Kinds.alive, false, rest),
  rollout: entry(Kinds.rollout, true, numbered),
};

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
 * not decode. A put that created the key (createRevision = its revision) is "added". */
export function toWatchEvent(ev: { type: "put" | "delete"; kv: KeyValue; revision: number }, kinds: readonly WatchKind[]): WatchEvent | null {
  const at = classifyKey(ev.kv.key, kinds);
  if (!at) return null;
  if (ev.type === "delete") return { type: "removed", kind: at.kind, name: at.name, revision: ev.revision, object: null } as WatchEvent;
  let object: unknown;
  try {
    object = watchKindTable[at.kind].decode(ev.kv.key, ev.kv.value);
  } catch {
    return null;
  }
  const type: WatchChange = ev.kv.createRevision === ev.kv.modRevision ? "added" : "updated";
  // The table decodes each kind to its object (WatchObjects); the union cannot follow that per kind.
  return { type, kind: at.kind, name: at.name, revision: ev.revision, object } as WatchEvent;
}

/** True when `ev` belongs to one of `jobs` (every event when `jobs` is empty). A removed attempt
 * always matches: the store's delete does not carry the value, so its job is not known. */
export function matchesJobs(ev: WatchEvent, jobs: readonly string[]): boolean {
  if (jobs.length === 0) return true;
  switch (ev.kind) {
    case "job":
      return jobs.includes(ev.name);
    case "version":
    case "task":
    case "rollout":
      return jobs.includes(ev.name.slice(0, ev.name.lastIndexOf("/")));
    case "attempt":
      return ev.object === null || jobs.includes(ev.object.job);
    default:
      return false;
  }
}

/** The key prefixes to list a kind's objects of `jobs` from (the kind's prefix when no filter, or
 * when its keys do not start with the job: attempts). */
export function listPrefixes(kind: WatchKind, jobs: readonly string[]): string[] {
  const prefix = watchKindTable[kind].prefix;
  if (jobs.length === 0 || kind === "attempt") return [prefix];
  if (kind === "job") return jobs.map((j) => `${prefix}${j}`);
  return jobs.map((j) => `${prefix}${j}/`);
}
