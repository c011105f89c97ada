// Leader election over a real SQLite store, with a clock the test moves (the store's lease expiry
// follows it): one leader at a time, resign hands over at once, a leader cut off from the store steps
// down before its lease can expire, a deposed leader's fence no longer holds, and a restarted server
// takes over its own stale key at once.

import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { ManualClock } from "../model/index.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import type { Store } from "../state/store.ts";
import { wrapStore } from "../state/store-wrap.ts";
import { fencedStore, LeaderElection, LeaderKey } from "./leader.ts";
import type { FencedResult } from "./leader.ts";
import { eventually, tempDir } from "./testing/harness.ts";

const log = pino({ level: "silent" });

/** The store as one server sees it; `cut` makes every call fail and hides watch events, as a
 * partition would. */
function cuttable(store: Store): { store: Store; cut: (on: boolean) => void } {
  let off = false;
  const guard = <T>(fn: () => Promise<T>): Promise<T> => (off ? Promise.reject(new Error("cut off from the store")) : fn());
  return {
    cut: (on) => void (off = on),
    store: {
      revision: () => guard(() => store.revision()),
      get: (k) => guard(() => store.get(k)),
      range: (p, o) => guard(() => store.range(p, o)),
      put: (k, v, o) => guard(() => store.put(k, v, o)),
      delete: (k) => guard(() => store.delete(k)),
      txn: (r) => guard(() => store.txn(r)),
      watch: (p, from, on, err) => store.watch(p, from, (evs) => void (off || on(evs)), err),
      grantLease: (ttl) => guard(() => store.grantLease(ttl)),
      keepAlive: (l) => guard(() => store.keepAlive(l)),
      revokeLease: (l) => guard(() => store.revokeLease(l)),
      close: () => store.close(),
    },
  };
}

