// statusChangeAt (liveness.ts): when a host's status changes by the clock alone, the moment the
// endpoint controller's status ticks must look again (and before which they look at no host).
import { test } from "node:test";
import assert from "node:assert/strict";
import { statusChangeAt } from "./liveness.ts";

const Inf = Number.POSITIVE_INFINITY;
type Status = Parameters<typeof statusChangeAt>[0];
const base: Status = { alive: true, upgradeUntil: null, leading: true, lastContactAt: 1000, suspectMs: 3000 };

const cases: { name: string; s: Partial<Status>; now: number; want: number }[] = [
  { name: "up: turns suspect suspectMs after its last contact", s: {}, now: 2000, want: 4000 },
  { name: "up at the very edge: still due then (suspect only past it)", s: {}, now: 4000, want: 4000 },
  { name: "suspect: only a contact brings it back (revivals), never the clock", s: {}, now: 4001, want: Inf },
  { name: "down (no /alive record): only a store write changes it", s: { alive: false }, now: 2000, want: Inf },
  { name: "upgrading: changes when its window ends", s: { upgradeUntil: 9000 }, now: 2000, want: 9000 },
  { name: "an upgrade window already over: judged by its contact", s: { upgradeUntil: 1500 }, now: 2000, want: 4000 },
  { name: "not leading: a follower never says suspect", s: { leading: false }, now: 2000, want: Inf },
  { name: "not leading, upgrading: the window's end still changes it", s: { leading: false, upgradeUntil: 9000 }, now: 2000, want: 9000 },
];

for (const c of cases) {
  void test(`statusChangeAt: ${c.name}`, () => {
    assert.equal(statusChangeAt({ ...base, ...c.s }, c.now), c.want);
  });
}
