// Pure translation between the Store interface and etcd v3's wire types: the key namespace, prefix
// ranges in bytes, key-values, and transactions (compares, ops). No I/O, so it is table-tested.
import type { ICompare, IKeyValue, IRequestOp, ITxnRequest, ITxnResponse } from "etcd3";
import type { Compare, KeyValue, Op } from "./store.ts";

/** Maps Store keys to etcd keys under one prefix (plain concatenation: "/tiffin" + "/jobs/x"). */
export class Namespace {
  readonly prefix: Buffer;

  constructor(prefix: string) {
    this.prefix = Buffer.from(prefix, "utf8");
  }

  /** The etcd key of a Store key. */
  key(key: string): Buffer {
    return Buffer.concat([this.prefix, Buffer.from(key, "utf8")]);
  }

  /** The Store key of an etcd key inside the namespace. */
  unkey(key: Buffer): string {
    return key.subarray(this.prefix.length).toString("utf8");
  }

  /** `[key, range_end)` of every etcd key whose Store key starts with `prefix`. */
  range(prefix: string): { key: Buffer; range_end: Buffer } {
    const key = this.key(prefix);
    return { key, range_end: bytesPrefixEnd(key) };
  }

  /** A Store key-value from an etcd one. */
  kv(kv: IKeyValue): KeyValue {
    return {
      key: this.unkey(kv.key),
      value: kv.value.toString("utf8"),
      createRevision: Number(kv.create_revision),
      modRevision: Number(kv.mod_revision),
      version: Number(kv.version),
      lease: kv.lease === "0" || kv.lease === "" ? null : kv.lease,
    };
  }
}

/** The smallest byte string above every string starting with `prefix`; etcd's "\0" (to the end of
 * the keyspace) when there is none. */
export function bytesPrefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] ?? 0xff) < 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Whether a lease id can be an etcd lease (a positive 64-bit decimal); others cannot exist. */
export function isLeaseId(lease: string): boolean {
  return /^[1-9][0-9]{0,18}$/.test(lease) && BigInt(lease) <= 0x7fffffffffffffffn;
}

const Results = { "==": "Equal", "!=": "NotEqual", ">": "Greater", "<": "Less" } as const;

/** One Store compare as an etcd compare. Numeric targets need numbers, as in `compareHolds`. */
export function toEtcdCompare(ns: Namespace, c: Compare): ICompare {
  const base = { key: ns.key(c.key), result: Results[c.op] };
  if (c.target === "value") return { ...base, target: "Value", value: Buffer.from(String(c.value), "utf8") };
  if (typeof c.value !== "number") throw new TypeError(`compare on ${c.target} of ${c.key} needs a number, got ${JSON.stringify(c.value)}`);
  switch (c.target) {
    case "modRevision":
      return { ...base, target: "Mod", mod_revision: c.value };
    case "createRevision":
      return { ...base, target: "Create", create_revision: c.value };
    case "version":
      return { ...base, target: "Version", version: c.value };
  }
}

/** Store ops as etcd request ops. etcd refuses a txn that writes one key twice, so only the last
 * write to each key is kept (the end state is the same; a put after a delete of the same key then
 * keeps the key's createRevision and version count). */
export function toEtcdOps(ns: Namespace, ops: Op[]): IRequestOp[] {
  const lastWrite = new Map<string, number>();
  ops.forEach((op, i) => {
    if (op.type !== "deletePrefix") lastWrite.set(op.key, i);
  });
  return ops.flatMap((op, i): IRequestOp[] => {
    switch (op.type) {
      case "put":
        if (lastWrite.get(op.key) !== i) return [];
        return [{ request_put: { key: ns.key(op.key), value: Buffer.from(op.value, "utf8"), ...(op.lease !== undefined ? { lease: op.lease } : {}) } }];
      case "delete":
        if (lastWrite.get(op.key) !== i) return [];
        return [{ request_delete_range: { key: ns.key(op.key) } }];
      case "deletePrefix":
        return [{ request_delete_range: ns.range(op.prefix) }];
    }
  });
}

/**
 * A Store transaction as an etcd one. etcd fails every value compare on a missing key, while the
 * Store says `value !=` holds there; so each `value !=` compare becomes a nested txn that first asks
 * whether its key exists (createRevision > 0) and keeps the compare only on the branch where it does.
 * `depth` is how many nested txns the result has (see `txnSucceeded`).
 */
export function toEtcdTxn(ns: Namespace, req: { compare: Compare[]; success: Op[]; failure?: Op[] }): { txn: ITxnRequest; depth: number } {
  const success = toEtcdOps(ns, req.success);
  const failure = toEtcdOps(ns, req.failure ?? []);
  const plain = req.compare.filter((c) => !(c.target === "value" && c.op === "!="));
  const notEqual = req.compare.filter((c) => c.target === "value" && c.op === "!=");
  const build = (rest: Compare[], kept: Compare[]): ITxnRequest => {
    const [first, ...others] = rest;
    if (!first) return { compare: kept.map((c) => toEtcdCompare(ns, c)), success, failure };
    return {
      compare: [{ key: ns.key(first.key), target: "Create", result: "Greater", create_revision: 0 }],
      success: [{ request_txn: build(others, [...kept, first]) }],
      failure: [{ request_txn: build(others, kept) }],
    };
  };
  return { txn: build(notEqual, plain), depth: notEqual.length };
}

/** Whether the Store transaction succeeded, given the etcd response and the nesting depth. */
export function txnSucceeded(res: ITxnResponse, depth: number): boolean {
  let cur: ITxnResponse = res;
  for (let i = 0; i < depth; i++) {
    const inner = cur.responses[0]?.response_txn;
    if (!inner) throw new Error("etcd txn response lacks the nested txn it was sent");
    cur = inner;
  }
  return cur.succeeded;
}

/** The first lease named by the ops (for the LeaseNotFoundError of a txn etcd refused). */
export function firstLease(ops: Op[]): string | null {
  for (const op of ops) if (op.type === "put" && op.lease !== undefined) return op.lease;
  return null;
}
