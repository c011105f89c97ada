// The embedded store: one SQLite file in WAL mode (see README.md for durability).
//
// Writes are queued and sent as one batch to a worker thread that owns the write connection
// (sqlite-apply.ts): every write issued while the previous batch was being written goes into ONE
// SQLite transaction (group commit), each with its own revision, compares evaluated in order against
// the state including the earlier writes of the batch. A write that fails validation (unknown lease)
// does not sink the others. All promises settle after COMMIT; watchers hear of the batch after that.
// The event loop of the server keeps running while a batch is written and fsynced.
//
// Reads run on this thread's own connection against a snapshot of the committed state, which may be
// a little ahead of the last batch this thread has heard of: reads say which revision they saw.
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { DatabaseSync } from "node:sqlite";
import { moduleFile, systemClock } from "../model/index.ts";
import type { Clock } from "../model/index.ts";
import { workerEntry } from "../model/single-file.ts";
import { compareKeys } from "./keys.ts";
import { LeaseTimers } from "./lease-timers.ts";
import { SqliteWriter, wireError } from "./sqlite-apply.ts";
import type { BatchDone, WireError, WireOutcome, WireReq, WriterOptions } from "./sqlite-apply.ts";
import { lockFile, StateDb } from "./sqlite-db.ts";
import type { SyncLevel } from "./sqlite-db.ts";
import { CompactedError, LeaseNotFoundError } from "./store.ts";
import type { Compare, KeyValue, Op, Store, TxnResult, Watch, WatchEvent } from "./store.ts";
import { WatchHub } from "./watch-hub.ts";
import { privateSqliteFiles } from "./sqlite-files.ts";

/** Options of `openSqliteStore`. */
export interface SqliteStoreOptions {
  /** Time source for lease deadlines and the lease check timer. @default systemClock */
  clock?: Clock;
  /** Revisions of history kept for watches and reads at a past revision. @default 100_000 */
  historyLimit?: number;
  /** Most rows (changed keys) of history kept, whole revisions dropped oldest first: a revision may
   * change thousands of keys (a batch job's pass writes a hundred), so the revision count alone does
   * not bound the file (bench/RESULTS.md, "store growth"). @default DefaultHistoryEvents */
  historyEvents?: number;
  /** How often lease deadlines are checked. @default 200 */
  leaseCheckMs?: number;
  /** SQLite `synchronous`: "full" survives power loss, "normal" only a process crash. @default "full" */
  synchronous?: SyncLevel;
  /** Where writes run: "thread" (a worker thread, the server's event loop goes on meanwhile) or
   * "inline" (on the caller's thread, at the next turn of its event loop). @default $TIFFIN_SQLITE_WRITER or "thread" */
  writer?: "thread" | "inline";
}

function defaultWriter(): "thread" | "inline" {
  return process.env["TIFFIN_SQLITE_WRITER"] === "inline" ? "inline" : "thread";
}

/** Rows of history kept by default: at about 1 KB of file a row (a value and its previous value),
 * some 250 MB, several minutes of the busiest load measured (bench/batch.ts, bench/c1m.ts). */
export const DefaultHistoryEvents = 250_000;

/** Most ops sent in one batch; the rest wait for the next. */
const MAX_BATCH_OPS = 20_000;

/** Requests with at least this many ops are "big": small ones are written ahead of them. */
const BIG_REQUEST_OPS = 500;

/** How many ops a request weighs against MAX_BATCH_OPS. */
function weight(req: WriteReq): number {
  return req.wire.kind === "txn" ? Math.max(1, req.wire.success.length + req.wire.failure.length) : 1;
}

interface WriteReq {
  wire: WireReq;
  resolve: (v: TxnResult | null) => void;
  reject: (err: unknown) => void;
}

/** A Store on one SQLite file. */
export class SqliteStore implements Store {
  readonly #lock: DatabaseSync;
  readonly #db: StateDb;
  /** The writer in a worker thread, or null when it runs inline (`writer: "inline"`). */
  readonly #worker: Worker | null;
  readonly #inline: SqliteWriter | null;
  readonly #clock: Clock;
  readonly #leases: LeaseTimers;
  readonly #hub: WatchHub;
  /** The last revision whose batch this thread has settled and published. */
  #rev: number;
  #compacted: number;
  #queue: WriteReq[] = [];
  #inFlight: WriteReq[] | null = null;
  #flushScheduled = false;
  #expirePending = false;
  #closing = false;
  #broken: Error | null = null;
  #stats = { commits: 0, requests: 0 };

