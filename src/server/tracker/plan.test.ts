// The tracker's decisions, by tables: pure planFetch, then the Tracker's memory (announce, plan,
// report, down hosts) with a fixed tie-break so every outcome is exact.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { OriginLease, PlanInput, TrackerLimits } from "./plan.ts";
import { DefaultTrackerLimits, planFetch } from "./plan.ts";
import { SeenRecentlyMs, Tracker } from "./tracker.ts";

/** Ties broken by the key's own number or letter: piece 0 before 1, host a before b. */
const rank = (k: string): number => {
  const v = k.split(":")[1] ?? "";
  return Number.isNaN(Number(v)) ? v.charCodeAt(0) : Number(v);
};

function input(o: { want: number[]; holders?: Record<number, string[]>; load?: Record<string, number>; leases?: Record<number, OriginLease>; limits?: Partial<TrackerLimits>; fallback?: number[]; budget?: number; stuck?: number[] }): PlanInput {
  const holders = new Map(Object.entries(o.holders ?? {}).map(([i, hs]) => [Number(i), hs]));
  const hosts = new Set([...holders.values()].flat());
  return {
    fetcher: "me",
    want: o.want,
    holders,
    addresses: new Map([...hosts].map((h) => [h, `${h}.example:7000`])),
    load: new Map(Object.entries(o.load ?? {})),
    leases: new Map(Object.entries(o.leases ?? {}).map(([i, l]) => [Number(i), l])),
    fallback: new Set(o.fallback ?? []),
    originBudget: o.budget ?? 10,
    stuck: new Set(o.stuck ?? []),
    now: 1000,
    limits: { ...DefaultTrackerLimits, ...o.limits },
    rank,
  };
}

/** A plan as text: "index<-source,source" per piece; "o" is the origin. */
function show(p: ReturnType<typeof planFetch>): string {
  return p.pieces.map((x) => `${x.index}<-${x.sources.map((s) => (s.kind === "origin" ? "o" : s.host)).join(",")}`).join(" ");
}

