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
