// The server's in-memory copy of the state: loaded with one range() at start and kept current by one
// watch from the next revision. Request handlers and reconcilers read it (no store reads on hot
// paths) and write through store.txn with compares on the modRevisions they read here.

import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { ApiToken, Attempt, Endpoint, Host, JobRecord, JobVersion, MaintenanceWindow, Rollout, Run, RunItem, ScheduleState, Task } from "../model/index.ts";
import type { SecretRecord } from "../model/index.ts";
import type { KeyValue, Store, Watch, WatchEvent } from "../state/store.ts";
import { Kinds, logProblem, Prefix } from "./kinds.ts";
import type { AliveValue, AllocValue, Kind, StoredProblem } from "./kinds.ts";

/** A parsed value with the revision a compare needs. */
export interface Entry<T> {
  value: T;
  modRevision: number;
  lease: string | null;
}

/** The value of each kind the mirror holds. */
export interface MirroredValues {
  job: JobRecord;
  version: JobVersion;
  task: Task;
  attempt: Attempt;
  host: Host;
  alive: AliveValue;
  alloc: AllocValue;
  hostToken: string;
  rollout: Rollout;
  endpoint: Endpoint;
  token: ApiToken;
  run: Run;
  schedule: ScheduleState;
  runItem: RunItem;
  maintenance: MaintenanceWindow;
  secretValue: SecretRecord;
}
/** A kind the mirror holds (a key of Kinds). */
export type MirroredKind = keyof MirroredValues;

/** One change of a mirrored kind: its decoded value before and after (null when absent or corrupt). */
export interface KindChange<K extends MirroredKind> {
  kind: K;
  key: string;
  prev: MirroredValues[K] | null;
  next: MirroredValues[K] | null;
  /** Revision of the write that made the change (0 for a reload, where it is not known). */
  revision: number;
}

/**
 * One change the mirror applied. For a mirrored kind, `kind` names it and `prev`/`next` are values
 * decoded as that kind (read them typed with `changeAs`); other keys (`kind` null) carry the parsed
 * JSON after and `true` before when the key existed.
 */
export interface Change {
  kind: MirroredKind | null;
  key: string;
  prev: unknown;
  next: unknown;
  /** Revision of the write that made the change (0 for a reload, where it is not known). */
  revision: number;
}

/** The change typed as kind K, or null when it is of another kind. Sound by construction: the mirror
 * sets `kind` only on changes whose values that kind decoded. */
export function changeAs<K extends MirroredKind>(c: Change, kind: K): KindChange<K> | null {
  return c.kind === kind ? (c as KindChange<K>) : null;
}

type Listener = (changes: Change[], revision: number) => void;

/** sha256 of a token, hex: the in-memory index of host tokens never holds them as map keys. */
export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The in-memory mirror of the store, with the indexes the server needs. */
export class Mirror {
  revision = 0;
  readonly jobs = new Map<string, Entry<JobRecord>>();
  readonly versions = new Map<string, Map<number, Entry<JobVersion>>>();
  readonly tasks = new Map<string, Map<number, Entry<Task>>>();
  readonly attempts = new Map<string, Entry<Attempt>>();
  readonly hosts = new Map<string, Entry<Host>>();
  readonly alive = new Map<string, Entry<AliveValue>>();
  readonly alloc = new Map<string, Entry<AllocValue>>();
  /** Rollouts by job, then by number (the order they started). */
  readonly rollouts = new Map<string, Map<number, Entry<Rollout>>>();
  /** Serving endpoints: service -> task index -> endpoint (endpoints/controller.ts writes them). */
  readonly endpoints = new Map<string, Map<number, Entry<Endpoint>>>();
  /** Runs of batch jobs: job -> run id -> run. */
  readonly runs = new Map<string, Map<string, Entry<Run>>>();
  /** Scheduled batch jobs' last handled fires, by job. */
  readonly schedules = new Map<string, Entry<ScheduleState>>();
  /** Stored items of runs: `job/id` -> index -> item (run-store.ts assembles runs from them). */
  readonly runItems = new Map<string, Map<number, Entry<RunItem>>>();
  /** Maintenance windows by id (they change what hosts do, so a change bumps hostsStamp). */
  readonly maintenance = new Map<string, Entry<MaintenanceWindow>>();
  /** Bumped by every endpoint, job record or job version change (DNS's service index keys on it). */
  endpointsStamp = 0;
  /** Stored values that do not decode as their kind, by key: logged and left out of every index. */
  readonly corrupt = new Map<string, StoredProblem>();
  /** hostId -> token, and sha256(token) -> hostId. */
  readonly hostTokens = new Map<string, string>();
  readonly hostByTokenDigest = new Map<string, string>();
  /** API tokens by id (`/tokens/`): every server refuses a revoked one once its watch brings the change. */
  readonly apiTokens = new Map<string, Entry<ApiToken>>();
  /** Users' secrets by `ns/name` (`/secretvalues/`), sealed: opened only for the agents of tasks that use them. */
  readonly secretValues = new Map<string, Entry<SecretRecord>>();
  /** Secondary indexes: attempt ids by host, by `job/index` and by job; task ids (`job/index`) by host. */
  readonly attemptsByHost = new Map<string, Set<string>>();
  readonly attemptsByTask = new Map<string, Set<string>>();
  readonly attemptsByJob = new Map<string, Set<string>>();
  readonly tasksByHost = new Map<string, Set<string>>();