const cases: { name: string; in: Parameters<typeof input>[0]; plan: string; waiting: number; leased?: number[] }[] = [
  { name: "nobody holds anything: the origin, under a lease, up to originPerPlan", in: { want: [0, 1, 2, 3], limits: { originPerPlan: 2 } }, plan: "0<-o 1<-o", waiting: 2, leased: [0, 1] },
  { name: "a piece another agent pulls from the origin waits for it", in: { want: [0, 1], leases: { 0: { host: "other", until: 5000 } } }, plan: "1<-o", waiting: 1, leased: [1] },
  { name: "an expired lease is taken over", in: { want: [0], leases: { 0: { host: "other", until: 999 } } }, plan: "0<-o", waiting: 0, leased: [0] },
  { name: "my own live lease is kept without counting against originPerPlan", in: { want: [0, 1], leases: { 0: { host: "me", until: 5000 } }, limits: { originPerPlan: 1 } }, plan: "0<-o 1<-o", waiting: 0, leased: [0, 1] },
  { name: "origin leases per package are capped over all fetchers", in: { want: [0, 1, 2], leases: { 5: { host: "x", until: 5000 }, 6: { host: "y", until: 5000 } }, limits: { originPerPackage: 3 } }, plan: "0<-o", waiting: 2, leased: [0] },
  { name: "rarest first: the piece one peer holds before the one three hold", in: { want: [0, 1], holders: { 0: ["a", "b", "c"], 1: ["c"] } }, plan: "1<-c 0<-a,b,c", waiting: 0 },
  { name: "pieces no peer holds are rarest of all", in: { want: [0, 1], holders: { 0: ["a"] } }, plan: "1<-o 0<-a", waiting: 0 },
  { name: "least loaded source first; each assignment adds load", in: { want: [0, 1, 2], holders: { 0: ["a", "b"], 1: ["a", "b"], 2: ["a", "b"] }, load: { a: 1 } }, plan: "0<-b,a 1<-a,b 2<-b,a", waiting: 0 },
  { name: "a source at its upload limit goes after every other", in: { want: [0], holders: { 0: ["a", "b"] }, load: { a: 4, b: 3 } }, plan: "0<-b,a", waiting: 0 },
  { name: "at most sourcesPerPiece peers, and no origin for a piece peers hold", in: { want: [0], holders: { 0: ["a", "b", "c", "d"] }, limits: { sourcesPerPiece: 2 } }, plan: "0<-a,b", waiting: 0 },
  {
    name: "at most maxPeersPerPlan distinct peers: pieces only other peers hold wait",
    in: { want: [0, 1, 2], holders: { 0: ["a"], 1: ["b"], 2: ["c"] }, limits: { maxPeersPerPlan: 2 } },
    plan: "0<-a 1<-b",
    waiting: 1,
  },
  { name: "a fetcher that failed with peers gets the origin for that piece, within the budget", in: { want: [0, 1, 2], holders: { 0: ["a"], 1: ["a"], 2: ["a"] }, fallback: [1, 2], budget: 1 }, plan: "0<-a 1<-o 2<-a", waiting: 0 },
  { name: "no budget left: the fallback piece goes to peers again", in: { want: [0], holders: { 0: ["a"] }, fallback: [0], budget: 0 }, plan: "0<-a", waiting: 0 },
  { name: "stuck for long: the origin whatever the budget", in: { want: [0, 1], holders: { 0: ["a"], 1: ["a"] }, fallback: [0, 1], stuck: [1], budget: 0 }, plan: "0<-a 1<-o", waiting: 0 },
  {
    name: "fallbacks and stuck pieces are origin leases too, within originPerPackage: past it, peers again",
    in: { want: [0, 1, 2], holders: { 0: ["a"], 1: ["a"], 2: ["a"] }, fallback: [0, 1, 2], stuck: [2], leases: { 9: { host: "x", until: 5000 } }, limits: { originPerPackage: 2 } },
    plan: "0<-o 1<-a 2<-a",
    waiting: 0,
    leased: [0],
  },
  { name: "at most maxPiecesPerPlan pieces", in: { want: [0, 1, 2], holders: { 0: ["a"], 1: ["a"], 2: ["a"] }, limits: { maxPiecesPerPlan: 2 } }, plan: "0<-a 1<-a", waiting: 1 },
];

for (const c of cases) {
  void test(`planFetch: ${c.name}`, () => {
    const out = planFetch(input(c.in));
    assert.equal(show(out), c.plan);
    assert.equal(out.waiting, c.waiting);
    if (c.leased) assert.deepEqual(out.leased, c.leased);
    assert.deepEqual(out.assigned.map((a) => a.index), out.pieces.filter((p) => p.sources[0]?.kind === "peer").map((p) => p.index), "the first peer of every peer-sourced piece is assigned");
  });
}

const pkg = "a".repeat(64);
const tracker = (down: Set<string> = new Set()) => new Tracker({ isDown: (h) => down.has(h), rank: () => rank, limits: { originPerPlan: 2 } });
const plan = (t: Tracker, host: string, missing: number[], now = 0, inflight: number[] = []) =>
  show({ ...t.plan(host, { packageId: pkg, address: `${host}:1`, total: 4, missing, inflight }, now), leased: [], assigned: [], fallbacks: 0 });

void test("Tracker: three fetchers split the origin's pieces, then fetch from each other", () => {
  const t = tracker();
  assert.equal(plan(t, "a", [0, 1, 2, 3]), "0<-o 1<-o");
  assert.equal(plan(t, "b", [0, 1, 2, 3]), "2<-o 3<-o");
  assert.equal(plan(t, "c", [0, 1, 2, 3]), "", "every piece is leased: c waits");
  t.announce("a", { address: "a:1", full: false, packages: [{ id: pkg, complete: false, pieces: [0] }] }, 10);
  assert.equal(plan(t, "c", [0, 1, 2, 3], 20), "0<-a");
  // a's plan says it holds 0 and 1 (missing 2, 3): b's leases stay with b.
  assert.equal(plan(t, "a", [2, 3], 30), "");
  assert.equal(plan(t, "b", [0, 1], 40, [] /* 2, 3 done */), "0<-a 1<-a");
});

