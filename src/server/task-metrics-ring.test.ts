import { test } from "node:test";
import assert from "node:assert/strict";
import type { TaskMetricsPoint } from "../model/index.ts";
import { PointRing } from "./task-metrics-ring.ts";

const p = (at: number, over: Partial<TaskMetricsPoint> = {}): TaskMetricsPoint => ({ at, up: true, scrapeErrors: 0, clients: 2, errorsPerSec: 0.5, latencySeconds: 0.25, ...over });

void test("PointRing: keeps the newest `capacity` points in order through growth and wrap-around", () => {
  const r = new PointRing(40);
  for (let at = 1; at <= 100; at++) r.push(p(at));
  assert.equal(r.length, 40);
  assert.deepEqual(r.toArray().map((x) => x.at), Array.from({ length: 40 }, (_, i) => 61 + i));
  assert.equal(r.lastAt(), 100);
});

void test("PointRing: replaceLast, dropBefore, nulls and flags round-trip", () => {
  const r = new PointRing(10);
  r.push(p(1));
  r.push(p(2, { up: false, scrapeErrors: 7, clients: null, errorsPerSec: null, latencySeconds: null }));
  r.push(p(3), true);
  assert.deepEqual(r.toArray(), [p(1), p(3)]);
  r.push(p(4, { up: false, scrapeErrors: 7, clients: null, errorsPerSec: null, latencySeconds: null }));
  assert.deepEqual(r.toArray().at(-1), { at: 4, up: false, scrapeErrors: 7, clients: null, errorsPerSec: null, latencySeconds: null });
  r.dropBefore(4);
  assert.deepEqual(r.toArray().map((x) => x.at), [4]);
  r.dropBefore(99);
  assert.equal(r.length, 0);
  assert.equal(r.lastAt(), null);
  r.push(p(5), true);
  assert.deepEqual(r.toArray().map((x) => x.at), [5], "replaceLast on an empty ring adds");
});

void test("PointRing: epoch-ms times exact through Float32 offsets; a point hours away rebases", () => {
  const r = new PointRing(10, 4);
  const t0 = 1_700_000_000_123;
  r.push(p(t0));
  r.push(p(t0 + 59_999));
  r.push(p(t0 + 5 * 3_600_000 + 7)); // beyond 2^24 ms: rebased, the old points dropped
  assert.deepEqual(r.toArray().map((x) => x.at), [t0 + 5 * 3_600_000 + 7]);
  r.push(p(t0 + 5 * 3_600_000 + 60_001, { errorsPerSec: 0.1 }));
  assert.deepEqual(r.toArray().map((x) => x.at), [t0 + 5 * 3_600_000 + 7, t0 + 5 * 3_600_000 + 60_001]);
  assert.equal(r.lastAt(), t0 + 5 * 3_600_000 + 60_001);
  assert.ok(Math.abs((r.toArray()[1]?.errorsPerSec ?? 0) - 0.1) < 1e-7, "7 digits kept");
});
