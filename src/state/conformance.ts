// The store conformance suite: every Store implementation (SQLite now, etcd later) runs these same
// tests unchanged, so nothing above the interface needs to know which one is in use.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Collector, withStore } from "./conformance-util.ts";
import type { ConformanceOptions, OpenStore } from "./conformance-util.ts";
import { registerLeaseTests } from "./conformance-leases.ts";
import { registerWatchTests } from "./conformance-watch.ts";
import type { Compare } from "./store.ts";

export type { ConformanceOptions, OpenedStore, OpenStore } from "./conformance-util.ts";

/** Registers the conformance tests (node:test) for one Store implementation under `name`. `open`
 * returns a fresh, empty store per test. */
export function storeConformance(name: string, open: OpenStore, opts: ConformanceOptions = {}): void {
  void describe(name, { skip: opts.skip ?? false }, () => {
    registerKvTests(open);
    registerTxnTests(open);
    registerWatchTests(open);
    registerLeaseTests(open, opts.clock ?? null);
  });
}

function registerKvTests(open: OpenStore): void {
  void test("every write bumps the revision by exactly one", () =>
    withStore(open, async ({ store: s }) => {
      const r0 = await s.revision();
      assert.equal(await s.put("r/a", "1"), r0 + 1);
      assert.equal(await s.revision(), r0 + 1);
      assert.equal(await s.put("r/a", "2"), r0 + 2);
      assert.deepEqual(await s.get("r/a"), { key: "r/a", value: "2", createRevision: r0 + 1, modRevision: r0 + 2, version: 2, lease: null });
      assert.equal(await s.delete("r/missing"), r0 + 2, "deleting a missing key writes nothing");
      assert.equal(await s.delete("r/a"), r0 + 3);
      assert.equal(await s.get("r/a"), null);
      assert.equal(await s.put("r/a", "3"), r0 + 4);
      assert.deepEqual(await s.get("r/a"), { key: "r/a", value: "3", createRevision: r0 + 4, modRevision: r0 + 4, version: 1, lease: null });
      const t = await s.txn({ compare: [], success: [{ type: "put", key: "r/x", value: "x" }, { type: "put", key: "r/y", value: "y" }, { type: "delete", key: "r/a" }] });
      assert.deepEqual(t, { succeeded: true, revision: r0 + 5 });
      assert.equal((await s.get("r/x"))?.modRevision, r0 + 5);
      assert.equal((await s.get("r/y"))?.modRevision, r0 + 5);
      const f = await s.txn({ compare: [{ key: "r/x", target: "value", op: "==", value: "nope" }], success: [{ type: "put", key: "r/z", value: "z" }] });
      assert.deepEqual(f, { succeeded: false, revision: r0 + 5 }, "a txn that writes nothing keeps the revision");
      assert.equal(await s.revision(), r0 + 5);
    }));

  void test("get and range see exactly their prefix, sorted", () =>
    withStore(open, async ({ store: s }) => {
      // Byte order: U+00E9 < U+FF5E < U+1F600 (UTF-16 units would put the emoji before U+FF5E).
      const keys = ["a", "a/1", "a/2", "a/sub/3", "a/\u00e9", "a/\uff5e", "a/\u{1F600}", "a0", "ab", "b/1"];
      for (const k of [...keys].reverse()) await s.put(k, `v:${k}`);
      const rev = await s.revision();
      const r = await s.range("a/");
      assert.deepEqual(r.kvs.map((kv) => kv.key), ["a/1", "a/2", "a/sub/3", "a/\u00e9", "a/\uff5e", "a/\u{1F600}"], '"a/" must not match "a", "a0" or "ab"');
      assert.equal(r.revision, rev);
      assert.deepEqual(r.kvs.map((kv) => kv.value), r.kvs.map((kv) => `v:${kv.key}`));
      assert.deepEqual((await s.range("a/", { limit: 2 })).kvs.map((kv) => kv.key), ["a/1", "a/2"]);
      assert.deepEqual((await s.range("a")).kvs.length, 9);
      assert.deepEqual((await s.range("")).kvs.map((kv) => kv.key), keys);
      await s.put("a/\u00e9", "changed");
      assert.deepEqual(await s.range("a/", { revision: rev }), r, "a past read sorts the same way");
      assert.deepEqual((await s.range("zz/")).kvs, []);
      assert.equal(await s.get("a/"), null);
      assert.equal((await s.get("a"))?.value, "v:a");
    }));

  void test("range reads the state as of a past revision", () =>
    withStore(open, async ({ store: s }) => {
      const r1 = await s.put("p/1", "one");
      const r2 = await s.put("p/2", "two");
      const r3 = await s.put("p/1", "uno");
      const r4 = await s.delete("p/2");
      const r5 = await s.put("p/3", "three");
      await s.put("q/1", "other");
      const at = async (rev: number): Promise<string[]> => {
        const r = await s.range("p/", { revision: rev });
        assert.equal(r.revision, rev);
        return r.kvs.map((kv) => `${kv.key}=${kv.value}@${kv.createRevision}/${kv.modRevision}/v${kv.version}`);
      };
      assert.deepEqual(await at(r1), [`p/1=one@${r1}/${r1}/v1`]);
      assert.deepEqual(await at(r2), [`p/1=one@${r1}/${r1}/v1`, `p/2=two@${r2}/${r2}/v1`]);
      assert.deepEqual(await at(r3), [`p/1=uno@${r1}/${r3}/v2`, `p/2=two@${r2}/${r2}/v1`]);
      assert.deepEqual(await at(r4), [`p/1=uno@${r1}/${r3}/v2`]);
      assert.deepEqual(await at(r5), [`p/1=uno@${r1}/${r3}/v2`, `p/3=three@${r5}/${r5}/v1`]);
      assert.deepEqual((await s.range("p/", { revision: r2, limit: 1 })).kvs.map((kv) => kv.key), ["p/1"]);
      await assert.rejects(s.range("p/", { revision: (await s.revision()) + 10 }), "a future revision cannot be read");
    }));
}

