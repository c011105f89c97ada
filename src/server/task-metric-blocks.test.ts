// Stored metric blocks, pure: a round trip through the stored value (rounding, nulls, flags), what a
// block keeps of points outside its span, and the merge of several writers with memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { TaskMetricsPoint } from "../model/index.ts";
import { Kinds } from "./kinds.ts";
import { blockValuesOf, chunkOf, mergePoints, pointsOfBlock } from "./task-metric-blocks.ts";

const p = (at: number, over: Partial<TaskMetricsPoint> = {}): TaskMetricsPoint => ({ at, up: true, scrapeErrors: 0, clients: 2, errorsPerSec: 0.5, latencySeconds: 0.25, ...over });

void test("blockValuesOf / pointsOfBlock: a round trip through the stored text", () => {
  const pts = [p(1000), p(61_000, { up: false, scrapeErrors: 4, clients: null, errorsPerSec: null, latencySeconds: null }), p(121_000, { latencySeconds: 0.123456789 }), p(700_000)];
  const block = blockValuesOf(0, 600_000, [{ index: 3, points: pts }]);
  const d = Kinds.metricBlock.decode("/k", Kinds.metricBlock.encode(block));
  assert.ok(d.ok);
  assert.deepEqual(pointsOfBlock(d.value).get(3), [pts[0], pts[1], { ...pts[2], latencySeconds: 0.123457 }], "outside the span left out, 6 digits kept");
  assert.deepEqual(pointsOfBlock(d.value, 4).size, 0);
});

void test("mergePoints: one point a bucket, the newest wins, oldest first, from `since`", () => {
  const cases: [string, [number, number][][], number, [number, number][]][] = [
    ["two writers, disjoint", [[[0, 1], [60_000, 2]], [[120_000, 3]]], 0, [[0, 1], [60_000, 2], [120_000, 3]]],
    ["the same bucket: the later point", [[[10_000, 1]], [[50_000, 2]], [[20_000, 9]]], 0, [[50_000, 2]]],
    ["before since left out", [[[0, 1], [60_000, 2]]], 60_000, [[60_000, 2]]],
    ["nothing", [], 0, []],
  ];
  for (const [name, sources, since, want] of cases) {
    const merged = mergePoints(sources.map((s) => new Map([[0, s.map(([at, e]) => p(at, { errorsPerSec: e }))]])), since, 60_000);
    assert.deepEqual((merged.get(0) ?? []).map((x) => [x.at, x.errorsPerSec]), want, name);
  }
});

void test("metric block keys: layout, parse, chunks of 64", () => {
  const key = Kinds.metricBlock.key(1_700_000_000_000, "web", chunkOf(130), "abc.123");
  assert.equal(key, "/metricblocks/1700000000000/web/000002/abc.123");
  assert.deepEqual(Kinds.metricBlock.parseKey(key), [1_700_000_000_000, "web", 2, "abc.123"]);
  assert.equal(Kinds.metricBlock.parseKey("/metricblocks/x/web/000002/w"), null);
  assert.equal(Kinds.metricBlock.parseKey("/metricblocks/1/web/w"), null);
  assert.deepEqual([0, 63, 64, 1000].map(chunkOf), [0, 0, 1, 15]);
});