  readonly #store: Store;
  readonly #log: Logger;
  readonly #modRevisions = new Map<string, number>();
  /** Per job, a counter bumped by every change to the job, its versions, tasks or attempts (caches key on it). */
  readonly #jobStamps = new Map<string, number>();
  readonly #listeners = new Set<Listener>();
  readonly #handlers: Handler[] = this.#makeHandlers();
  #waiters: { rev: number; resolve: () => void }[] = [];
  #watch: Watch | null = null;
  #closed = false;
  /** Set while the watch failed and a reload has not yet succeeded (readiness, routes/health.ts). */
  #stale = false;

  private constructor(store: Store, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /** Loads the whole state and starts following it. */
  static async load(store: Store, log: Logger): Promise<Mirror> {
    const m = new Mirror(store, log);
    await m.#resync();
    return m;
  }

  /** The modRevision of a key as mirrored (0 when absent: what a store compare sees for a missing key). */
  modRevision(key: string): number {
    return this.#modRevisions.get(key) ?? 0;
  }

  /** Calls `fn` after every applied batch of changes; returns the unsubscribe function. */
  onChange(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Resolves once the mirror has applied revision `rev` (read-your-writes for handlers), or after 5 s. */
  waitFor(rev: number): Promise<void> {
    if (this.revision >= rev || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#log.warn({ rev, at: this.revision }, "mirror did not reach revision in 5 s");
        resolve();
      }, 5000);
      timer.unref();
      this.#waiters.push({
        rev,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** The attempts of one task (`job/index`). */
  attemptsOf(job: string, index: number): Attempt[] {
    const ids = this.attemptsByTask.get(`${job}/${index}`);
    const out: Attempt[] = [];
    for (const id of ids ?? []) {
      const a = this.attempts.get(id);
      if (a) out.push(a.value);
    }
    return out;
  }

  /** A number that changes whenever a host record or a host's /alive record changes. */
  hostsStamp = 0;

  /** A number that changes whenever anything of the job changes (for caches of per-job views). */
  jobStamp(job: string): number {
    return this.#jobStamps.get(job) ?? 0;
  }

  #bump(job: string): void {
    this.#jobStamps.set(job, (this.#jobStamps.get(job) ?? 0) + 1);
  }

  /** The spec of one job version, if stored. */
  spec(job: string, version: number): JobVersion | null {
    return this.versions.get(job)?.get(version)?.value ?? null;
  }

  /** True while the mirror follows the store: loaded, watching, not closed, no failed watch pending a reload. */
  get following(): boolean {
    return !this.#closed && !this.#stale && this.#watch !== null;
  }

  /** Stops following the store. */
  close(): void {
    this.#closed = true;
    this.#watch?.cancel();
    for (const w of this.#waiters) w.resolve();
    this.#waiters = [];
  }

  async #resync(): Promise<void> {
    this.#watch?.cancel();
    // An empty store (revision 0) has nothing to range over; watching from 1 then misses nothing.
    const { kvs, revision } = (await this.#store.revision()) === 0 ? { kvs: [], revision: 0 } : await this.#store.range("");
    const changes: Change[] = [];
    const seen = new Set<string>();
    for (const kv of kvs) {
      seen.add(kv.key);
      changes.push(this.#put(kv));
    }
    for (const key of [...this.#modRevisions.keys()]) if (!seen.has(key)) changes.push(this.#delete(key));
    this.#advance(revision, changes);
    this.#watch = this.#store.watch(
      "",
      revision + 1,
      (events) => this.#apply(events),
      (err) => {
        if (this.#closed) return;
        this.#log.error({ err }, "state watch failed; reloading the mirror");
        this.#stale = true;
        this.#resync().then(
          () => void (this.#stale = false),
          (e: unknown) => this.#log.error({ err: e }, "mirror reload failed"),
        );
      },
    );
  }

  #apply(events: WatchEvent[]): void {
    if (this.#closed || events.length === 0) return;
    const changes: Change[] = [];
    let rev = this.revision;
    for (const ev of events) {
      if (ev.revision <= this.revision) continue;
      changes.push({ ...(ev.type === "put" ? this.#put(ev.kv) : this.#delete(ev.kv.key)), revision: ev.revision });
      rev = Math.max(rev, ev.revision);
    }
    this.#advance(rev, changes);
  }

  #advance(rev: number, changes: Change[]): void {
    this.revision = Math.max(this.revision, rev);
    if (changes.length > 0) {
      for (const fn of this.#listeners) {
        try {
          fn(changes, this.revision);
        } catch (err) {
          this.#log.error({ err }, "mirror listener failed");
        }
      }
    }
    const ready = this.#waiters.filter((w) => w.rev <= this.revision);
    this.#waiters = this.#waiters.filter((w) => w.rev > this.revision);
    for (const w of ready) w.resolve();
  }

  #put(kv: KeyValue): Change {
    // Bulk data read from the store when asked (task-metrics-history.ts), never written with a compare:
    // a modRevision per block would cost every server memory for nothing.
    if (kv.key.startsWith(Prefix.metricBlocks)) return { kind: null, key: kv.key, prev: null, next: null, revision: 0 };
    const had = this.#modRevisions.has(kv.key);
    this.#modRevisions.set(kv.key, kv.modRevision);
    this.corrupt.delete(kv.key);
    const h = this.#handlerOf(kv.key);
    if (h === null) return { kind: null, key: kv.key, prev: had ? true : null, next: looseJson(kv.value), revision: 0 };
    const { change, problem } = h.put(kv);
    if (problem !== null) {
      // Kept out of every index (as if absent) but its modRevision is known, so a write can replace it.
      this.corrupt.set(kv.key, problem);
      logProblem(this.#log, problem);
    }
    return change;
  }

  #delete(key: string): Change {
    if (key.startsWith(Prefix.metricBlocks)) return { kind: null, key, prev: null, next: null, revision: 0 };
    const had = this.#modRevisions.delete(key);
    this.corrupt.delete(key);
    const h = this.#handlerOf(key);
    return h === null ? { kind: null, key, prev: had ? true : null, next: null, revision: 0 } : h.remove(key);
  }

  #handlerOf(key: string): Handler | null {
    for (const h of this.#handlers) if (key.startsWith(h.prefix)) return h;
    return null;
  }

  /** The indexes of each mirrored kind: `index` adds (`entry` set) or removes (`entry` null) one
   * value, named by its key's parts (Kind.parseKey: a key of another layout never reaches them). */
  #makeHandlers(): Handler[] {
    return [
      handler("job", Kinds.job, ([name], _v, e) => {
        setOrDelete(this.jobs, name, e);
        this.#bump(name);
        this.endpointsStamp++;
      }, ([name]) => this.jobs.get(name)?.value ?? null),
      handler("host", Kinds.host, ([id], _v, e) => {
        setOrDelete(this.hosts, id, e);
        this.hostsStamp++;
      }, ([id]) => this.hosts.get(id)?.value ?? null),
      handler("alive", Kinds.alive, ([id], _v, e) => {
        setOrDelete(this.alive, id, e);
        this.hostsStamp++;
      }, ([id]) => this.alive.get(id)?.value ?? null),
      handler("alloc", Kinds.alloc, ([id], _v, e) => setOrDelete(this.alloc, id, e), ([id]) => this.alloc.get(id)?.value ?? null),
      handler("hostToken", Kinds.hostToken, ([hostId], token, e) => {
        if (e) {
          this.hostTokens.set(hostId, token);
          this.hostByTokenDigest.set(tokenDigest(token), hostId);
        } else {
          this.hostTokens.delete(hostId);
          this.hostByTokenDigest.delete(tokenDigest(token));
        }
      }, ([hostId]) => this.hostTokens.get(hostId) ?? null),
      handler("version", Kinds.version, ([name, n], _v, e) => {
        nestedSetOrDelete(this.versions, name, n, e);
        this.#bump(name);
        this.endpointsStamp++;
      }, ([name, n]) => this.versions.get(name)?.get(n)?.value ?? null),
      handler("task", Kinds.task, ([name, n], t, e) => {
        nestedSetOrDelete(this.tasks, name, n, e);
        this.#bump(name);
        if (t.hostId !== null) indexSet(this.tasksByHost, t.hostId, `${name}/${n}`, e !== null);
      }, ([name, n]) => this.tasks.get(name)?.get(n)?.value ?? null),
      handler("attempt", Kinds.attempt, ([id], a, e) => {
        setOrDelete(this.attempts, id, e);
        indexSet(this.attemptsByHost, a.hostId, id, e !== null);
        indexSet(this.attemptsByTask, `${a.job}/${a.index}`, id, e !== null);
        indexSet(this.attemptsByJob, a.job, id, e !== null);
        this.#bump(a.job);
      }, ([id]) => this.attempts.get(id)?.value ?? null),
      handler("rollout", Kinds.rollout, ([name, n], _r, e) => {
        nestedSetOrDelete(this.rollouts, name, n, e);
        this.#bump(name);
      }, ([name, n]) => this.rollouts.get(name)?.get(n)?.value ?? null),
      handler("secretValue", Kinds.secretValue, ([ns, name], _v, e) => setOrDelete(this.secretValues, `${ns}/${name}`, e), ([ns, name]) => this.secretValues.get(`${ns}/${name}`)?.value ?? null),
      handler("token", Kinds.token, ([id], _t, e) => setOrDelete(this.apiTokens, id, e), ([id]) => this.apiTokens.get(id)?.value ?? null),
      handler("endpoint", Kinds.endpoint, ([service, n], _v, e) => {
        nestedSetOrDelete(this.endpoints, service, n, e);
        this.endpointsStamp++;
      }, ([service, n]) => this.endpoints.get(service)?.get(n)?.value ?? null),
      handler("run", Kinds.run, ([job, id], _r, e) => {
        nestedSetOrDelete(this.runs, job, id, e);
        this.#bump(job);
      }, ([job, id]) => this.runs.get(job)?.get(id)?.value ?? null),
      handler("runItem", Kinds.runItem, ([job, id, index], _v, e) => {
        nestedSetOrDelete(this.runItems, `${job}/${id}`, index, e);
        this.#bump(job);
      }, ([job, id, index]) => this.runItems.get(`${job}/${id}`)?.get(index)?.value ?? null),
      handler("schedule", Kinds.schedule, ([job], _v, e) => setOrDelete(this.schedules, job, e), ([job]) => this.schedules.get(job)?.value ?? null),
      handler("maintenance", Kinds.maintenance, ([id], _v, e) => {
        setOrDelete(this.maintenance, id, e);
        this.hostsStamp++;
      }, ([id]) => this.maintenance.get(id)?.value ?? null),
    ];
  }
}

/** How the mirror holds one kind: decode and index a put, unindex a delete; each returns the change. */
interface Handler {
  prefix: string;
  /** The change, and the problem when the new value does not decode (then it is indexed nowhere). */
  put(kv: KeyValue): { change: Change; problem: StoredProblem | null };
  remove(key: string): Change;
}

function handler<K extends MirroredKind, P extends readonly (string | number)[]>(
  name: K,
  kind: Kind<MirroredValues[K], P>,
  index: (parts: P, value: MirroredValues[K], entry: Entry<MirroredValues[K]> | null) => void,
  lookup: (parts: P) => MirroredValues[K] | null,
): Handler {
  const change = (key: string, prev: MirroredValues[K] | null, next: MirroredValues[K] | null): Change => ({ kind: name, key, prev, next, revision: 0 });
  const remove = (parts: P): MirroredValues[K] | null => {
    const v = lookup(parts);
    if (v !== null) index(parts, v, null);
    return v;
  };
  return {
    prefix: kind.prefix,
    put(kv) {
      const parts = kind.parseKey(kv.key);
      if (parts === null) return { change: change(kv.key, null, null), problem: { key: kv.key, path: "", message: `not a key of a ${kind.name} (under ${kind.prefix}, of another layout)` } };
      const prev = remove(parts);
      const d = kind.decode(kv.key, kv.value);
      if (!d.ok) return { change: change(kv.key, prev, null), problem: d.problem };
      index(parts, d.value, { value: d.value, modRevision: kv.modRevision, lease: kv.lease });
      return { change: change(kv.key, prev, d.value), problem: null };
    },
    remove(key) {
      const parts = kind.parseKey(key);
      return change(key, parts === null ? null : remove(parts), null);
    },
  };
}

/** A value of a kind the mirror does not hold, for change listeners: its JSON, or the text itself. */
function looseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function setOrDelete<T>(m: Map<string, T>, k: string, v: T | null): void {
  if (v === null) m.delete(k);
  else m.set(k, v);
}

function nestedSetOrDelete<T, N extends string | number>(m: Map<string, Map<N, T>>, k: string, n: N, v: T | null): void {
  let inner = m.get(k);
  if (v === null) {
    inner?.delete(n);
    if (inner?.size === 0) m.delete(k);
    return;
  }
  if (!inner) m.set(k, (inner = new Map()));
  inner.set(n, v);
}

function indexSet(m: Map<string, Set<string>>, k: string, id: string, add: boolean): void {
  let s = m.get(k);
  if (add) {
    if (!s) m.set(k, (s = new Set()));
    s.add(id);
  } else if (s) {
    s.delete(id);
    if (s.size === 0) m.delete(k);
  }
}
