// Conformance tests for watches: replay from a past revision, then live, in order, exactly once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Collector, settle, withStore } from "./conformance-util.ts";
import type { OpenStore } from "./conformance-util.ts";
import { CompactedError } from "./store.ts";

/** Registers the watch tests of the conformance suite. */
export function registerWatchTests(open: OpenStore): void {
  void test("watch replays from a past revision, then goes live, in order and without duplicates", () =>
    withStore(open, async ({ store: s }) => {
      const expected: string[] = [];
      const track = async (label: string, p: Promise<number>): Promise<void> => void expected.push(`${label}@${await p}`);
      const first = await s.put("w/0", "v");
      // A long history (more than one replay page), half of it under another prefix.
      const history = Array.from({ length: 1200 }, (_, i) => (i % 2 ? s.put(`x/${i}`, "v") : track(`put w/h${i}`, s.put(`w/h${i}`, "v"))));
      await Promise.all(history);
      await track("delete w/h0", s.delete("w/h0"));
      // Writes issued in the same turn as watch(), before and after it, race with the replay.
      const racing = [track("put w/before", s.put("w/before", "v")), s.put("x/before", "v")];
      const c = new Collector();
      let reacted = false;
      const onEvents = (events: Parameters<typeof c.onEvents>[0]): void => {
        c.onEvents(events);
        // A watcher that writes when it sees events: these land while the replay is still running.
        if (!reacted) {
          reacted = true;
          for (let i = 0; i < 20; i++) racing.push(track(`put w/r${i}`, s.put(`w/r${i}`, "v")), s.put(`x/r${i}`, "v"));
        }
      };
      c.inCall = true;
      const w = s.watch("w/", first + 1, onEvents, c.onError);
      for (let i = 0; i < 20; i++) racing.push(track(`put w/after${i}`, s.put(`w/after${i}`, "v")));
      racing.push(track("delete w/h2", s.delete("w/h2")));
      c.inCall = false;
      try {
        await c.until("the first events", () => reacted);
        await Promise.all(racing);
        expected.sort((a, b) => Number(a.split("@")[1]) - Number(b.split("@")[1]));
        await c.until(`${expected.length} events`, () => c.events.length >= expected.length);
        await settle();
        assert.equal(c.events.length, expected.length, "no duplicates");
        assert.deepEqual(c.summary(), expected);
        assert.equal(c.calledInCall, false, "events must not be delivered inside the watch() or write call");
        const put = c.events.find((e) => e.kv.key === "w/h4");
        assert.deepEqual(put?.kv, await s.range("w/h4", { revision: put?.revision ?? 0 }).then((r) => r.kvs[0]));
        const del = c.events.find((e) => e.type === "delete");
        assert.deepEqual(del?.kv, { key: "w/h0", value: "", createRevision: 0, modRevision: del?.revision, version: 0, lease: null });
        assert.deepEqual(c.errors, []);
      } finally {
        w.cancel();
      }
    }));

  void test("a watch asked for prevKv gets the key before each change, replayed and live (lease revokes too)", () =>
    withStore(open, async ({ store: s }) => {
      const start = await s.put("pk/a", "a1");
      await s.put("pk/a", "a2");
      await s.put("pk/b", "b1");
      const lease = await s.grantLease(60_000);
      await s.put("pk/l", "l1", { lease });
      await s.delete("pk/a");
      const c = new Collector();
      const w = s.watch("pk/", start, c.onEvents, c.onError, { prevKv: true });
      try {
        await c.until("the replay", () => c.events.some((e) => e.type === "delete"));
        await s.delete("pk/b");
        await s.revokeLease(lease);
        await c.until("3 deletes", () => c.events.filter((e) => e.type === "delete").length >= 3);
        const deletes = c.events.filter((e) => e.type === "delete").map((e) => `${e.kv.key}=${e.prevKv?.value ?? "(none)"}`);
        assert.deepEqual(deletes, ["pk/a=a2", "pk/b=b1", "pk/l=l1"]);
        const del = c.events.find((e) => e.type === "delete");
        assert.equal(del?.prevKv?.key, "pk/a");
        const puts = c.events.filter((e) => e.type === "put").map((e) => `${e.kv.key}=${e.prevKv?.value ?? "(new)"}`);
        assert.deepEqual(puts, ["pk/a=(new)", "pk/a=a1", "pk/b=(new)", "pk/l=(new)"]);
        assert.deepEqual(c.errors, []);
      } finally {
        w.cancel();
      }
    }));

  void test("watch from the next revision sees only new writes; cancel stops delivery", () =>
    withStore(open, async ({ store: s }) => {
      await s.put("n/old", "1");
      const { revision } = await s.range("n/");
      const c = new Collector();
      const w = s.watch("n/", revision + 1, c.onEvents, c.onError);
      const future = new Collector();
      const fw = s.watch("n/", revision + 2, future.onEvents, future.onError);
      const r1 = await s.put("n/a", "1");
      const r2 = await s.put("n/b", "2");
      await c.until("2 events", () => c.events.length >= 2);
      await future.until("1 event", () => future.events.length >= 1);
      assert.deepEqual(c.summary(), [`put n/a@${r1}`, `put n/b@${r2}`]);
      assert.deepEqual(future.summary(), [`put n/b@${r2}`], "a watch from a future revision starts there");
      fw.cancel();
      w.cancel();
      await s.put("n/c", "3");
      await s.put("n/d", "4");
      await settle();
      assert.equal(c.events.length, 2, "no events after cancel");
    }));

  void test("several watchers each get their own prefix, in order", () =>
    withStore(open, async ({ store: s }) => {
      const start = (await s.revision()) + 1;
      const cs = ["m/a/", "m/b/", "m/"].map((p) => ({ p, c: new Collector() }));
      const ws = cs.map(({ p, c }) => s.watch(p, start, c.onEvents, c.onError));
      try {
        const writes: Promise<number>[] = [];
        for (let i = 0; i < 100; i++) writes.push(s.put(`m/${i % 2 === 0 ? "a" : "b"}/${i}`, String(i)));
        await Promise.all(writes);
        for (const { c } of cs) await c.until("events", () => c.events.length >= (c === cs[2]?.c ? 100 : 50));
        await settle();
        for (const { p, c } of cs) {
          assert.equal(c.events.length, p === "m/" ? 100 : 50, p);
          assert.ok(c.events.every((e) => e.kv.key.startsWith(p)), p);
          const revs = c.events.map((e) => e.revision);
          assert.deepEqual(revs, [...revs].sort((a, b) => a - b), `${p} in revision order`);
          assert.equal(new Set(revs).size, revs.length, `${p} without duplicates`);
        }
      } finally {
        for (const w of ws) w.cancel();
      }
    }));

  void test("watch and range below the compacted revision fail with CompactedError", async (t) => {
    await withStore(open, async ({ store: s, compact }) => {
      if (!compact) {
        t.skip("the implementation gave no compact hook");
        return;
      }
      const revs: number[] = [];
      for (let i = 0; i < 20; i++) revs.push(await s.put(`c/${i % 3}`, String(i)));
      const keep = revs[15] ?? 0;
      await compact(keep);
      const c = new Collector();
      s.watch("c/", revs[0] ?? 0, c.onEvents, c.onError);
      await c.until("an error", () => c.errors.length > 0);
      const err = c.errors[0];
      assert.ok(err instanceof CompactedError, `got ${String(err)}`);
      assert.ok(err.compactRevision > (revs[0] ?? 0) && err.compactRevision <= keep, `compactRevision ${err.compactRevision}`);
      assert.deepEqual(c.events, []);
      await assert.rejects(s.range("c/", { revision: revs[1] ?? 0 }), CompactedError);
      // History from the compaction point on is still there.
      assert.deepEqual((await s.range("c/", { revision: keep })).kvs.map((kv) => kv.value), ["15", "13", "14"]);
      const ok = new Collector();
      const w = s.watch("c/", keep, ok.onEvents, ok.onError);
      await ok.until("5 events", () => ok.events.length >= 5);
      w.cancel();
      assert.deepEqual(ok.events.map((e) => e.revision), revs.slice(15));
      assert.deepEqual(ok.errors, []);
    });
  });
}
