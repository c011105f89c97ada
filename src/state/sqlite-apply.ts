// The write side of the SQLite store: applies a batch of write requests in ONE SQLite transaction
// (group commit), each with its own revision, compares evaluated in order against the state
// including the earlier writes of the batch. It runs in a worker thread (sqlite-worker.ts) so the
// server's event loop keeps scheduling and answering while a big batch is written and fsynced.
// Plain data in and out: what crosses the thread boundary is structured-cloned.
import { compareHolds } from "./keys.ts";
import { StateDb, tombstone } from "./sqlite-db.ts";
import type { SyncLevel } from "./sqlite-db.ts";
import type { Compare, KeyValue, Op, TxnResult, WatchEvent } from "./store.ts";

/** One write request as sent to the writer. */
export type WireReq =
  | { kind: "txn"; compare: Compare[]; success: Op[]; failure: Op[] }
  | { kind: "grant"; id: string; ttlMs: number }
  | { kind: "revoke"; id: string }
  /** Deletes these leases and their keys (the caller knows the deadlines). */
  | { kind: "expire"; ids: string[] }
  /** Drops history at and below `through`. */
  | { kind: "compact"; through: number }
  | { kind: "barrier" };

/** An error that crosses the thread boundary as data. */
export type WireError = { name: "LeaseNotFoundError"; lease: string } | { name: "Error"; message: string };

/** How one request ended: a txn result, done, or an error that rejected only this request. */
export type WireOutcome = { ok: true; result: TxnResult | null } | { ok: false; error: WireError };

/** Lease bookkeeping the caller does once the batch committed. */
export type LeaseEffect = { add: string; ttlMs: number } | { forget: string };

/** What a committed batch did. */
export interface BatchDone {
  outcomes: WireOutcome[];
  events: WatchEvent[];
  leases: LeaseEffect[];
  revision: number;
  compacted: number;
}

/** Options of the writer. */
export interface WriterOptions {
  path: string;
  synchronous: SyncLevel;
  historyLimit: number;
  /** Most rows of history kept (whole revisions are dropped, oldest first). */
  historyEvents: number;
}

/** Applies write batches to the database file. */
export class SqliteWriter {
  readonly #db: StateDb;
  readonly #historyLimit: number;
  readonly #historyEvents: number;
  #rev: number;
  #compacted: number;
  /** Rows in the history now (counted once at open, then kept by each batch). */
  #eventRows: number;

  constructor(opts: WriterOptions) {
    this.#db = new StateDb(opts.path, opts.synchronous);
    this.#historyLimit = opts.historyLimit;
    this.#historyEvents = opts.historyEvents;
    this.#rev = this.#db.meta("revision");
    this.#compacted = this.#db.meta("compacted");
    this.#eventRows = this.#db.eventCount();
  }