void test("Tracker: a peer the fetcher reported, and a down host silent here, are no longer handed out to it; a full announce replaces", () => {
  const down = new Set<string>();
  const t = tracker(down);
  for (const h of ["a", "b", "c"]) t.announce(h, { address: `${h}:1`, full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 0);
  assert.equal(plan(t, "me", [0]), "0<-a,b,c");
  assert.equal(t.report("me", { packageId: pkg, peer: "a", piece: "f".repeat(64), reason: "hash mismatch" }, 0), "excluded-for-reporter");
  assert.equal(plan(t, "me", [0], 1), "0<-b,c");
  down.add("b");
  assert.equal(plan(t, "me", [0], 2), "0<-b,c", "down by its heartbeats, but it called the tracker 2 ms ago: still used");
  const later = SeenRecentlyMs + 1;
  t.announce("c", { address: "c:1", full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, later);
  assert.equal(plan(t, "me", [0], later), "0<-c", "down and silent here for SeenRecentlyMs: no longer handed out");
  down.delete("b");
  assert.equal(plan(t, "me", [0], later + 1), "0<-c", "and forgotten with its holdings: it announces again when it comes back");
  t.announce("c", { address: "c:1", full: true, packages: [] }, later + 2);
  assert.equal(plan(t, "me", [0], later + 3), "0<-o", "c dropped the package; nobody else: the origin");
});

/** Who a plan of `host` lists for each piece, order aside (load and rank decide the order). */
const who = (t: Tracker, host: string, now: number) =>
  plan(t, host, [0, 1, 2, 3], now)
    .split(" ")
    .map((p) => p.replace(/<-(.*)$/, (_m, hs: string) => `<-${hs.split(",").sort().join(",")}`))
    .sort()
    .join(" ");

void test("Tracker: a bad piece excludes the sender for the reporter at once, and for everyone once a second reporter excluded it", () => {
  const t = tracker();
  const bad = (reporter: string, peer: string) => t.report(reporter, { packageId: pkg, peer, piece: "f".repeat(64), reason: "hash mismatch" }, 0);
  for (const h of ["a", "b", "c"]) t.announce(h, { address: `${h}:1`, full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 0);
  assert.equal(bad("me", "a"), "excluded-for-reporter");
  assert.equal(who(t, "me", 1), "0<-b,c 1<-b,c 2<-b,c 3<-b,c", "the reporter never gets a again");
  assert.equal(who(t, "you", 1), "0<-a,b,c 1<-a,b,c 2<-a,b,c 3<-a,b,c", "one reporter's word does not exclude a for others");
  assert.equal(bad("me", "a"), "ignored", "the same reporter again: still one reporter");
  assert.equal(bad("a", "a"), "ignored", "a host reporting itself");
  assert.equal(bad("me", "zz"), "ignored", "unknown host");
  assert.equal(bad("you", "a"), "excluded", "a second reporter: excluded for everyone");
  assert.equal(who(t, "them", 2), "0<-b,c 1<-b,c 2<-b,c 3<-b,c");
  assert.equal(bad("them", "a"), "ignored", "already excluded for everyone");
  t.announce("a", { address: "a:1", full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 3);
  assert.equal(who(t, "them", 4), "0<-b,c 1<-b,c 2<-b,c 3<-b,c", "announcing again does not bring it back");
});

void test("Tracker: a 404 for an announced piece forgets it there; a reporter's third false announce excludes the host for it, a second reporter's for everyone", () => {
  const t = tracker();
  const miss = (peer: string, index: number, o: { by?: string; other?: string } = {}) =>
    t.report(o.by ?? "me", { packageId: o.other ?? pkg, peer, piece: "f".repeat(64), reason: "404", kind: "missing", index }, 0);
  for (const h of ["a", "b"]) t.announce(h, { address: `${h}:1`, full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 0);
  t.announce("c", { address: "c:1", full: true, packages: [{ id: pkg, complete: false, pieces: [0, 1] }] }, 0);
  assert.equal(who(t, "me", 0), "0<-a,b,c 1<-a,b,c 2<-a,b 3<-a,b");
  assert.equal(miss("a", 0), "forgotten");
  assert.equal(miss("a", 0), "ignored", "already forgotten: not a second strike");
  assert.equal(miss("c", 3), "ignored", "c never announced 3");
  assert.equal(miss("zz", 0), "ignored", "unknown host");
  assert.equal(who(t, "me", 1), "0<-b,c 1<-a,b,c 2<-a,b 3<-a,b", "forgotten for everyone until a announces it again");
  assert.equal(miss("a", 1), "forgotten");
  assert.equal(miss("a", 2, { other: "b".repeat(64) }), "ignored", "another package: not a strike here");
  assert.equal(miss("a", 2), "excluded-for-reporter");
  assert.equal(who(t, "me", 2), "0<-b,c 1<-b,c 2<-b 3<-b", "the reporter never gets a again");
  assert.equal(who(t, "you", 2), "0<-b,c 1<-b,c 2<-b 3<-a,b", "others still get a for what it was not caught lacking");
  assert.equal(miss("a", 3), "ignored", "a reporter's reports about a host it excluded change nothing");
  assert.equal(who(t, "you", 3), "0<-b,c 1<-b,c 2<-b 3<-a,b");

  // a announces everything again (as a liar does every interval): a second reporter catches it too.
  t.announce("a", { address: "a:1", full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 4);
  assert.equal(who(t, "me", 5), "0<-b,c 1<-b,c 2<-b 3<-b", "announcing again does not bring it back for the reporter");
  assert.equal(miss("a", 0, { by: "you" }), "forgotten", "strikes count per reporter");
  assert.equal(miss("a", 1, { by: "you" }), "forgotten");
  assert.equal(miss("a", 2, { by: "you" }), "excluded", "the second reporter to exclude a: excluded for everyone");
  t.announce("a", { address: "a:1", full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 6);
  assert.equal(who(t, "them", 7), "0<-b,c 1<-b,c 2<-b 3<-b", "no longer handed out to anyone, announces or not");
});

void test("Tracker: agents silent for 3 announce intervals are forgotten", () => {
  const t = new Tracker({ isDown: () => false, rank: () => rank, announceMs: 1000 });
  t.announce("a", { address: "a:1", full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 0);
  assert.equal(plan(t, "me", [0], 2000), "0<-a");
  assert.equal(plan(t, "me", [0], 3500), "0<-o");
  assert.equal(t.size().peers, 1, "only the fetcher is left");
});

void test("Tracker: origin fallbacks for pieces peers hold are capped per package, whoever asks", () => {
  const t = tracker();
  t.announce("a", { address: "a:1", full: true, packages: [{ id: pkg, complete: true, pieces: [] }] }, 0);
  const ask = (host: string, fallback: number[]) =>
    show({ ...t.plan(host, { packageId: pkg, address: `${host}:1`, total: 4, missing: [0, 1, 2, 3], inflight: [], fallback }, 0), leased: [], assigned: [], fallbacks: 0 });
  // 40% of 4 pieces: 2 fallbacks for the whole package.
  assert.equal(ask("x", [0]), "0<-o 1<-a 2<-a 3<-a");
  assert.equal(ask("y", [0, 1]), "0<-o 1<-a 2<-a 3<-a");
  assert.equal(ask("z", [0, 1, 2, 3]), "0<-a 1<-a 2<-a 3<-a", "budget spent: peers again");
});
