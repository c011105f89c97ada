// The embedded store: one SQLite file in WAL mode (see README.md for durability).
//
// Writes are queued and applied by `#flush` on the next turn of the event loop: every write issued in
// the same turn goes into ONE SQLite transaction (group commit), each with its own revision, compares
// evaluated in order against the state including the earlier writes of the batch. A write that fails
// validation (unknown lease) is found before it writes anything, so it does not sink the others.
// All promises settle after COMMIT; watchers hear of the batch after that.
// Reads run synchronously against the committed state, so they never interleave with a batch.
import { randomBytes } from "node:crypto";
import { systemClock } from "../model/index.ts";
import type { Clock } from "../model/index.ts";
import { compareHolds, compareKeys } from "./keys.ts";
import { LeaseTimers } from "./lease-timers.ts";
import { StateDb, tombstone } from "./sqlite-db.ts";
import type { SyncLevel } from "./sqlite-db.ts";
import { CompactedError, LeaseNotFoundError } from "./store.ts";
import type { Compare, KeyValue, Op, Store, TxnResult, Watch, WatchEvent } from "./store.ts";
import { WatchHub } from "./watch-hub.ts";

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Time source for lease deadlines and the lease check timer. @default systemClock */
  clock?: Clock;
  /** Revisions of history kept for watches and reads at a past revision. @default 100_000 */
  historyLimit?: number;
  /** How often lease deadlines are checked. @default 200 */
  leaseCheckMs?: number;
  /** SQLite `synchronous`: "full" survives power loss, "normal" only a process crash. @default "full" */
  synchronous?: SyncLevel;
}

/** Most ops applied in one transaction (a batch blocks the event loop while it runs: about 5 us per
 * op); the rest wait for the next turn. */
const MAX_BATCH_OPS = 20_000;

/** How many ops a request weighs against MAX_BATCH_OPS. */
function weight(req: WriteReq): number {
  return req.kind === "txn" ? Math.max(1, req.success.length + req.failure.length) : 1;
}

interface Settle<T> {
  resolve: (v: T) => void;
  reject: (err: unknown) => void;
}
type WriteReq =
  | ({ kind: "txn"; compare: Compare[]; success: Op[]; failure: Op[] } & Settle<TxnResult>)
  | ({ kind: "grant"; id: string; ttlMs: number } & Settle<void>)
  | ({ kind: "revoke"; id: string } & Settle<void>)
  | ({ kind: "expire" } & Settle<void>)
  | ({ kind: "barrier" } & Settle<void>);

/** What one batch did, applied to memory only after it commits. */
interface BatchEffects {
  events: WatchEvent[];
  settle: (() => void)[];
  leases: (() => void)[];
}

/** A Store on one SQLite file. */
export class SqliteStore implements Store {
  readonly #db: StateDb;
  readonly #clock: Clock;
  readonly #historyLimit: number;
  readonly #leases: LeaseTimers;
  readonly #hub: WatchHub;
  #rev: number;
  #compacted: number;
  #queue: WriteReq[] = [];
  #flushScheduled = false;
  #expirePending = false;
  #closing = false;
  #stats = { commits: 0, requests: 0 };

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    this.#historyLimit = Math.max(1, opts.historyLimit ?? 100_000);
    this.#db = new StateDb(path, opts.synchronous ?? "full");
    this.#rev = this.#db.meta("revision");
    this.#compacted = this.#db.meta("compacted");
    this.#hub = new WatchHub({ revision: () => this.#rev, floor: () => this.#compacted + 1, events: (p, f, t, l) => this.#db.events(p, f, t, l) });
    this.#leases = new LeaseTimers(this.#clock, opts.leaseCheckMs ?? 200, () => this.#expireDue());
    // Deadlines are not persisted: after a restart every lease gets its full TTL again.
    for (const l of this.#db.leases()) this.#leases.add(l.id, l.ttlMs);
    this.#leases.start();
  }

  revision(): Promise<number> {
    return this.#read(() => this.#rev);
  }

  get(key: string): Promise<KeyValue | null> {
    return this.#read(() => this.#db.get(key));
  }