function registerTxnTests(open: OpenStore): void {
  void test("txn compares every target with every op, on present and missing keys", () =>
    withStore(open, async ({ store: s }) => {
      const c = await s.put("t/k", "m");
      const m = await s.put("t/k", "m");
      type Case = [string, Compare, boolean];
      const on = (target: Compare["target"], op: Compare["op"], value: number | string, key = "t/k"): Compare => ({ key, target, op, value });
      const cases: Case[] = [
        ["modRevision == current", on("modRevision", "==", m), true],
        ["modRevision == stale", on("modRevision", "==", c), false],
        ["modRevision != stale", on("modRevision", "!=", c), true],
        ["modRevision > older", on("modRevision", ">", c), true],
        ["modRevision > current", on("modRevision", ">", m), false],
        ["modRevision < newer", on("modRevision", "<", m + 1), true],
        ["modRevision < current", on("modRevision", "<", m), false],
        ["createRevision == first put", on("createRevision", "==", c), true],
        ["createRevision != first put", on("createRevision", "!=", c), false],
        ["createRevision > 0", on("createRevision", ">", 0), true],
        ["createRevision < first put", on("createRevision", "<", c), false],
        ["version == 2", on("version", "==", 2), true],
        ["version != 2", on("version", "!=", 2), false],
        ["version > 1", on("version", ">", 1), true],
        ["version < 2", on("version", "<", 2), false],
        ["value == m", on("value", "==", "m"), true],
        ["value != m", on("value", "!=", "m"), false],
        ["value > l", on("value", ">", "l"), true],
        ["value > m", on("value", ">", "m"), false],
        ["value < n", on("value", "<", "n"), true],
        ["value < m", on("value", "<", "m"), false],
        ["missing: version == 0", on("version", "==", 0, "t/none"), true],
        ["missing: version > 0", on("version", ">", 0, "t/none"), false],
        ["missing: createRevision == 0", on("createRevision", "==", 0, "t/none"), true],
        ["missing: modRevision < 1", on("modRevision", "<", 1, "t/none"), true],
        ["missing: modRevision != 0", on("modRevision", "!=", 0, "t/none"), false],
        ["missing: value != x", on("value", "!=", "x", "t/none"), true],
        ["missing: value == empty", on("value", "==", "", "t/none"), false],
        ["missing: value > empty", on("value", ">", "", "t/none"), false],
        ["missing: value < z", on("value", "<", "z", "t/none"), false],
      ];
      for (const [name, compare, want] of cases) {
        const before = await s.revision();
        const r = await s.txn({ compare: [compare], success: [{ type: "put", key: "t/res", value: `yes:${name}` }], failure: [{ type: "put", key: "t/res", value: `no:${name}` }] });
        assert.equal(r.succeeded, want, name);
        assert.equal(r.revision, before + 1, name);
        assert.equal((await s.get("t/res"))?.value, `${want ? "yes" : "no"}:${name}`, name);
      }
    }));

  void test("txn applies the success branch only if all compares hold, else the failure branch", () =>
    withStore(open, async ({ store: s }) => {
      const r = await s.put("b/k", "v");
      await s.put("b/gone", "x");
      const holds: Compare = { key: "b/k", target: "modRevision", op: "==", value: r };
      const fails: Compare = { key: "b/k", target: "value", op: "==", value: "other" };
      const success = [{ type: "put", key: "b/s", value: "s" }] as const;
      const failure = [{ type: "delete", key: "b/gone" }, { type: "put", key: "b/f", value: "f" }] as const;
      const rev = await s.revision();
      const no = await s.txn({ compare: [holds, fails], success: [...success], failure: [...failure] });
      assert.deepEqual(no, { succeeded: false, revision: rev + 1 });
      assert.equal(await s.get("b/s"), null);
      assert.equal(await s.get("b/gone"), null);
      assert.equal((await s.get("b/f"))?.modRevision, rev + 1);
      const yes = await s.txn({ compare: [holds, { ...fails, op: "!=" }], success: [...success], failure: [...failure] });
      assert.deepEqual(yes, { succeeded: true, revision: rev + 2 });
      assert.equal((await s.get("b/s"))?.value, "s");
    }));

  void test("deletePrefix deletes exactly the prefix in one revision", () =>
    withStore(open, async ({ store: s }) => {
      for (const k of ["d", "d/1", "d/2", "d/x/3", "dz", "e/1"]) await s.put(k, k);
      const rev = await s.revision();
      const c = new Collector();
      const w = s.watch("", rev + 1, c.onEvents, c.onError);
      try {
        const r = await s.txn({ compare: [], success: [{ type: "deletePrefix", prefix: "d/" }] });
        assert.deepEqual(r, { succeeded: true, revision: rev + 1 });
        assert.deepEqual((await s.range("")).kvs.map((kv) => kv.key), ["d", "dz", "e/1"]);
        await c.until("3 delete events", () => c.events.length >= 3);
        assert.deepEqual(c.summary().sort(), [`delete d/1@${rev + 1}`, `delete d/2@${rev + 1}`, `delete d/x/3@${rev + 1}`]);
        for (const e of c.events) assert.deepEqual([e.kv.value, e.kv.modRevision], ["", rev + 1]);
        const none = await s.txn({ compare: [], success: [{ type: "deletePrefix", prefix: "d/" }] });
        assert.equal(none.revision, rev + 1, "deleting nothing keeps the revision");
      } finally {
        w.cancel();
      }
    }));

  void test("concurrent compare-and-swap on one key: exactly one wins", () =>
    withStore(open, async ({ store: s }) => {
      const r = await s.put("cas/k", "start");
      const tries = Array.from({ length: 20 }, (_, i) =>
        s.txn({ compare: [{ key: "cas/k", target: "modRevision", op: "==", value: r }], success: [{ type: "put", key: "cas/k", value: `w${i}` }] }),
      );
      const results = await Promise.all(tries);
      const winners = results.flatMap((x, i) => (x.succeeded ? [i] : []));
      assert.equal(winners.length, 1, `winners: ${winners.join(",")}`);
      assert.equal((await s.get("cas/k"))?.value, `w${winners[0]}`);
      // Create-if-absent races the same way.
      const creates = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s.txn({ compare: [{ key: "cas/new", target: "createRevision", op: "==", value: 0 }], success: [{ type: "put", key: "cas/new", value: `c${i}` }] })),
      );
      assert.equal(creates.filter((x) => x.succeeded).length, 1);
      assert.equal((await s.get("cas/new"))?.version, 1);
    }));
}
