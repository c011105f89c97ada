// The SQLite file behind SqliteStore: schema, pragmas, prepared statements and row conversion.
// Plain synchronous calls; the store decides when they run (in one transaction per write batch).
import { DatabaseSync } from "node:sqlite";
import type { SQLInputValue, SQLOutputValue, StatementSync } from "node:sqlite";
import { ErrorCodes, TiffinError } from "../model/index.ts";
import { compareKeys, prefixEnd } from "./keys.ts";
import type { KeyValue, WatchEvent } from "./store.ts";

const SCHEMA_VERSION = 1;

// kv: the current state. events: one row per changed key and revision, holding the new state (for
// watches) and the previous one (to undo newer writes when reading at a past revision); compaction
// drops old rows. meta: revision, compacted revision, schema version. leases: their TTLs (deadlines
// live in memory and are fresh after every open).
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY, value TEXT NOT NULL, create_rev INTEGER NOT NULL, mod_rev INTEGER NOT NULL,
  version INTEGER NOT NULL, lease TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_lease ON kv (lease) WHERE lease IS NOT NULL;
CREATE TABLE IF NOT EXISTS events (
  rev INTEGER NOT NULL, seq INTEGER NOT NULL, type INTEGER NOT NULL, key TEXT NOT NULL,
  value TEXT NOT NULL, create_rev INTEGER NOT NULL, version INTEGER NOT NULL, lease TEXT,
  prev_value TEXT, prev_create_rev INTEGER, prev_mod_rev INTEGER, prev_version INTEGER, prev_lease TEXT,
  PRIMARY KEY (rev, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, ttl_ms INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ${SCHEMA_VERSION}), ('revision', 0), ('compacted', 0);
`;

/** Event type codes in the events table. */
const PUT = 0;
const DELETE = 1;

/** `synchronous` levels offered: see README.md for why "full" is the default. */
export type SyncLevel = "full" | "normal";

/** A key range for a prefix. A blob upper bound stands for "no bound": SQLite orders every TEXT value
 * below every BLOB, so one prepared statement serves both cases. */
function bounds(prefix: string): [string, SQLInputValue] {
  return [prefix, prefixEnd(prefix) ?? new Uint8Array([0xff])];
}

function text(row: Record<string, SQLOutputValue>, col: string): string {
  const v = row[col];
  if (typeof v !== "string") throw new Error(`state db: column ${col} is not text`);
  return v;
}
function int(row: Record<string, SQLOutputValue>, col: string): number {
  const v = row[col];
  if (typeof v !== "number") throw new Error(`state db: column ${col} is not an integer`);
  return v;
}
function textOrNull(row: Record<string, SQLOutputValue>, col: string): string | null {
  const v = row[col];
  return v === null || v === undefined ? null : text(row, col);
}

function rowToKv(row: Record<string, SQLOutputValue>): KeyValue {
  return {
    key: text(row, "key"),
    value: text(row, "value"),
    createRevision: int(row, "create_rev"),
    modRevision: int(row, "mod_rev"),
    version: int(row, "version"),
    lease: textOrNull(row, "lease"),
  };
}

/** A key's state before an event, as stored in the undo columns (null: the key did not exist). */
function prevOf(row: Record<string, SQLOutputValue>): KeyValue | null {
  if (row.prev_mod_rev === null || row.prev_mod_rev === undefined) return null;
  return {
    key: text(row, "key"),
    value: text(row, "prev_value"),
    createRevision: int(row, "prev_create_rev"),
    modRevision: int(row, "prev_mod_rev"),
    version: int(row, "prev_version"),
    lease: textOrNull(row, "prev_lease"),
  };
}

/** The watch event an events row stands for. */
function rowToEvent(row: Record<string, SQLOutputValue>): WatchEvent {
  const rev = int(row, "rev");
  const kv: KeyValue = { key: text(row, "key"), value: text(row, "value"), createRevision: int(row, "create_rev"), modRevision: rev, version: int(row, "version"), lease: textOrNull(row, "lease") };
  const type = int(row, "type") === DELETE ? "delete" : "put";
  const prev = prevOf(row);
  return prev ? { type, revision: rev, kv, prevKv: prev } : { type, revision: rev, kv };
}

/** Opens (creating if needed) the database file. Two connections share it (the server's reads on
 * the main thread, writes in a worker: see sqlite.ts), so the file itself is not locked exclusively;
 * `lockFile` keeps other processes out. */
function openFile(path: string, sync: SyncLevel, cacheMiB: number): DatabaseSync {
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA synchronous = ${sync.toUpperCase()};
      PRAGMA journal_size_limit = 67108864; PRAGMA cache_size = -${cacheMiB * 1024}; PRAGMA wal_autocheckpoint = 16384; BEGIN IMMEDIATE; ${SCHEMA} COMMIT;`);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Takes the lock that makes one process the owner of the state file: an exclusive transaction,
 * never committed, on `PATH.lock` (the kernel drops it when the process dies, kill -9 included). A
 * second server on the same file fails at once instead of handing out the same revisions. */
