// Pure parts of the etcd store: key ranges in bytes, lease ids, txn translation, retry decisions.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ITxnResponse } from "etcd3";
import { retryable } from "./etcd-calls.ts";
import { bytesPrefixEnd, isLeaseId, Namespace, toEtcdOps, toEtcdTxn, txnSucceeded } from "./etcd-codec.ts";

const hex = (b: Buffer): string => b.toString("hex");

void test("bytesPrefixEnd: increments the last byte below 0xff, else etcd's 'to the end'", () => {
  const cases: [string, string][] = [
    ["61", "62"],
    ["612f", "6130"],
    ["61ff", "62"],
    ["ffff", "00"],
    ["", "00"],
  ];
  for (const [input, want] of cases) assert.equal(hex(bytesPrefixEnd(Buffer.from(input, "hex"))), want, input);
});

void test("Namespace: keys are the prefix plus the key; ranges cover exactly the prefix", () => {
  const ns = new Namespace("/t");
  assert.equal(ns.key("/jobs/a").toString(), "/t/jobs/a");
  assert.equal(ns.unkey(Buffer.from("/t/jobs/a")), "/jobs/a");
  const r = ns.range("/jobs/");
  assert.deepEqual([r.key.toString(), r.range_end.toString()], ["/t/jobs/", "/t/jobs0"]);
  assert.deepEqual(ns.range("").range_end.toString(), "/u");
  assert.equal(ns.kv({ key: Buffer.from("/t/x"), value: Buffer.from("v"), create_revision: "3", mod_revision: "5", version: "2", lease: "0" }).lease, null);
});

void test("isLeaseId: positive int64 decimals only", () => {
  const cases: [string, boolean][] = [
    ["1", true],
    ["7587872193481523741", true],
    ["9223372036854775807", true],
    ["9223372036854775808", false],
    ["0", false],
    ["01", false],
    ["-5", false],
    ["nope", false],
    ["", false],
  ];
  for (const [id, want] of cases) assert.equal(isLeaseId(id), want, id);
});

void test("toEtcdOps: the last write to a key wins (etcd refuses two); deletePrefix becomes a range delete", () => {
  const ns = new Namespace("/t");
  const ops = toEtcdOps(ns, [
    { type: "put", key: "a", value: "1" },
    { type: "put", key: "b", value: "x", lease: "42" },
    { type: "delete", key: "a" },
    { type: "deletePrefix", prefix: "p/" },
  ]);
  assert.deepEqual(ops, [
    { request_put: { key: Buffer.from("/tb"), value: Buffer.from("x"), lease: "42" } },
    { request_delete_range: { key: Buffer.from("/ta") } },
    { request_delete_range: { key: Buffer.from("/tp/"), range_end: Buffer.from("/tp0") } },
  ]);
});

void test("toEtcdTxn: each value != compare branches on whether its key exists", () => {
  const ns = new Namespace("");
  const plain = toEtcdTxn(ns, { compare: [{ key: "k", target: "modRevision", op: "==", value: 7 }], success: [] });
  assert.equal(plain.depth, 0);
  assert.deepEqual(plain.txn.compare, [{ key: Buffer.from("k"), result: "Equal", target: "Mod", mod_revision: 7 }]);

  const nested = toEtcdTxn(ns, {
    compare: [
      { key: "a", target: "value", op: "!=", value: "x" },
      { key: "b", target: "version", op: ">", value: 1 },
    ],
    success: [{ type: "put", key: "s", value: "1" }],
    failure: [{ type: "put", key: "f", value: "1" }],
  });
  assert.equal(nested.depth, 1);
  assert.deepEqual(nested.txn.compare, [{ key: Buffer.from("a"), target: "Create", result: "Greater", create_revision: 0 }]);
  const exists = nested.txn.success?.[0]?.request_txn;
  const missing = nested.txn.failure?.[0]?.request_txn;
  assert.equal(exists?.compare?.length, 2, "where a exists, both compares apply");
  assert.equal(exists?.compare?.[1]?.target, "Value");
  assert.equal(missing?.compare?.length, 1, "where a is missing, a != x holds: only b's compare is left");
  assert.equal(missing?.compare?.[0]?.target, "Version");
  assert.throws(() => toEtcdTxn(ns, { compare: [{ key: "a", target: "version", op: "==", value: "1" }], success: [] }), TypeError);

  const inner = { succeeded: false, responses: [] } as unknown as ITxnResponse;
  const outer = { succeeded: true, responses: [{ response_txn: inner }] } as unknown as ITxnResponse;
  assert.equal(txnSucceeded(outer, 1), false, "the innermost txn decides");
  assert.equal(txnSucceeded(outer, 0), true);
});

void test("retryable: writes only when etcd cannot have taken them; reads after any transient error", () => {
  const cases: [string, boolean, boolean][] = [
    ["GRPCUnavailableError: 14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 127.0.0.1:2379", true, true],
    ["BrokenCircuitError: Execution prevented because the circuit breaker is open", true, true],
    ["EtcdError: etcdserver: no leader", true, true],
    ["GRPCUnavailableError: 14 UNAVAILABLE: Connection dropped", false, true],
    ["EtcdError: etcdserver: request timed out", false, true],
    ["EtcdError: etcdserver: leader changed", false, true],
    ["GRPCDeadlineExceededError: 4 DEADLINE_EXCEEDED: Deadline exceeded", false, true],
    ["EtcdLeaseInvalidError: etcdserver: requested lease not found", false, false],
    ["EtcdError: mvcc: required revision is a future revision", false, false],
  ];
  for (const [message, write, read] of cases) {
    assert.equal(retryable("write", new Error(message)), write, `write: ${message}`);
    assert.equal(retryable("read", new Error(message)), read, `read: ${message}`);
  }
});
