// The server's in-memory copy of the state: loaded with one range() at start and kept current by one
// watch from the next revision. Request handlers and reconcilers read it (no store reads on hot
// paths) and write through store.txn with compares on the modRevisions they read here.

import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Attempt, Host, JobRecord, JobVersion, Task } from "../model/index.ts";
import type { KeyValue, Store, Watch, WatchEvent } from "../state/store.ts";
import { Prefix, splitNumbered } from "./keys.ts";
import type { AliveValue } from "./keys.ts";

/** A parsed value with the revision a compare needs. */
export interface Entry<T> {
  value: T;
  modRevision: number;
  lease: string | null;
}

/** One change the mirror applied: the key, and its parsed value before and after (null when absent). */
export interface Change {
  key: string;
  prev: unknown;
  next: unknown;
  /** Revision of the write that made the change (0 for a reload, where it is not known). */
  revision: number;
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
  readonly alloc = new Map<string, Entry<unknown>>();
  /** hostId -> token, and sha256(token) -> hostId. */
  readonly hostTokens = new Map<string, string>();
  readonly hostByTokenDigest = new Map<string, string>();
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
    let value: unknown;
    try {
      value = JSON.parse(kv.value);
    } catch {
      value = kv.value;
    }
    const prev = this.#delete(kv.key).prev;
    this.#modRevisions.set(kv.key, kv.modRevision);
    this.#index(kv.key, value, { value, modRevision: kv.modRevision, lease: kv.lease });
    return { key: kv.key, prev, next: value, revision: 0 };
  }

  #delete(key: string): Change {
    const prev = this.#lookup(key);
    this.#modRevisions.delete(key);
    if (prev !== null) this.#index(key, prev, null);
    return { key, prev, next: null, revision: 0 };
  }

  #lookup(key: string): unknown {
    if (!this.#modRevisions.has(key)) return null;
    const k = key;
    if (k.startsWith(Prefix.jobs)) return this.jobs.get(k.slice(Prefix.jobs.length))?.value ?? null;
    if (k.startsWith(Prefix.attempts)) return this.attempts.get(k.slice(Prefix.attempts.length))?.value ?? null;
    if (k.startsWith(Prefix.hosts)) return this.hosts.get(k.slice(Prefix.hosts.length))?.value ?? null;
    if (k.startsWith(Prefix.alive)) return this.alive.get(k.slice(Prefix.alive.length))?.value ?? null;
    if (k.startsWith(Prefix.alloc)) return this.alloc.get(k.slice(Prefix.alloc.length))?.value ?? null;
    if (k.startsWith(Prefix.hostTokens)) return this.hostTokens.get(k.slice(Prefix.hostTokens.length)) ?? null;
    if (k.startsWith(Prefix.versions)) {
      const s = splitNumbered(k, Prefix.versions);
      return s ? (this.versions.get(s.name)?.get(s.n)?.value ?? null) : null;
    }
    if (k.startsWith(Prefix.tasks)) {
      const s = splitNumbered(k, Prefix.tasks);
      return s ? (this.tasks.get(s.name)?.get(s.n)?.value ?? null) : null;
    }
    return true; // a key the server does not index: its presence is all we know
  }

  /** Adds (`entry` set) or removes (`entry` null) one parsed value and its index entries. */
  #index(key: string, value: unknown, entry: Entry<unknown> | null): void {
    if (key.startsWith(Prefix.jobs)) {
      setOrDelete(this.jobs, key.slice(Prefix.jobs.length), entry as Entry<JobRecord> | null);
      this.#bump(key.slice(Prefix.jobs.length));
    }
    else if (key.startsWith(Prefix.hosts)) {
      setOrDelete(this.hosts, key.slice(Prefix.hosts.length), entry as Entry<Host> | null);
      this.hostsStamp++;
    } else if (key.startsWith(Prefix.alive)) {
      setOrDelete(this.alive, key.slice(Prefix.alive.length), entry as Entry<AliveValue> | null);
      this.hostsStamp++;
    }
    else if (key.startsWith(Prefix.alloc)) setOrDelete(this.alloc, key.slice(Prefix.alloc.length), entry);
    else if (key.startsWith(Prefix.hostTokens)) {
      const hostId = key.slice(Prefix.hostTokens.length);
      const token = typeof value === "string" ? value : "";
      if (entry) {
        this.hostTokens.set(hostId, token);
        this.hostByTokenDigest.set(tokenDigest(token), hostId);
      } else {
        this.hostTokens.delete(hostId);
        this.hostByTokenDigest.delete(tokenDigest(token));
      }
    } else if (key.startsWith(Prefix.versions)) {
      const s = splitNumbered(key, Prefix.versions);
      if (s) nestedSetOrDelete(this.versions, s.name, s.n, entry as Entry<JobVersion> | null);
      if (s) this.#bump(s.name);
    } else if (key.startsWith(Prefix.tasks)) {
      const s = splitNumbered(key, Prefix.tasks);
      if (!s) return;
      nestedSetOrDelete(this.tasks, s.name, s.n, entry as Entry<Task> | null);
      this.#bump(s.name);
      const t = value as Task;
      if (t.hostId !== null) indexSet(this.tasksByHost, t.hostId, `${s.name}/${s.n}`, entry !== null);
    } else if (key.startsWith(Prefix.attempts)) {
      const id = key.slice(Prefix.attempts.length);
      setOrDelete(this.attempts, id, entry as Entry<Attempt> | null);
      const a = value as Attempt;
      indexSet(this.attemptsByHost, a.hostId, id, entry !== null);
      indexSet(this.attemptsByTask, `${a.job}/${a.index}`, id, entry !== null);
      indexSet(this.attemptsByJob, a.job, id, entry !== null);
      this.#bump(a.job);
    }
  }
}

function setOrDelete<T>(m: Map<string, T>, k: string, v: T | null): void {
  if (v === null) m.delete(k);
  else m.set(k, v);
}

function nestedSetOrDelete<T>(m: Map<string, Map<number, T>>, k: string, n: number, v: T | null): void {
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
