// Conformance tests for leases, and for data surviving a reopen.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ManualClock } from "../model/index.ts";
import { Collector, passTime, withStore } from "./conformance-util.ts";
import type { OpenStore } from "./conformance-util.ts";
import { LeaseNotFoundError } from "./store.ts";

/** A lease id that no store granted (numeric, so an etcd store can parse it). */
const GHOST = "999999999";

/** Registers the lease and reopen tests of the conformance suite. */
export function registerLeaseTests(open: OpenStore, clock: ManualClock | null): void {
  // Real-time TTLs are in whole seconds for etcd; keep wide margins for loaded machines.
  const ttl = clock ? 1000 : 3000;
  const expiryWaitMs = clock ? 15_000 : 5 * ttl;

  void test("keepAlive extends a lease; expiry deletes its keys in one revision with delete events", () =>
    withStore(open, async ({ store: s }) => {
      const id = await s.grantLease(ttl);
      await s.put("ls/a", "a", { lease: id });
      await s.put("ls/b", "b", { lease: id });
      const rev = await s.put("ls/keep", "k");
      assert.equal((await s.get("ls/a"))?.lease, id);
      assert.equal((await s.get("ls/keep"))?.lease, null);
      const c = new Collector();
      const w = s.watch("ls/", rev + 1, c.onEvents, c.onError);
      try {
        await passTime(clock, ttl * 0.6);
        await s.keepAlive(id);
        await passTime(clock, ttl * 0.6); // past the first deadline, not the extended one
        await s.put("barrier", "x"); // an expiry already due would commit before this write
        assert.notEqual(await s.get("ls/a"), null, "keepAlive must extend the lease");
        assert.deepEqual(c.events.filter((e) => e.type === "delete"), []);
        await passTime(clock, ttl);
        await c.until("delete events for ls/a and ls/b", () => c.events.length >= 2, expiryWaitMs);
        assert.deepEqual(c.summary().map((x) => x.split("@")[0]), ["delete ls/a", "delete ls/b"]);
        assert.equal(c.events[0]?.revision, c.events[1]?.revision, "one write deletes all keys of the lease");
        assert.equal(await s.get("ls/a"), null);
        assert.equal(await s.get("ls/b"), null);
        assert.equal((await s.get("ls/keep"))?.value, "k");
        await assert.rejects(s.keepAlive(id), LeaseNotFoundError);
        await assert.rejects(s.put("ls/c", "c", { lease: id }), LeaseNotFoundError);
      } finally {
        w.cancel();
      }
    }));

  void test("revoke deletes the lease's keys at once; a later put without lease detaches a key", () =>
    withStore(open, async ({ store: s }) => {
      const id = await s.grantLease(60_000);
      await s.put("lr/a", "a", { lease: id });
      await s.put("lr/b", "b", { lease: id });
      await s.put("lr/c", "c");
      await s.put("lr/d", "d", { lease: id });
      const rev = await s.put("lr/d", "d2");
      const c = new Collector();
      const w = s.watch("lr/", rev + 1, c.onEvents, c.onError);
      try {
        await s.revokeLease(id);
        assert.equal(await s.revision(), rev + 1);
        assert.equal(await s.get("lr/a"), null);
        assert.equal(await s.get("lr/b"), null);
        assert.equal((await s.get("lr/c"))?.value, "c");
        assert.equal((await s.get("lr/d"))?.value, "d2");
        await c.until("2 delete events", () => c.events.length >= 2);
        assert.deepEqual(c.summary(), [`delete lr/a@${rev + 1}`, `delete lr/b@${rev + 1}`]);
        await assert.rejects(s.keepAlive(id), LeaseNotFoundError);
        await assert.rejects(s.revokeLease(id), LeaseNotFoundError);
      } finally {
        w.cancel();
      }
    }));

  void test("unknown leases are rejected with LeaseNotFoundError and write nothing", () =>
    withStore(open, async ({ store: s }) => {
      await s.put("lu/x", "x");
      const rev = await s.revision();
      await assert.rejects(s.put("lu/a", "a", { lease: GHOST }), LeaseNotFoundError);
      const txn = s.txn({ compare: [], success: [{ type: "put", key: "lu/b", value: "b" }, { type: "put", key: "lu/c", value: "c", lease: GHOST }] });
      await assert.rejects(txn, LeaseNotFoundError);
      assert.equal(await s.get("lu/a"), null);
      assert.equal(await s.get("lu/b"), null, "a txn with an unknown lease writes nothing");
      assert.equal(await s.revision(), rev);
      await assert.rejects(s.keepAlive(GHOST), LeaseNotFoundError);
      await assert.rejects(s.revokeLease(GHOST), LeaseNotFoundError);
    }));

  void test("reopen keeps keys, revisions, history and leases", async (t) => {
    await withStore(open, async ({ store: s, reopen }) => {
      if (!reopen) {
        t.skip("the implementation gave no reopen");
        return;
      }
      const id = await s.grantLease(60_000);
      const r1 = await s.put("ro/a", "1");
      await s.txn({ compare: [], success: [{ type: "put", key: "ro/a", value: "2" }, { type: "put", key: "ro/b", value: "b", lease: id }] });
      await s.put("ro/c", "c");
      await s.delete("ro/c");
      const rev = await s.revision();
      const before = await s.range("");
      await s.close();
      const s2 = await reopen();
      assert.equal(await s2.revision(), rev);
      assert.deepEqual(await s2.range(""), before);
      assert.deepEqual((await s2.range("ro/", { revision: r1 })).kvs.map((kv) => kv.value), ["1"]);
      const c = new Collector();
      const w = s2.watch("ro/", r1, c.onEvents, c.onError);
      await c.until("5 events", () => c.events.length >= 5);
      w.cancel();
      assert.deepEqual(c.summary(), [`put ro/a@${r1}`, `put ro/a@${r1 + 1}`, `put ro/b@${r1 + 1}`, `put ro/c@${r1 + 2}`, `delete ro/c@${r1 + 3}`]);
      await s2.keepAlive(id);
      assert.equal(await s2.put("ro/d", "d"), rev + 1);
      await s2.revokeLease(id);
      assert.equal(await s2.get("ro/b"), null);
    });
  });
}