export function lockFile(path: string): DatabaseSync {
  const lock = new DatabaseSync(`${path}.lock`);
  try {
    lock.exec("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;");
  } catch (err) {
    lock.close();
    if (err instanceof Error && /locked|busy/i.test(err.message)) {
      throw new TiffinError(ErrorCodes.Unavailable, `state database ${path} is in use by another process`, {
        hint: "stop the other tiffin server using this file, or point this one at another state path",
      });
    }
    throw err;
  }
  return lock;
}

/** The database with its prepared statements. */
export class StateDb {
  readonly db: DatabaseSync;
  readonly #s: Record<string, StatementSync>;

  constructor(path: string, sync: SyncLevel, cacheMiB = 256) {
    this.db = openFile(path, sync, cacheMiB);
    const p = (sql: string): StatementSync => this.db.prepare(sql);
    this.#s = {
      meta: p("SELECT value FROM meta WHERE name = ?"),
      setMeta: p("UPDATE meta SET value = ? WHERE name = ?"),
      get: p("SELECT * FROM kv WHERE key = ?"),
      range: p("SELECT * FROM kv WHERE key >= ? AND key < ? ORDER BY key"),
      rangeLimit: p("SELECT * FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?"),
      upsert: p(`INSERT INTO kv (key, value, create_rev, mod_rev, version, lease) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_rev = excluded.mod_rev, version = excluded.version, lease = excluded.lease`),
      del: p("DELETE FROM kv WHERE key = ?"),
      delRange: p("DELETE FROM kv WHERE key >= ? AND key < ? RETURNING *"),
      delLease: p("DELETE FROM kv WHERE lease = ? RETURNING *"),
      event: p(`INSERT INTO events (rev, seq, type, key, value, create_rev, version, lease,
        prev_value, prev_create_rev, prev_mod_rev, prev_version, prev_lease) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      events: p("SELECT * FROM events WHERE rev >= ? AND rev <= ? AND key >= ? AND key < ? ORDER BY rev, seq LIMIT ?"),
      undo: p("SELECT * FROM events WHERE rev > ? AND key >= ? AND key < ? ORDER BY rev, seq"),
      compact: p("DELETE FROM events WHERE rev <= ?"),
      eventCount: p("SELECT count(*) AS n FROM events"),
      revAtRow: p("SELECT rev FROM events ORDER BY rev, seq LIMIT 1 OFFSET ?"),
      leases: p("SELECT id, ttl_ms FROM leases"),
      leaseExists: p("SELECT 1 AS x FROM leases WHERE id = ?"),
      grant: p("INSERT INTO leases (id, ttl_ms) VALUES (?, ?)"),
      dropLease: p("DELETE FROM leases WHERE id = ?"),
    };
  }

  #st(name: string): StatementSync {
    const s = this.#s[name];
    if (!s) throw new Error(`state db: no statement ${name}`);
    return s;
  }

  begin(): void {
    this.db.exec("BEGIN IMMEDIATE");
  }
  /** Runs reads against one snapshot (a read transaction: the writer may commit meanwhile). */
  snapshot<T>(fn: () => T): T {
    this.db.exec("BEGIN");
    try {
      return fn();
    } finally {
      this.db.exec("COMMIT");
    }
  }
  commit(): void {
    this.db.exec("COMMIT");
  }
  rollback(): void {
    if (this.db.isTransaction) this.db.exec("ROLLBACK");
  }

  meta(name: "revision" | "compacted" | "schema"): number {
    const row = this.#st("meta").get(name);
    return row ? int(row, "value") : 0;
  }
  setMeta(name: "revision" | "compacted", value: number): void {
    this.#st("setMeta").run(value, name);
  }

  get(key: string): KeyValue | null {
    const row = this.#st("get").get(key);
    return row ? rowToKv(row) : null;
  }
  range(prefix: string, limit: number | null): KeyValue[] {
    const rows = limit === null ? this.#st("range").all(...bounds(prefix)) : this.#st("rangeLimit").all(...bounds(prefix), limit);
    return rows.map(rowToKv);
  }
  /** For each key under `prefix` written after `rev`: its state as of `rev` (null: absent then). */
  undoAfter(rev: number, prefix: string): Map<string, KeyValue | null> {
    const out = new Map<string, KeyValue | null>();
    for (const row of this.#st("undo").iterate(rev, ...bounds(prefix))) {
      const key = text(row, "key");
      if (!out.has(key)) out.set(key, prevOf(row));
    }
    return out;
  }

  /** Writes `kv` and logs the change from `prev` at `seq` within its revision. */
  put(kv: KeyValue, prev: KeyValue | null, seq: number): void {
    this.#st("upsert").run(kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease);
    this.#logEvent(PUT, kv, prev, seq);
  }
  /** Deletes one key (which must exist: `prev`) and logs it. */
  delete(prev: KeyValue, rev: number, seq: number): void {
    this.#st("del").run(prev.key);
    this.#logEvent(DELETE, tombstone(prev.key, rev), prev, seq);
  }
  /** Deletes every key under `prefix`; returns the deleted keys' last states, sorted by key. */
  deleteRange(prefix: string): KeyValue[] {
    return sortByKey(this.#st("delRange").all(...bounds(prefix)).map(rowToKv));
  }
  /** Deletes every key attached to `lease`; returns their last states, sorted by key. */
  deleteByLease(lease: string): KeyValue[] {
    return sortByKey(this.#st("delLease").all(lease).map(rowToKv));
  }
  /** Logs the deletion of a key already removed by deleteRange/deleteByLease. */
  logDelete(prev: KeyValue, rev: number, seq: number): void {
    this.#logEvent(DELETE, tombstone(prev.key, rev), prev, seq);
  }
  #logEvent(type: number, kv: KeyValue, prev: KeyValue | null, seq: number): void {
    this.#st("event").run(kv.modRevision, seq, type, kv.key, kv.value, kv.createRevision, kv.version, kv.lease,
      prev?.value ?? null, prev?.createRevision ?? null, prev?.modRevision ?? null, prev?.version ?? null, prev?.lease ?? null);
  }

  /** Events under `prefix` with from <= revision <= to, in order, at most `limit` (-1: all). */
  events(prefix: string, from: number, to: number, limit: number): WatchEvent[] {
    return this.#st("events").all(from, to, ...bounds(prefix), limit).map(rowToEvent);
  }
  /** Drops history at and below `rev`; returns how many rows went. */
  compact(rev: number): number {
    const { changes } = this.#st("compact").run(rev);
    this.setMeta("compacted", rev);
    return Number(changes);
  }
  /** Rows of history. */
  eventCount(): number {
    const row = this.#st("eventCount").get();
    return row ? int(row, "n") : 0;
  }
  /** The revision of the history's `n`-th row (0: the oldest), or 0 when there are fewer rows. */
  revAtRow(n: number): number {
    const row = this.#st("revAtRow").get(n);
    return row ? int(row, "rev") : 0;
  }

  leases(): { id: string; ttlMs: number }[] {
    return this.#st("leases").all().map((r) => ({ id: text(r, "id"), ttlMs: int(r, "ttl_ms") }));
  }
  leaseExists(id: string): boolean {
    return this.#st("leaseExists").get(id) !== undefined;
  }
  grantLease(id: string, ttlMs: number): void {
    this.#st("grant").run(id, ttlMs);
  }
  dropLease(id: string): void {
    this.#st("dropLease").run(id);
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

/** The kv a delete event carries: no value, revisions of the delete. */
export function tombstone(key: string, rev: number): KeyValue {
  return { key, value: "", createRevision: 0, modRevision: rev, version: 0, lease: null };
}

function sortByKey(kvs: KeyValue[]): KeyValue[] {
  return kvs.sort((a, b) => compareKeys(a.key, b.key));
}
