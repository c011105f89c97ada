// The tracker's view of fetches in flight (`Tracker.fetches`, behind GET /v1/swarm/fetches): pieces
// held of the total per fetcher, where arrived pieces came from, what is in flight now, and how long
// a finished fetch stays listed. A fixed tie-break and clock, so every figure is exact.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tracker } from "./tracker.ts";

const pkg = "a".repeat(64);
const other = "b".repeat(64);
const addr = (h: string): string => `${h}.example:7000`;
const plan = (t: Tracker, host: string, id: string, total: number, missing: number[], inflight: number[], now: number) =>
  t.plan(host, { packageId: id, address: addr(host), total, missing, inflight }, now);

void test("fetches: seeds and fetchers, pieces held, from peers or the origin, in flight now, finished ones kept keepFinishedMs", () => {
  const t = new Tracker({ isDown: () => false, rank: () => (k) => k.charCodeAt(k.length - 1), keepFinishedMs: 5000, limits: { originPerFetcher: 3, originPerPlan: 3 } });
  assert.deepEqual(t.fetches(0).packages, [], "nothing fetched: nothing listed");

  // A seed holds every piece of `pkg`: a fetcher is sent to it for all four.
  t.announce("seed", { address: addr("seed"), full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 1000);
  assert.deepEqual(t.fetches(1000).packages, [], "a seed alone is no fetch");
  const p1 = plan(t, "f1", pkg, 4, [0, 1, 2, 3], [], 1000);
  assert.deepEqual(p1.pieces.map((p) => p.sources[0]?.kind), ["peer", "peer", "peer", "peer"]);
  // Two arrived (the next plan says so), two still on their way.
  plan(t, "f1", pkg, 4, [2, 3], [2, 3], 1100);

  // Nobody holds `other`: its fetcher gets origin leases (3 at most at once).
  const p2 = plan(t, "f2", other, 5, [0, 1, 2, 3, 4], [], 1200);
  assert.equal(p2.pieces.length, 3);
  assert.ok(p2.pieces.every((p) => p.sources[0]?.kind === "origin"));

  const mid = t.fetches(1300);
  assert.equal(mid.keepMs, 5000);
  assert.equal(mid.epoch, t.epoch);
  assert.deepEqual(mid.packages, [
    { id: pkg, pieces: 4, seeds: 1, originFallbacks: 0, fetchers: [{ host: "f1", held: 2, complete: false, startedAt: 1000, finishedAt: null, fromPeers: 2, fromOrigin: 0, inflightPeers: 2, inflightOrigin: 0 }] },
    { id: other, pieces: 5, seeds: 0, originFallbacks: 0, fetchers: [{ host: "f2", held: 0, complete: false, startedAt: 1200, finishedAt: null, fromPeers: 0, fromOrigin: 0, inflightPeers: 0, inflightOrigin: 3 }] },
  ]);

  // f1's last two pieces arrive, announced rather than planned; so do f2's three origin pieces.
  t.announce("f1", { address: addr("f1"), full: false, packages: [{ id: pkg, complete: false, pieces: [2, 3] }] }, 2000);
  t.announce("f2", { address: addr("f2"), full: false, packages: [{ id: other, complete: false, pieces: [0, 1, 2] }] }, 2000);
  const done = t.fetches(2100);
  assert.deepEqual(done.packages[0]?.fetchers, [{ host: "f1", held: 4, complete: true, startedAt: 1000, finishedAt: 2000, fromPeers: 4, fromOrigin: 0, inflightPeers: 0, inflightOrigin: 0 }]);
  assert.deepEqual(done.packages[1]?.fetchers[0], { host: "f2", held: 3, complete: false, startedAt: 1200, finishedAt: null, fromPeers: 0, fromOrigin: 3, inflightPeers: 0, inflightOrigin: 0 });

  // A second fetcher of `pkg` is listed before the finished one; f1 is no seed while it is listed.
  plan(t, "f3", pkg, 4, [0, 1, 2, 3], [], 2200);
  const two = t.fetches(2300).packages[0];
  assert.deepEqual(two?.fetchers.map((f) => [f.host, f.complete, f.inflightPeers]), [["f3", false, 4], ["f1", true, 0]]);
  assert.equal(two?.seeds, 1);

  // keepFinishedMs after it finished, f1 is no longer listed; f3's fetch still is.
  assert.deepEqual(t.fetches(7001).packages[0]?.fetchers.map((f) => f.host), ["f3"]);

  // f1 fetches the package again (it was removed from the host): a new fetch, counted from nothing.
  plan(t, "f1", pkg, 4, [0, 1, 2, 3], [], 8000);
  const again = t.fetches(8001).packages[0]?.fetchers.find((f) => f.host === "f1");
  assert.deepEqual(again && [again.startedAt, again.finishedAt, again.fromPeers, again.held], [8000, null, 0, 0]);
});

void test("fetches: a fetcher forgotten by the tracker (silent, or its host down) leaves the list", () => {
  const t = new Tracker({ isDown: () => false, announceMs: 100 });
  plan(t, "f1", pkg, 2, [0, 1], [], 1000);
  assert.equal(t.fetches(1000).packages.length, 1);
  // Silent for 3 announce intervals: pruned on the next call.
  t.announce("f2", { address: addr("f2"), full: true, packages: [] }, 2500);
  assert.deepEqual(t.fetches(2500).packages, []);
});
