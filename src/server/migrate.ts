// `tiffin server migrate`: copies the whole state from one store to another (SQLite to etcd when a
// fleet outgrows one server), then reads the target back and compares it key by key.
//
// - Revisions are the target's own (a store numbers its writes); nothing in the state refers to one.
// - Keys attached to leases are host liveness (/alive) and the leader key. Lease ids do not carry
//   over, so /alive keys get a fresh lease of `leaseGraceMs` (their value says so, and an agent's
//   next heartbeat replaces it with a normal one): the fleet is not declared down while the new
//   servers start. The leader key is left out: the new servers elect their own.
// - Writes go in txns of at most 100 ops and 1 MiB, inside stock etcd's limits (128 ops, 1.5 MiB).

import { ErrorCodes, TiffinError } from "../model/index.ts";
import type { KeyValue, Op, Store } from "../state/store.ts";
import { Kinds, Prefix } from "./kinds.ts";
import { LeaderKey } from "./leader.ts";

/** What `migrateState` did. */
export interface MigrateResult {
  /** Keys copied (and verified). */
  keys: number;
  /** Of those, keys given a fresh lease (hosts' liveness). */
  leased: number;
  /** Keys left out (the leader key). */
  skipped: number;
  /** Keys the target held before, deleted by `force`. */
  replaced: number;
}

const MaxOps = 100;
const MaxBytes = 1024 * 1024;

/** Copies every key of `from` into `to` and verifies the copy. `to` must be empty unless `force`
 * (which deletes what it holds first). `describe` names the stores in messages. */
export async function migrateState(
  from: Store,
  to: Store,
  opts: { force?: boolean; leaseGraceMs?: number; describe?: { from: string; to: string } } = {},
): Promise<MigrateResult> {
  const names = opts.describe ?? { from: "the source", to: "the target" };
  const graceMs = opts.leaseGraceMs ?? 60_000;
  const existing = await to.range("");
  if (existing.kvs.length > 0 && !opts.force) {
    throw new TiffinError(ErrorCodes.Conflict, `${names.to} is not empty: it holds ${existing.kvs.length} key${existing.kvs.length === 1 ? "" : "s"} (e.g. ${existing.kvs[0]?.key})`, {
      hint: "migrate into an empty store (or a new --store prefix), or pass --force to delete what it holds first",
    });
  }
  if (existing.kvs.length > 0) await to.txn({ compare: [], success: [{ type: "deletePrefix", prefix: "" }] });

  const { kvs } = await from.range("");
  const copy = kvs.filter((kv) => kv.key !== LeaderKey);
  // Keys of one source lease share one new lease, as they shared the old one.
  const leases = new Map<string, string>();
  const want = new Map<string, { value: string; leased: boolean }>();
  let batch: Op[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await to.txn({ compare: [], success: batch });
    batch = [];
    bytes = 0;
  };
  for (const kv of copy) {
    const value = kv.lease !== null ? withGrace(kv, graceMs) : kv.value;
    let lease: string | undefined;
    if (kv.lease !== null) {
      lease = leases.get(kv.lease);
      if (lease === undefined) leases.set(kv.lease, (lease = await to.grantLease(graceMs)));
    }
    const size = kv.key.length + value.length;
    if (batch.length >= MaxOps || (bytes + size > MaxBytes && batch.length > 0)) await flush();
    batch.push({ type: "put", key: kv.key, value, ...(lease !== undefined ? { lease } : {}) });
    bytes += size;
    want.set(kv.key, { value, leased: lease !== undefined });
  }
  await flush();

  // Read back: the same keys, the same values, leases where there were leases.
  const back = await to.range("");
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const kv of back.kvs) {
    seen.add(kv.key);
    const w = want.get(kv.key);
    if (!w) problems.push(`${kv.key}: in ${names.to} but not in ${names.from}`);
    else if (w.value !== kv.value) problems.push(`${kv.key}: value differs`);
    else if (w.leased !== (kv.lease !== null)) problems.push(`${kv.key}: ${w.leased ? "lost its lease" : "has a lease it should not have"}`);
  }
  for (const key of want.keys()) if (!seen.has(key)) problems.push(`${key}: missing from ${names.to}`);
  if (problems.length > 0) {
    throw new TiffinError(ErrorCodes.Unavailable, `the copy in ${names.to} does not match ${names.from}: ${problems.length} difference${problems.length === 1 ? "" : "s"} (${problems.slice(0, 5).join("; ")})`, {
      hint: "was a server writing to the target? stop every server on it and migrate again with --force",
    });
  }
  return { keys: copy.length, leased: [...want.values()].filter((w) => w.leased).length, skipped: kvs.length - copy.length, replaced: existing.kvs.length };
}

/** An /alive value whose TTL says the grace lease: the next heartbeat sees the difference from its
 * normal TTL and grants a normal lease (liveness.ts). Other leased keys are copied as they are. */
function withGrace(kv: KeyValue, graceMs: number): string {
  if (!kv.key.startsWith(Prefix.alive)) return kv.value;
  const d = Kinds.alive.decode(kv.key, kv.value);
  return d.ok ? Kinds.alive.encode({ ...d.value, ttlMs: graceMs }) : kv.value;
}
