// The Store on etcd v3, for several servers sharing one state (docs/architecture.md, "State"). Store revisions
// are etcd's: the store revision is the response header's revision, a key's revisions are its
// create/mod revisions. Compare-and-set is an etcd txn, range at a revision an etcd range at that
// revision, watches etcd watches (etcd-watch.ts), leases etcd leases (TTLs in whole seconds, see
// `grantLease`). Keys live under one prefix, so several Tiffin clusters can share an etcd.
import { circuitBreaker, ConsecutiveBreaker, handleWhen, noop } from "cockatiel";
import { Etcd3, isRecoverableError } from "etcd3";
import type { IRangeRequest } from "etcd3";
import { ErrorCodes, TiffinError } from "../model/index.ts";
import { isCompacted, isLeaseNotFound, runCall } from "./etcd-calls.ts";
import type { CallKind } from "./etcd-calls.ts";
import { firstLease, isLeaseId, Namespace, toEtcdTxn, txnSucceeded } from "./etcd-codec.ts";
import { KeepAlives } from "./etcd-keepalive.ts";
import { EtcdWatch, probeCompactRevision } from "./etcd-watch.ts";
import { CompactedError, LeaseNotFoundError } from "./store.ts";
import type { Compare, KeyValue, Op, Store, StoreWatchOptions, TxnResult, Watch, WatchEvent } from "./store.ts";

/** Options of `openEtcdStore`. */
export interface EtcdStoreOptions {
  /** Prepended to every key ("/tiffin" + "/jobs/x"). @default "/tiffin" */
  prefix?: string;
  /** Deadline of every call, retries included. A put can stall for seconds while etcd elects a new
   * leader; past this it fails with TIFFIN_TIMEOUT instead of hanging. @default 5000 */
  callTimeoutMs?: number;
}

/** Keys per range request: pages keep each response small; all pages read one pinned revision. */
const RangePage = 1000;

/** The etcd Store. Open it with `openEtcdStore`. */
export class EtcdStore implements Store {
  readonly endpoints: string[];
  readonly #client: Etcd3;
  readonly #ns: Namespace;
  readonly #timeoutMs: number;
  readonly #keepAlives: KeepAlives;
  readonly #watches = new Set<EtcdWatch>();
  #closed = false;
  /** The highest store revision any answer carried: where a watch "from now" starts. */
  #seen = 0;