async function setup(t: { after: (fn: () => unknown) => void }): Promise<{ store: Store; clock: ManualClock; elect: (id: string, s?: Store, incarnation?: string) => LeaderElection }> {
  const dir = tempDir();
  const clock = new ManualClock();
  const store = openSqliteStore(join(dir, "state.db"), { clock, synchronous: "normal", leaseCheckMs: 100 });
  const all: LeaderElection[] = [];
  t.after(async () => {
    for (const e of all) await e.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const elect = (id: string, s: Store = store, incarnation = `${id}-1`): LeaderElection => {
    const e = new LeaderElection({ store: s, id, incarnation, url: () => `http://${id}`, clock, log, ttlMs: 3000 });
    all.push(e);
    return e;
  };
  return { store, clock, elect };
}

/** Moves the clock in small steps, letting the store's timers and I/O run in between. */
async function advance(clock: ManualClock, ms: number): Promise<void> {
  for (let done = 0; done < ms; done += 100) {
    clock.advance(Math.min(100, ms - done));
    await new Promise((r) => setTimeout(r, 3));
  }
}

void test("one leader at a time; resigning hands over at once; the key names the leader", async (t) => {
  const { store, clock, elect } = await setup(t);
  const a = elect("a");
  const b = elect("b");
  await a.start();
  await b.start();
  assert.equal(a.isLeader(), true);
  assert.equal(b.isLeader(), false);
  assert.equal(b.leader()?.id, "a");
  assert.equal(b.leader()?.url, "http://a");
  await advance(clock, 5000); // renewals keep it
  assert.equal(a.isLeader(), true, "renewals keep the lease");
  assert.equal(b.isLeader(), false);

  const changes: boolean[] = [];
  b.onChange((leading) => changes.push(leading));
  await a.close();
  await eventually("b leads after a resigned", () => b.isLeader(), 2000);
  assert.deepEqual(changes, [true]);
  assert.equal(JSON.parse((await store.get(LeaderKey))?.value ?? "{}").id, "b");
  // The recorded terms: a's closed when it resigned, b's began after, still open.
  const [ta] = a.terms();
  const [tb] = b.terms();
  assert.ok(ta && tb && ta.end !== null, JSON.stringify({ a: a.terms(), b: b.terms() }));
  assert.ok(ta.end <= tb.start && tb.end === null, JSON.stringify({ a: a.terms(), b: b.terms() }));
});

void test("a leader cut off from the store steps down before its lease expires; its fence then fails", async (t) => {
  const { store, clock, elect } = await setup(t);
  const cutA = cuttable(store);
  const a = elect("a", cutA.store);
  const b = elect("b");
  await a.start();
  await b.start();
  assert.ok(a.isLeader());
  const fenceA = a.fence();
  assert.ok(fenceA);
  const counts: FencedResult[] = [];
  const loopStoreA = fencedStore(cutA.store, a, (r) => counts.push(r));
  assert.equal((await loopStoreA.txn({ compare: [], success: [{ type: "put", key: "/x", value: "1" }] })).succeeded, true, "the leader writes");

  cutA.cut(true);
  // The lease cannot expire before 3 s after the last renewal; a must give up before that.
  let steppedDownAt: number | null = null;
  let bLeadsAt: number | null = null;
  const start = clock.now();
  for (let i = 0; i < 80 && bLeadsAt === null; i++) {
    await advance(clock, 100);
    if (steppedDownAt === null && !a.isLeader()) steppedDownAt = clock.now() - start;
    if (b.isLeader()) bLeadsAt = clock.now() - start;
    assert.ok(!(a.isLeader() && b.isLeader()), "never two leaders");
  }
  assert.ok(steppedDownAt !== null && bLeadsAt !== null, "a stepped down and b took over");
  assert.ok(steppedDownAt < bLeadsAt, `a stepped down (${steppedDownAt} ms) before b led (${bLeadsAt} ms)`);
  // a's last renewal was before the cut, so its lease lapses at most ttl after it; b campaigns as soon
  // as the key is deleted (it watches it); the clock moves in 100 ms steps, and on a loaded machine the
  // watch event and the campaign's store calls may complete a step or two after the deletion (seen:
  // 3200). A periodic campaign instead of the watch (the regression) comes at 4000. (It was 4.5 s: b
  // could have waited for a periodic campaign and passed.)
  const ttlMs = 3000;
  const bound = ttlMs + 300;
  assert.ok(bLeadsAt <= bound, `b led ${bLeadsAt} ms after the cut (TTL ${ttlMs} ms, bound ${bound} ms)`);
  // The same order from the terms each recorded at its transitions (what the HA test reads).
  const aTerm = a.terms().at(-1);
  const bTerm = b.terms().at(-1);
  assert.ok(aTerm?.end != null && bTerm, JSON.stringify({ a: a.terms(), b: b.terms() }));
  assert.ok(aTerm.end - start <= steppedDownAt && aTerm.end <= bTerm.start, `a's term ended (${aTerm.end - start} ms) before b's began (${bTerm.start - start} ms)`);

  cutA.cut(false);
  // A write fenced to a's term fails now, even if it reaches the store.
  const late = await store.txn({ compare: [fenceA], success: [{ type: "put", key: "/x", value: "late" }] });
  assert.equal(late.succeeded, false, "the deposed leader's fence fails");
  assert.equal((await store.get("/x"))?.value, "1");
  // And a's loops do not even send one.
  assert.equal((await loopStoreA.txn({ compare: [], success: [{ type: "put", key: "/x", value: "2" }] })).succeeded, false);
  assert.deepEqual(counts, ["written", "skipped"]);
  await advance(clock, 3000);
  assert.equal(a.isLeader(), false, "a stays a follower while b leads");
  assert.equal(b.isLeader(), true);
});

void test("a restarted server takes its own stale key over at once; another server waits for it", async (t) => {
  const { store, clock, elect } = await setup(t);
  const cutOld = cuttable(store);
  const old = elect("a", cutOld.store, "a-old");
  await old.start();
  assert.ok(old.isLeader());
  cutOld.cut(true); // dies without resigning: its key and lease stay

  const other = elect("b");
  await other.start();
  assert.equal(other.isLeader(), false, "the key is still held");
  const restarted = elect("a", store, "a-new");
  await restarted.start();
  assert.equal(restarted.isLeader(), true, "the same server id takes its stale key over");
  const v = JSON.parse((await store.get(LeaderKey))?.value ?? "{}") as { incarnation: string };
  assert.equal(v.incarnation, "a-new");
  // A second process on the same id (two servers on one data dir) takes over once, as a restart
  // would (it cannot tell the two apart); the displaced one does not take it back.
  const twin = elect("a", store, "a-twin");
  await twin.start();
  assert.equal(twin.isLeader(), true);
  await eventually("the displaced incarnation notices", () => !restarted.isLeader(), 2000);
  await advance(clock, 3000);
  assert.equal(twin.isLeader(), true, "no ping-pong between the two");
  assert.equal(restarted.isLeader(), false);
});

/** The store with renewals that can be held: while held, each keepAlive waits, and is sent on (and
 * answered) only when released, as a renewal stuck in an etcd election is. */
function holdable(store: Store): { store: Store; hold: () => void; release: () => Promise<void> } {
  let held: (() => void)[] | null = null;
  return {
    hold: () => void (held = []),
    release: async () => {
      const go = held ?? [];
      held = null;
      for (const fn of go) fn();
      await new Promise((r) => setTimeout(r, 20));
    },
    store: wrapStore(store, {
      keepAlive: (l) => {
        const h = held;
        if (h === null) return store.keepAlive(l);
        return new Promise<void>((resolve, reject) => h.push(() => void store.keepAlive(l).then(resolve, reject)));
      },
    }),
  };
}

// Found by watch-etcd-leader.test.ts (the endpoint registry missed a change 2 runs in 4 after a kill
// -9 of etcd's leader): renewals stalled by the election, the term's trusted time ran out (isLeader()
// false, so the endpoint controller dropped the pass a task's report asked for), then a renewal sent
// before that answered, moved the deadline on, and isLeader() was true again with no onChange(true):
// nothing told the loops to catch up on what they had skipped.
void test("a renewal answered after the term's trusted time ran out ends the term: leadership comes back only announced", async (t) => {
  const { store, clock, elect } = await setup(t);
  const h = holdable(store);
  const a = elect("a", h.store);
  const events: boolean[] = [];
  a.onChange((leading) => events.push(leading));
  await a.start();
  assert.ok(a.isLeader());
  const fence = a.fence();
  h.hold();
  await advance(clock, 2600); // renewals sent at ~1 s and ~2 s are held; trusted until 2.5 s
  assert.equal(a.isLeader(), false, "past its trusted time, a leader does not act");
  await h.release(); // the held renewals answer now, late
  await eventually("leading again", () => a.isLeader(), 2000);
  assert.deepEqual(events, [true, false, true], "the lapse was a step-down and the return a new term, each announced");
  assert.notDeepEqual(a.fence(), fence, "a new term: writes fenced to the lapsed one fail");
  assert.equal(a.terms().length, 2);
});