  /** Applies `reqs` in one transaction. An I/O error rolls the whole batch back and throws. */
  apply(reqs: WireReq[]): BatchDone {
    const startRev = this.#rev;
    const startCompacted = this.#compacted;
    const startRows = this.#eventRows;
    const done: BatchDone = { outcomes: [], events: [], leases: [], revision: 0, compacted: 0 };
    try {
      this.#db.begin();
      for (const req of reqs) done.outcomes.push(this.#applyOne(req, done));
      if (this.#rev !== startRev) {
        this.#db.setMeta("revision", this.#rev);
        this.#eventRows += done.events.length;
        this.#compactThrough(this.#rev - this.#historyLimit);
        // Bounded in rows too; the newest revision always stays (a watcher there must not fail).
        const over = this.#eventRows - this.#historyEvents;
        if (over > 0) this.#compactThrough(Math.min(this.#rev - 1, this.#db.revAtRow(over - 1)));
      }
      this.#db.commit();
    } catch (err) {
      this.#db.rollback();
      this.#rev = startRev;
      this.#compacted = startCompacted;
      this.#eventRows = startRows;
      throw err;
    }
    done.revision = this.#rev;
    done.compacted = this.#compacted;
    return done;
  }

  close(): void {
    this.#db.close();
  }

  /** Applies one request. Expected failures (unknown lease) are found before anything is written and
   * reject only that request; an error while writing (I/O) escapes and rolls back the batch. */
  #applyOne(req: WireReq, done: BatchDone): WireOutcome {
    const rev = this.#rev + 1;
    switch (req.kind) {
      case "txn": {
        // Rows read for the compares are the rows the writes replace: read each key once (a placement
        // compares and writes thousands of keys).
        const read = new Map<string, KeyValue | null>();
        const ok = req.compare.every((c) => {
          const kv = this.#db.get(c.key);
          read.set(c.key, kv);
          return compareHolds(kv, c);
        });
        const ops = ok ? req.success : req.failure;
        for (const op of ops) if (op.type === "put" && op.lease !== undefined && !this.#db.leaseExists(op.lease)) return leaseMissing(op.lease);
        let seq = 0;
        for (const op of ops) seq = this.#applyOp(op, rev, seq, done, read);
        if (seq > 0) this.#rev = rev;
        return { ok: true, result: { succeeded: ok, revision: this.#rev } };
      }
      case "grant":
        this.#db.grantLease(req.id, req.ttlMs);
        done.leases.push({ add: req.id, ttlMs: req.ttlMs });
        return { ok: true, result: null };
      case "revoke":
        if (!this.#db.leaseExists(req.id)) return leaseMissing(req.id);
        if (this.#dropLease(req.id, rev, 0, done) > 0) this.#rev = rev;
        return { ok: true, result: null };
      case "expire": {
        let seq = 0;
        for (const id of req.ids) if (this.#db.leaseExists(id)) seq = this.#dropLease(id, rev, seq, done);
        if (seq > 0) this.#rev = rev;
        return { ok: true, result: null };
      }
      case "compact":
        this.#compactThrough(Math.min(req.through, this.#rev));
        return { ok: true, result: null };
      case "barrier":
        return { ok: true, result: null };
    }
  }

  #compactThrough(through: number): void {
    if (through <= this.#compacted) return;
    this.#eventRows -= this.#db.compact(through);
    this.#compacted = through;
  }

  /** Deletes a lease and its keys at `rev`; returns the next event sequence number. */
  #dropLease(id: string, rev: number, seq: number, done: BatchDone): number {
    for (const prev of this.#db.deleteByLease(id)) {
      this.#db.logDelete(prev, rev, seq++);
      done.events.push({ type: "delete", kv: tombstone(prev.key, rev), revision: rev, prevKv: prev });
    }
    this.#db.dropLease(id);
    done.leases.push({ forget: id });
    return seq;
  }

  /** Applies one op at `rev`; returns the next event sequence number (unchanged if nothing changed). */
  #applyOp(op: Op, rev: number, seq: number, done: BatchDone, read: Map<string, KeyValue | null>): number {
    const current = (key: string): KeyValue | null => {
      const known = read.get(key);
      return known !== undefined ? known : this.#db.get(key);
    };
    switch (op.type) {
      case "put": {
        const lease = op.lease ?? null;
        const prev = current(op.key);
        const kv: KeyValue = { key: op.key, value: op.value, createRevision: prev?.createRevision ?? rev, modRevision: rev, version: (prev?.version ?? 0) + 1, lease };
        read.set(op.key, kv);
        this.#db.put(kv, prev, seq);
        done.events.push(prev ? { type: "put", kv, revision: rev, prevKv: prev } : { type: "put", kv, revision: rev });
        return seq + 1;
      }
      case "delete": {
        const prev = current(op.key);
        read.set(op.key, null);
        if (!prev) return seq;
        this.#db.delete(prev, rev, seq);
        done.events.push({ type: "delete", kv: tombstone(op.key, rev), revision: rev, prevKv: prev });
        return seq + 1;
      }
      case "deletePrefix": {
        read.clear();
        for (const prev of this.#db.deleteRange(op.prefix)) {
          this.#db.logDelete(prev, rev, seq++);
          done.events.push({ type: "delete", kv: tombstone(prev.key, rev), revision: rev, prevKv: prev });
        }
        return seq;
      }
    }
  }
}

function leaseMissing(lease: string): WireOutcome {
  return { ok: false, error: { name: "LeaseNotFoundError", lease } };
}

/** An error as data (the worker's reply for a batch that failed). */
export function wireError(err: unknown): WireError {
  return { name: "Error", message: err instanceof Error ? err.message : String(err) };
}
