// The store interface: the only way anything reads or writes cluster state. Shaped after etcd v3 so an
// etcd implementation fits without changes above it (see docs/architecture.md, "State").
//
// Semantics every implementation must keep (the conformance suite in conformance.ts checks them):
// - Every successful write (put, delete, txn with writes) bumps the store revision by exactly one;
//   every key written in that write gets `modRevision` = the new revision.
// - A write resolves only after it is durable: a crash after resolve loses nothing.
// - `watch(prefix, from)` delivers, in revision order, every event with revision >= `from` (etcd's
//   inclusive start), then live events, without gaps or duplicates. A start below the compacted
//   revision fails with `CompactedError`.
// - Leases expire `ttlMs` after their last grant or keep-alive and delete the keys attached to them in
//   one write. After a store restart (or a stall of the process), every lease gets a fresh TTL first,
//   so nobody is declared dead for the store's own pause.

/** One key with its value and revisions. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created the key. */
  createRevision: number;
  /** Revision of the last write to the key. */
  modRevision: number;
  /** Number of writes since creation (1 after the first put). */
  version: number;
  /** Lease the key is attached to, or null. */
  lease: string | null;
}

/** A condition of a transaction. `value` compares against the key's value text. A missing key has
 * createRevision = modRevision = version = 0 and no value (only `!=` on value holds). */
export interface Compare {
  key: string;
  target: "modRevision" | "createRevision" | "version" | "value";
  op: "==" | "!=" | ">" | "<";
  value: number | string;
}

/** A write inside a transaction. */
export type Op =
  | { type: "put"; key: string; value: string; lease?: string }
  | { type: "delete"; key: string }
  | { type: "deletePrefix"; prefix: string };

/** The outcome of a transaction. */
export interface TxnResult {
  succeeded: boolean;
  /** Store revision after the transaction (unchanged when nothing was written). */
  revision: number;
}

/** One change seen by a watch. For deletes, `kv.value` is "" and `kv.modRevision` the delete's revision. */
export interface WatchEvent {
  type: "put" | "delete";
  kv: KeyValue;
  revision: number;
  /** The key as it was before this change, when the watch asked for `prevKv` (etcd's prev_kv;
   * absent when the key did not exist): what a delete removed, or what a put replaced, so a consumer
   * that keeps no copy can still say whose it was. */
  prevKv?: KeyValue;
}

/** Options of `Store.watch`. */
export interface StoreWatchOptions {
  /** Events carry the key as it was before them (`WatchEvent.prevKv`). @default false */
  prevKv?: boolean;
}

/** A live watch. */
export interface Watch {
  cancel(): void;
}

/** The store. All methods reject with plain errors on bugs or I/O failure, `CompactedError` and
 * `LeaseNotFoundError` on those expected outcomes. */
export interface Store {
  /** The current revision. */
  revision(): Promise<number>;
  get(key: string): Promise<KeyValue | null>;
  /** Keys starting with `prefix`, sorted by key; `revision` reads the state as of that revision
   * (omitted or <= 0: the current one; below the compacted revision: `CompactedError`). */
  range(prefix: string, opts?: { revision?: number; limit?: number }): Promise<{ kvs: KeyValue[]; revision: number }>;
  /** Puts one key; resolves with the new revision. */
  put(key: string, value: string, opts?: { lease?: string }): Promise<number>;
  /** Deletes one key; resolves with the new revision (unchanged if the key did not exist). */
  delete(key: string): Promise<number>;
  /** If every compare holds, applies `success`, else `failure`, atomically. */
  txn(req: { compare: Compare[]; success: Op[]; failure?: Op[] }): Promise<TxnResult>;
  /** Watches keys under `prefix` from `fromRevision` (inclusive; <= 0: only writes after this call,
   * as in etcd). `onEvents` gets batches in order, never inside the caller's stack. */
  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError?: (err: Error) => void, opts?: StoreWatchOptions): Watch;
  /** Grants a lease; resolves with its id. */
  grantLease(ttlMs: number): Promise<string>;
  /** Restarts a lease's TTL; rejects with `LeaseNotFoundError` if it expired or never existed. */
  keepAlive(lease: string): Promise<void>;
  /** Revokes a lease, deleting its keys. */
  revokeLease(lease: string): Promise<void>;
  close(): Promise<void>;
}

/** A watch or read asked for a revision that compaction removed. */
export class CompactedError extends Error {
  readonly compactRevision: number;
  constructor(compactRevision: number) {
    super(`revision compacted: history starts at ${compactRevision}`);
    this.name = "CompactedError";
    this.compactRevision = compactRevision;
  }
}

/** A keep-alive or put named a lease that does not exist (expired or revoked). */
export class LeaseNotFoundError extends Error {
  readonly lease: string;
  constructor(lease: string) {
    super(`lease ${lease} not found`);
    this.name = "LeaseNotFoundError";
    this.lease = lease;
  }
}
