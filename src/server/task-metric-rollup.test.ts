// Downsampling old blocks: what a coarse point keeps, named cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { TaskMetricsPoint } from "../model/index.ts";
import { blockValuesOf } from "./task-metric-blocks.ts";
import { coarsePoint, rollupOf } from "./task-metric-rollup.ts";

const p = (at: number, over: Partial<TaskMetricsPoint> = {}): TaskMetricsPoint => ({ at, up: true, scrapeErrors: 0, clients: 4, errorsPerSec: 1, latencySeconds: 0.1, ...over });

void test("coarsePoint: named cases", () => {
  const cases: [string, TaskMetricsPoint[], Partial<TaskMetricsPoint> | null][] = [
    ["no points: none", [], null],
    ["steady", [p(0), p(60), p(120)], { up: true, clients: 4, errorsPerSec: 1, latencySeconds: 0.1 }],
    ["clients and errors/s: the mean; latency: the worst", [p(0, { clients: 2, errorsPerSec: 0, latencySeconds: 0.1 }), p(60, { clients: 6, errorsPerSec: 3, latencySeconds: 0.9 })], { clients: 4, errorsPerSec: 1.5, latencySeconds: 0.9 }],
    ["missing values are left out, not zeros", [p(0, { clients: null, latencySeconds: null }), p(60, { clients: 8 })], { clients: 8, latencySeconds: 0.1 }],
    ["all missing: null", [p(0, { errorsPerSec: null }), p(60, { errorsPerSec: null })], { errorsPerSec: null }],
    ["up when most scrapes were", [p(0, { up: false }), p(60), p(120)], { up: true }],
    ["down when half or more were not", [p(0, { up: false }), p(60)], { up: false }],
    ["scrape errors: the counter's last value", [p(0, { scrapeErrors: 1 }), p(60, { scrapeErrors: 5 })], { scrapeErrors: 5 }],
  ];
  for (const [name, points, want] of cases) {
    const got = coarsePoint(points, 1000);
    if (want === null) assert.equal(got, null, name);
    else assert.deepEqual({ ...got, ...want, at: 1000 }, got, name);
  }
});

void test("rollupOf: one point a task at the block's start, from every writer's points of the block", () => {
  const start = 6_000_000;
  const a = blockValuesOf(start, 600_000, [{ index: 0, points: [p(start, { clients: 2 }), p(start + 60_000, { clients: 4 })] }, { index: 3, points: [p(start + 120_000, { errorsPerSec: 7 })] }]);
  // Another server received task 0's reports later in the block.
  const b = blockValuesOf(start, 600_000, [{ index: 0, points: [p(start + 300_000, { clients: 6 })] }]);
  const r = rollupOf(start, 600_000, [a, b], 60_000);
  assert.deepEqual(r.tasks.map((t) => [t.index, t.offsetMs, t.clients, t.errorsPerSec]), [[0, [0], [4], [1]], [3, [0], [4], [7]]]);
  // A full block: 64 tasks, a point a minute with values as they come.
  const full = blockValuesOf(start, 600_000, Array.from({ length: 64 }, (_, index) => ({ index, points: Array.from({ length: 10 }, (_, m) => p(start + m * 60_000, { clients: 100 + m, errorsPerSec: 0.123456 * m, latencySeconds: 0.0123456 + m / 1000 })) })));
  const ratio = JSON.stringify(full).length / JSON.stringify(rollupOf(start, 600_000, [full], 60_000)).length;
  assert.ok(ratio > 3, `a full block's rollup is ${ratio.toFixed(1)}x smaller`);
});
