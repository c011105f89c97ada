import { test } from "node:test";
import assert from "node:assert/strict";
import type { Mirror } from "../mirror.ts";
import { specOf, task } from "../testing/fixtures.ts";
import { placementWrites } from "./place.ts";

void test("placementWrites: a task placed after failures keeps its back-off on the new host; a fresh one starts now", () => {
  const spec = specOf({ replicas: 2, restart: { backoffInitialMs: 1000, backoffMaxMs: 60_000, moveAfterFailures: 5 } });
  const fresh = new Map([
    [0, task(0, { hostId: null, attemptId: null, failures: 5, avoidHosts: ["h1"] })],
    [1, task(1, { hostId: null, attemptId: null })],
  ]);
  const noMirror = { tasks: new Map() } as unknown as Mirror; // every task comes from `fresh`
  let n = 0;
  const ws = placementWrites(noMirror, spec, 1, [{ index: 0, avoid: ["h1"], move: false }, { index: 1, avoid: [], move: false }], { plan: { job: "web", placements: [{ index: 0, hostId: "h2" }, { index: 1, hostId: "h1" }], unplaced: [] }, clearedAvoid: new Set() }, { now: 50_000, newId: () => `p${++n}`, hostCount: 2, fresh });
  assert.deepEqual(ws.attempts.map((a) => [a.index, a.hostId, a.startAfter]), [[0, "h2", 50_000 + 16_000], [1, "h1", 50_000]]);
});

void test("placementWrites: a task no host could ever run says so (and is flagged); placed, the flag goes", () => {
  const spec = specOf({ replicas: 2 });
  const noMirror = { tasks: new Map() } as unknown as Mirror;
  const fresh = new Map([[0, task(0, { hostId: null, attemptId: null })], [1, task(1, { hostId: null, attemptId: null, neverFits: true, unplacedReason: "old" })]]);
  const needs = [{ index: 0, avoid: [], move: false }, { index: 1, avoid: [], move: false }];
  const never = "no host could ever fit it: it needs 64Gi memory (the largest of 2 hosts has 8Gi)";
  const ws = placementWrites(noMirror, spec, 1, needs, { plan: { job: "web", placements: [{ index: 1, hostId: "h1" }], unplaced: [{ index: 0, reasons: { memory: 2 } }] }, clearedAvoid: new Set() }, { now: 1, newId: () => "p1", hostCount: 2, fresh, neverFits: never });
  assert.deepEqual(ws.tasks.map((t) => [t.index, t.unplacedReason, t.neverFits ?? false]), [[1, null, false], [0, never, true]]);
  const counts = placementWrites(noMirror, spec, 1, needs, { plan: { job: "web", placements: [], unplaced: [{ index: 0, reasons: { memory: 2 } }] }, clearedAvoid: new Set() }, { now: 1, newId: () => "p1", hostCount: 2, fresh });
  assert.deepEqual(counts.tasks.map((t) => [t.index, t.unplacedReason, t.neverFits ?? false]), [[0, "no host fits: memory on 2 hosts", false]]);
});