  constructor(path: string, opts: SqliteStoreOptions = {}) {
    this.#clock = opts.clock ?? systemClock;
    const synchronous = opts.synchronous ?? "full";
    if (path !== ":memory:") privateSqliteFiles(path);
    this.#lock = lockFile(path);
    try {
      this.#db = new StateDb(path, synchronous, 64);
    } catch (err) {
      this.#lock.close();
      throw err;
    }
    this.#rev = this.#db.meta("revision");
    this.#compacted = this.#db.meta("compacted");
    const historyLimit = Math.max(1, opts.historyLimit ?? 100_000);
    const writer: WriterOptions = { path, synchronous, historyLimit, historyEvents: Math.max(1, opts.historyEvents ?? DefaultHistoryEvents) };
    if ((opts.writer ?? defaultWriter()) === "inline") {
      this.#worker = null;
      this.#inline = new SqliteWriter(writer);
    } else {
      this.#inline = null;
      const worker = new Worker(...workerEntry(moduleFile("./sqlite-worker.ts", import.meta.url), { workerData: writer, execArgv: workerArgv() }));
      worker.unref();
      worker.on("message", (msg: { done?: BatchDone; failed?: WireError }) => this.#onReply(msg));
      worker.on("error", (err) => this.#fail(err));
      worker.on("exit", () => this.#fail(new Error("state store writer stopped")));
      this.#worker = worker;
    }
    this.#hub = new WatchHub({ revision: () => this.#rev, floor: () => this.#compacted + 1, events: (p, f, t, l) => this.#events(p, f, t, l) });
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
    return this.#read(() =>
      this.#db.snapshot(() => {
        const rev = this.#db.meta("revision");
        const compacted = this.#db.meta("compacted");
        const at = opts.revision === undefined || opts.revision <= 0 ? rev : opts.revision;
        const limit = opts.limit === undefined || opts.limit <= 0 ? null : opts.limit;
        if (at > rev) throw new Error(`range at revision ${at}: the store is only at ${rev}`);
        if (at === rev) return { kvs: this.#db.range(prefix, limit), revision: at }; // the current state is always there
        if (at < compacted + 1) throw new CompactedError(compacted + 1);
        // Current state with every write after `at` undone, key by key.
        const byKey = new Map(this.#db.range(prefix, null).map((kv) => [kv.key, kv]));
        for (const [key, prev] of this.#db.undoAfter(at, prefix)) {
          if (prev) byKey.set(key, prev);
          else byKey.delete(key);
        }
        const kvs = [...byKey.values()].sort((a, b) => compareKeys(a.key, b.key));
        return { kvs: limit === null ? kvs : kvs.slice(0, limit), revision: at };
      }),
    );
  }

  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<number> {
    const op: Op = opts.lease === undefined ? { type: "put", key, value } : { type: "put", key, value, lease: opts.lease };
    return (await this.txn({ compare: [], success: [op] })).revision;
  }

  async delete(key: string): Promise<number> {
    return (await this.txn({ compare: [], success: [{ type: "delete", key }] })).revision;
  }

  async txn(req: { compare: Compare[]; success: Op[]; failure?: Op[] }): Promise<TxnResult> {
    const r = await this.#enqueue({ kind: "txn", compare: req.compare, success: req.success, failure: req.failure ?? [] });
    if (!r) throw new Error("state store: a txn without a result");
    return r;
  }

  /** Events always carry `prevKv` here (the log keeps the key before each change), asked or not. */
  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError?: (err: Error) => void): Watch {
    if (this.#closing) throw new Error("state store is closed");
    return this.#hub.watch(prefix, fromRevision, onEvents, onError);
  }

  async grantLease(ttlMs: number): Promise<string> {
    if (!(ttlMs > 0)) throw new RangeError(`lease TTL must be positive, got ${ttlMs} ms`);
    const id = randomBytes(8).toString("hex");
    await this.#enqueue({ kind: "grant", id, ttlMs });
    return id;
  }

  keepAlive(lease: string): Promise<void> {
    if (this.#closing) return Promise.reject(new Error("state store is closed"));
    return this.#leases.keepAlive(lease) ? Promise.resolve() : Promise.reject(new LeaseNotFoundError(lease));
  }

  async revokeLease(lease: string): Promise<void> {
    await this.#enqueue({ kind: "revoke", id: lease });
  }

  /** Drops history below `revision` (reads and watches from `revision` on still work). The store
   * also does this by itself to keep the last `historyLimit` revisions. */
  async compact(revision: number): Promise<void> {
    await this.#enqueue({ kind: "compact", through: revision - 1 });
  }

  /** Counters for metrics and tests: SQLite transactions committed and write requests applied in
   * them (requests / commits is the group-commit factor). */
  stats(): { commits: number; requests: number } {
    return { ...this.#stats };
  }

  /** Finishes queued writes, stops timers and watches, closes the file. */
  async close(): Promise<void> {
    if (this.#closing) return;
    const drained = this.#enqueue({ kind: "barrier" });
    this.#closing = true;
    await drained.catch(() => undefined);
    this.#leases.stop();
    this.#hub.closeAll();
    const worker = this.#worker;
    if (worker && !this.#broken) {
      const exited = new Promise((r) => worker.once("exit", r));
      worker.ref();
      worker.postMessage({ close: true });
      await exited;
    }
    this.#inline?.close();
    this.#db.close();
    this.#lock.close();
  }

  #read<T>(fn: () => T): Promise<T> {
    if (this.#closing) return Promise.reject(new Error("state store is closed"));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** Events for the watch hub, from one snapshot that must still hold `from` (the writer compacts
   * on its own and this thread may not have heard yet). */
  #events(prefix: string, from: number, to: number, limit: number): WatchEvent[] | CompactedError {
    return this.#db.snapshot(() => {
      const compacted = this.#db.meta("compacted");
      if (from <= compacted) return new CompactedError(compacted + 1);
      return this.#db.events(prefix, from, to, limit);
    });
  }

  #enqueue(wire: WireReq): Promise<TxnResult | null> {
    if (this.#closing) return Promise.reject(new Error("state store is closed"));
    if (this.#broken) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      this.#queue.push({ wire, resolve, reject });
      this.#scheduleFlush();
    });
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#inFlight) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #expireDue(): void {
    if (this.#expirePending || this.#closing) return;
    this.#expirePending = true;
    const done = (): void => void (this.#expirePending = false);
    // A failed expiry (I/O) is retried by the next check.
    this.#enqueue({ kind: "expire", ids: [] }).then(done, done);
  }

  /** Sends the queued writes as one batch; one batch is in flight at a time, so the writes made
   * while it is written form the next one. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#inFlight || this.#queue.length === 0) return;
    let batch: WriteReq[];
    const small = this.#queue.filter((r) => weight(r) < BIG_REQUEST_OPS);
    if (small.length > 0 && small.length < this.#queue.length) {
      // Small writes (an apply, a lease grant, a report) go ahead of big ones (a placement of
      // thousands of tasks) in a batch of their own: none of them was acknowledged, so any order is
      // a valid one, and a heartbeat's lease grant need not wait for a big batch's commit.
      batch = small.slice(0, MAX_BATCH_OPS);
      const taken = new Set(batch);
      this.#queue = this.#queue.filter((r) => !taken.has(r));
    } else {
      let n = 0;
      let ops = 0;
      while (n < this.#queue.length && (n === 0 || ops < MAX_BATCH_OPS)) ops += weight(this.#queue[n++] as WriteReq);
      batch = this.#queue.slice(0, n);
      this.#queue = this.#queue.slice(n);
    }
    // Deadlines are read now, not when the timer fired: a keep-alive in between still counts.
    for (const req of batch) if (req.wire.kind === "expire") req.wire = { kind: "expire", ids: this.#leases.due() };
    this.#inFlight = batch;
    const wire = batch.map((r) => r.wire);
    if (this.#worker) {
      this.#worker.ref(); // a pending write keeps the process alive until it is settled
      this.#worker.postMessage({ batch: wire });
    } else if (this.#inline) {
      let reply: { done?: BatchDone; failed?: WireError };
      try {
        reply = { done: this.#inline.apply(wire) };
      } catch (err) {
        reply = { failed: wireError(err) };
      }
      this.#onReply(reply);
    }
  }

  #onReply(msg: { done?: BatchDone; failed?: WireError }): void {
    const batch = this.#inFlight ?? [];
    this.#inFlight = null;
    this.#worker?.unref();
    if (msg.done) {
      const d = msg.done;
      this.#rev = d.revision;
      this.#compacted = Math.max(this.#compacted, d.compacted);
      this.#stats.commits++;
      this.#stats.requests += batch.length;
      for (const l of d.leases) {
        if ("add" in l) this.#leases.add(l.add, l.ttlMs);
        else this.#leases.forget(l.forget);
      }
      batch.forEach((req, i) => settle(req, d.outcomes[i]));
      this.#hub.publish(d.events);
    } else {
      const err = toError(msg.failed ?? { name: "Error", message: "state store writer failed" });
      for (const req of batch) req.reject(err);
    }
    if (this.#queue.length > 0) this.#flush();
  }

  /** The writer thread died: fail what waits and every later write. */
  #fail(err: Error): void {
    if (this.#broken) return;
    this.#broken = err;
    for (const req of [...(this.#inFlight ?? []), ...this.#queue]) req.reject(err);
    this.#inFlight = null;
    this.#queue = [];
  }
}

function settle(req: WriteReq, o: WireOutcome | undefined): void {
  if (!o) req.reject(new Error("state store: no outcome for a write"));
  else if (o.ok) req.resolve(o.result);
  else req.reject(toError(o.error));
}

function toError(e: WireError): Error {
  return e.name === "LeaseNotFoundError" ? new LeaseNotFoundError(e.lease) : new Error(e.message);
}

/** The Node flags a worker shares with this process: warnings and experimental features (type
 * stripping). Not all of them: inline-script flags (`-e`) and per-process ones (the test runner's)
 * are refused by workers. */
function workerArgv(): string[] {
  const shared = ["--disable-warning", "--no-warnings", "--experimental-", "--no-experimental-", "--max-old-space-size"];
  return process.execArgv.filter((a) => shared.some((p) => a.startsWith(p)));
}

/** Opens (creating if needed) a SQLite-backed store at `path`. Throws a TiffinError
 * (TIFFIN_UNAVAILABLE) when another process has the file open. */
export function openSqliteStore(path: string, opts?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, opts);
}