  constructor(endpoints: string[], opts: EtcdStoreOptions = {}) {
    this.endpoints = endpoints;
    this.#timeoutMs = opts.callTimeoutMs ?? 5000;
    this.#ns = new Namespace(opts.prefix ?? "/tiffin");
    this.#client = new Etcd3({
      hosts: endpoints,
      dialTimeout: this.#timeoutMs,
      // No blanket retries: runCall retries writes only when they cannot have been applied.
      // A member that failed 3 calls in a row is skipped for 1 s (etcd3's default is 5 s, long enough
      // for a restarted single member to look dead well after it is back).
      faultHandling: { global: noop, host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }) },
      grpcOptions: {
        // A watch replay batch holds up to 1,000 revisions; gRPC's default 4 MiB limit would make a
        // big one fail (and be retried) forever.
        "grpc.max_receive_message_length": -1,
        // Notice a dead connection (member partitioned away) within seconds; etcd allows pings
        // every 5 s or more.
        "grpc.keepalive_time_ms": 10_000,
        "grpc.keepalive_timeout_ms": 5_000,
      },
    });
    this.#keepAlives = new KeepAlives(this.#client);
  }

  async revision(): Promise<number> {
    const res = await this.#call("read revision", "read", (deadline) => this.#client.kv.range({ key: this.#ns.key(""), count_only: true }, { deadline }));
    return this.#saw(res.header.revision);
  }

  async get(key: string): Promise<KeyValue | null> {
    const res = await this.#call(`get ${key}`, "read", (deadline) => this.#client.kv.range({ key: this.#ns.key(key) }, { deadline }));
    const kv = res.kvs[0];
    return kv ? this.#ns.kv(kv) : null;
  }

  async range(prefix: string, opts: { revision?: number; limit?: number } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
    let revision = opts.revision !== undefined && opts.revision > 0 ? opts.revision : 0;
    const limit = opts.limit !== undefined && opts.limit > 0 ? opts.limit : Infinity;
    const { key, range_end } = this.#ns.range(prefix);
    const kvs: KeyValue[] = [];
    let start = key;
    for (;;) {
      const req: IRangeRequest = { key: start, range_end, limit: Math.min(RangePage, limit - kvs.length), ...(revision > 0 ? { revision } : {}) };
      const res = await this.#call(`range ${prefix}`, "read", (deadline) => this.#client.kv.range(req, { deadline }), revision);
      // Later pages read the revision of the first, so all of them show one state.
      if (revision === 0) revision = this.#saw(res.header.revision);
      for (const kv of res.kvs) kvs.push(this.#ns.kv(kv));
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last || kvs.length >= limit) break;
      start = Buffer.concat([last.key, Buffer.from([0])]);
    }
    return { kvs, revision };
  }

  async put(key: string, value: string, opts: { lease?: string } = {}): Promise<number> {
    return this.#write(`put ${key}`, [{ type: "put", key, value, ...(opts.lease !== undefined ? { lease: opts.lease } : {}) }], async (deadline) => {
      const res = await this.#client.kv.put({ key: this.#ns.key(key), value: Buffer.from(value, "utf8"), ...(opts.lease !== undefined ? { lease: opts.lease } : {}) }, { deadline });
      return this.#saw(res.header.revision);
    });
  }

  async delete(key: string): Promise<number> {
    return this.#write(`delete ${key}`, [], async (deadline) => this.#saw((await this.#client.kv.deleteRange({ key: this.#ns.key(key) }, { deadline })).header.revision));
  }

  async txn(req: { compare: Compare[]; success: Op[]; failure?: Op[] }): Promise<TxnResult> {
    const { txn, depth } = toEtcdTxn(this.#ns, req);
    const ops = [...req.success, ...(req.failure ?? [])];
    return this.#write(`txn of ${req.success.length} ops`, ops, async (deadline) => {
      const res = await this.#client.kv.txn(txn, { deadline });
      return { succeeded: txnSucceeded(res, depth), revision: this.#saw(res.header.revision) };
    });
  }

  /** `fromRevision` <= 0 starts after the highest revision this store has seen an answer for: no
   * write issued after this call is missed, though a write that was under way may still show up. */
  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError?: (err: Error) => void, opts: StoreWatchOptions = {}): Watch {
    const from = fromRevision > 0 ? fromRevision : this.#seen + 1;
    const w = new EtcdWatch({ client: this.#client, ns: this.#ns, closed: () => this.#closed }, prefix, from, onEvents, (err) => {
      this.#watches.delete(w);
      onError?.(err);
    }, opts.prevKv === true);
    this.#watches.add(w);
    return {
      cancel: () => {
        this.#watches.delete(w);
        w.cancel();
      },
    };
  }

  /** Grants a lease of `ceil(ttlMs / 1000)` seconds: etcd TTLs are whole seconds, and etcd raises
   * any TTL below its minimum (1.5 × the election timeout, 2 s with the default 1 s) to that minimum.
   * So a lease lives at least `ttlMs` and at most about a second longer. */
  async grantLease(ttlMs: number): Promise<string> {
    const ttl = Math.max(1, Math.ceil(ttlMs / 1000));
    // Granting twice after an ambiguous failure only leaves an unused lease that expires by itself.
    const res = await this.#call("grant lease", "read", (deadline) => this.#client.leaseClient.leaseGrant({ TTL: ttl }, { deadline }));
    if (res.error) throw new Error(`etcd refused a lease: ${res.error}`);
    return res.ID;
  }

  async keepAlive(lease: string): Promise<void> {
    if (!isLeaseId(lease)) throw new LeaseNotFoundError(lease);
    await this.#call(`keep-alive of lease ${lease}`, "read", () => this.#keepAlives.once(lease, this.#timeoutMs), 0, (err) => err instanceof LeaseNotFoundError);
  }

  async revokeLease(lease: string): Promise<void> {
    if (!isLeaseId(lease)) throw new LeaseNotFoundError(lease);
    await this.#call(`revoke of lease ${lease}`, "write", (deadline) => this.#client.leaseClient.leaseRevoke({ ID: lease }, { deadline }), 0, (err) => {
      if (isLeaseNotFound(err)) throw new LeaseNotFoundError(lease);
      return false;
    });
  }

  /** Compacts etcd's history below `revision` (all of etcd, not only this prefix: etcd has one
   * history). Tiffin leaves compaction to etcd's `--auto-compaction-*` flags; tests use this. */
  async compact(revision: number): Promise<void> {
    await this.#call("compact", "write", (deadline) => this.#client.kv.compact({ revision, physical: true }, { deadline }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#watches) w.cancel();
    this.#watches.clear();
    this.#keepAlives.close();
    this.#client.close();
  }

  #saw(revision: string): number {
    const r = Number(revision);
    if (r > this.#seen) this.#seen = r;
    return r;
  }

  /** A write: leases that cannot exist are refused before sending; etcd's "lease not found" becomes
   * `LeaseNotFoundError` for the first lease the ops name. */
  #write<T>(what: string, ops: Op[], fn: (deadline: Date) => Promise<T>): Promise<T> {
    for (const op of ops) if (op.type === "put" && op.lease !== undefined && !isLeaseId(op.lease)) return Promise.reject(new LeaseNotFoundError(op.lease));
    return this.#call(what, "write", fn, 0, (err) => {
      if (isLeaseNotFound(err)) throw new LeaseNotFoundError(firstLease(ops) ?? "?");
      return false;
    });
  }

  /** Runs one call with the store's deadline. `readRevision` > 0 turns "compacted" into
   * `CompactedError`; `expected` may rethrow or pass through errors that are outcomes, not failures. */
  async #call<T>(what: string, kind: CallKind, fn: (deadline: Date) => Promise<T>, readRevision = 0, expected: (err: unknown) => boolean = () => false): Promise<T> {
    const ctx = { what, kind, timeoutMs: this.#timeoutMs, endpoints: this.endpoints, closed: () => this.#closed };
    try {
      return await runCall(ctx, fn, (err) => expected(err) || (readRevision > 0 && isCompacted(err)));
    } catch (err) {
      if (readRevision > 0 && isCompacted(err)) {
        const at = await probeCompactRevision(this.#client, this.#ns.key(""), readRevision, this.#timeoutMs).catch(() => readRevision + 1);
        throw new CompactedError(at);
      }
      throw err;
    }
  }
}

/** Connects to etcd (`http://host:port` or `host:port` endpoints) and checks that it answers. */
export async function openEtcdStore(endpoints: string[], opts: EtcdStoreOptions = {}): Promise<EtcdStore> {
  if (endpoints.length === 0) throw new TiffinError(ErrorCodes.Usage, "no etcd endpoints given", { hint: "e.g. --store etcd://10.0.0.1:2379,10.0.0.2:2379,10.0.0.3:2379" });
  const store = new EtcdStore(endpoints, opts);
  try {
    await store.revision();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