  range(prefix: string, opts: { revision?: number; limit?: number } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    return this.#read(() => {
      const at = opts.revision === undefined || opts.revision <= 0 ? this.#rev : opts.revision;
      const limit = opts.limit === undefined || opts.limit <= 0 ? null : opts.limit;
      if (at > this.#rev) throw new Error(`range at revision ${at}: the store is only at ${this.#rev}`);
      if (at < this.#compacted + 1) throw new CompactedError(this.#compacted + 1);
      if (at === this.#rev) return { kvs: this.#db.range(prefix, limit), revision: at };
      // Current state with every write after `at` undone, key by key.
      const byKey = new Map(this.#db.range(prefix, null).map((kv) => [kv.key, kv]));
      for (const [key, prev] of this.#db.undoAfter(at, prefix)) {
        if (prev) byKey.set(key, prev);
        else byKey.delete(key);
      }
      const kvs = [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key));
      return { kvs: limit === null ? kvs : kvs.slice(0, limit), revision: at };
    });
  }

  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<number> {
    const op: Op = opts.lease === undefined ? { type: "put", key, value } : { type: "put", key, value, lease: opts.lease };
    return (await this.txn({ compare: [], success: [op] })).revision;
  }

  async delete(key: string): Promise<number> {
    return (await this.txn({ compare: [], success: [{ type: "delete", key }] })).revision;
  }

  txn(req: { compare: Compare[]; success: Op[]; failure?: Op[] }): Promise<TxnResult> {
    return this.#enqueue<TxnResult>((s) => ({ kind: "txn", compare: req.compare, success: req.success, failure: req.failure ?? [], ...s }));
  }

  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError?: (err: Error) => void): Watch {
    if (this.#closing) throw new Error("state store is closed");
    return this.#hub.watch(prefix, fromRevision, onEvents, onError);
  }

  grantLease(ttlMs: number): Promise<string> {
    if (!(ttlMs > 0)) return Promise.reject(new RangeError(`lease TTL must be positive, got ${ttlMs} ms`));
    const id = randomBytes(8).toString("hex");
    return this.#enqueue<void>((s) => ({ kind: "grant", id, ttlMs, ...s })).then(() => id);
  }

  keepAlive(lease: string): Promise<void> {
    if (this.#closing) return Promise.reject(new Error("state store is closed"));
    return this.#leases.keepAlive(lease) ? Promise.resolve() : Promise.reject(new LeaseNotFoundError(lease));
  }

  revokeLease(lease: string): Promise<void> {
    return this.#enqueue<void>((s) => ({ kind: "revoke", id: lease, ...s }));
  }

  /** Drops history below `revision` (reads and watches from `revision` on still work). The store
   * also does this by itself to keep the last `historyLimit` revisions. */
  compact(revision: number): Promise<void> {
    return this.#read(() => {
      const through = Math.min(revision - 1, this.#rev);
      if (through <= this.#compacted) return;
      this.#db.begin();
      try {
        this.#db.compact(through);
        this.#db.commit();
      } catch (err) {
        this.#db.rollback();
        throw err;
      }
      this.#compacted = through;
    });
  }

  /** Counters for metrics and tests: SQLite transactions committed and write requests applied in
   * them (requests / commits is the group-commit factor). */
  stats(): { commits: number; requests: number } {
    return { ...this.#stats };
  }

  /** Finishes queued writes, stops timers and watches, closes the file. */
  async close(): Promise<void> {
    if (this.#closing) return;
    const drained = this.#enqueue<void>((s) => ({ kind: "barrier", ...s }));
    this.#closing = true;
    await drained.catch(() => undefined);
    this.#leases.stop();
    this.#hub.closeAll();
    this.#db.close();
  }

  #read<T>(fn: () => T): Promise<T> {
    if (this.#closing) return Promise.reject(new Error("state store is closed"));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #enqueue<T>(make: (s: Settle<T>) => WriteReq): Promise<T> {
    if (this.#closing) return Promise.reject(new Error("state store is closed"));
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(make({ resolve, reject }));
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #expireDue(): void {
    if (this.#expirePending || this.#closing) return;
    this.#expirePending = true;
    const done = (): void => void (this.#expirePending = false);
    // A failed expiry (I/O) is retried by the next check.
    this.#enqueue<void>((s) => ({ kind: "expire", ...s })).then(done, done);
  }

  #flush(): void {
    this.#flushScheduled = false;
    let n = 0;
    let ops = 0;
    while (n < this.#queue.length && (n === 0 || ops < MAX_BATCH_OPS)) ops += weight(this.#queue[n++] as WriteReq);
    const batch = n === this.#queue.length ? this.#queue : this.#queue.slice(0, n);
    this.#queue = n === this.#queue.length ? [] : this.#queue.slice(n);
    if (this.#queue.length > 0) this.#scheduleFlush();
    if (batch.length === 0) return;
    const startRev = this.#rev;
    const fx: BatchEffects = { events: [], settle: [], leases: [] };
    try {
      this.#db.begin();
      for (const req of batch) this.#applyOne(req, fx);
      if (this.#rev !== startRev) {
        this.#db.setMeta("revision", this.#rev);
        const through = this.#rev - this.#historyLimit;
        if (through > this.#compacted) this.#db.compact(through);
      }
      this.#db.commit();
      this.#stats.commits++;
      this.#stats.requests += batch.length;
    } catch (err) {
      this.#db.rollback();
      this.#rev = startRev;
      for (const req of batch) req.reject(err);
      return;
    }
    this.#compacted = Math.max(this.#compacted, this.#rev - this.#historyLimit);
    for (const f of fx.leases) f();
    for (const f of fx.settle) f();
    this.#hub.publish(fx.events);
  }

  /** Applies one request. Expected failures (unknown lease, a malformed compare) are found before
   * anything is written and reject only that request; an error while writing (I/O) escapes and
   * rolls back the whole batch. */
  #applyOne(req: WriteReq, fx: BatchEffects): void {
    let write: () => () => void;
    try {
      write = this.#check(req, fx);
    } catch (err) {
      fx.settle.push(() => req.reject(err));
      return;
    }
    fx.settle.push(write());
  }

  /** Validates a request against the state so far (earlier writes of the batch included) and
   * returns its writes, which return how to settle it once the batch commits. */
  #check(req: WriteReq, fx: BatchEffects): () => () => void {
    const rev = this.#rev + 1;
    switch (req.kind) {
      case "txn": {
        // Rows read for the compares are the rows the writes replace: read each key once (a placement
        // compares and writes thousands of keys). Nothing else writes between the check and the write.
        const read = new Map<string, KeyValue | null>();
        const ok = req.compare.every((c) => {
          const kv = this.#db.get(c.key);
          read.set(c.key, kv);
          return compareHolds(kv, c);
        });
        const ops = ok ? req.success : req.failure;
        for (const op of ops) if (op.type === "put" && op.lease !== undefined && !this.#db.leaseExists(op.lease)) throw new LeaseNotFoundError(op.lease);
        return () => {
          let seq = 0;
          for (const op of ops) seq = this.#applyOp(op, rev, seq, fx, read);
          if (seq > 0) this.#rev = rev;
          const result = { succeeded: ok, revision: this.#rev };
          return () => req.resolve(result);
        };
      }
      case "grant":
        return () => {
          this.#db.grantLease(req.id, req.ttlMs);
          fx.leases.push(() => this.#leases.add(req.id, req.ttlMs));
          return () => req.resolve();
        };
      case "revoke":
        if (!this.#db.leaseExists(req.id)) throw new LeaseNotFoundError(req.id);
        return () => {
          if (this.#dropLease(req.id, rev, 0, fx) > 0) this.#rev = rev;
          return () => req.resolve();
        };
      case "expire":
        return () => {
          // Deadlines are read now, not when the timer fired: a keep-alive in between still counts.
          let seq = 0;
          for (const id of this.#leases.due()) seq = this.#dropLease(id, rev, seq, fx);
          if (seq > 0) this.#rev = rev;
          return () => req.resolve();
        };
      case "barrier":
        return () => () => req.resolve();
    }
  }

  /** Deletes a lease and its keys at `rev`; returns the next event sequence number. */
  #dropLease(id: string, rev: number, seq: number, fx: BatchEffects): number {
    for (const prev of this.#db.deleteByLease(id)) {
      this.#db.logDelete(prev, rev, seq++);
      fx.events.push({ type: "delete", kv: tombstone(prev.key, rev), revision: rev });
    }
    this.#db.dropLease(id);
    fx.leases.push(() => this.#leases.forget(id));
    return seq;
  }

  /** Applies one op at `rev`; returns the next event sequence number (unchanged if nothing changed). */
  #applyOp(op: Op, rev: number, seq: number, fx: BatchEffects, read?: Map<string, KeyValue | null>): number {
    const current = (key: string): KeyValue | null => {
      const known = read?.get(key);
      return known !== undefined ? known : this.#db.get(key);
    };
    switch (op.type) {
      case "put": {
        const lease = op.lease ?? null;
        const prev = current(op.key);
        const kv: KeyValue = { key: op.key, value: op.value, createRevision: prev?.createRevision ?? rev, modRevision: rev, version: (prev?.version ?? 0) + 1, lease };
        read?.set(op.key, kv);
        this.#db.put(kv, prev, seq);
        fx.events.push({ type: "put", kv, revision: rev });
        return seq + 1;
      }
      case "delete": {
        const prev = current(op.key);
        read?.set(op.key, null);
        if (!prev) return seq;
        this.#db.delete(prev, rev, seq);
        fx.events.push({ type: "delete", kv: tombstone(op.key, rev), revision: rev });
        return seq + 1;
      }
      case "deletePrefix": {
        read?.clear();
        for (const prev of this.#db.deleteRange(op.prefix)) {
          this.#db.logDelete(prev, rev, seq++);
          fx.events.push({ type: "delete", kv: tombstone(prev.key, rev), revision: rev });
        }
        return seq;
      }
    }
  }
}

/** Opens (creating if needed) a SQLite-backed store at `path`. Throws a TiffinError
 * (TIFFIN_UNAVAILABLE) when another process has the file open. */
export function openSqliteStore(path: string, opts?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, opts);
}
