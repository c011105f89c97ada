import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../model/index.ts";
import type { TaskMetrics } from "../model/index.ts";
import { TaskMetricsHistory } from "./task-metrics-history.ts";

const summary = (at: number, errorsPerSec: number, attemptId = "a1"): TaskMetrics => ({
  attemptId, at, up: true, scrapes: 1, scrapeErrors: 0, lastError: null, series: 3, scrapeMs: 1, clients: 1, errorsPerSec, latencySeconds: 0.1,
});
const web0 = { job: "web", index: 0, version: 1, hostId: "h1" };

void test("one point per task per bucket (the newest wins), the latest summary kept whole", () => {
  const clock = new ManualClock(0);
  const h = new TaskMetricsHistory({ clock, bucketMs: 60_000, keepMs: 600_000 });
  for (const [at, e] of [[1000, 1], [30_000, 2], [59_999, 3], [60_000, 4], [61_000, 5]] as const) {
    clock.advance(at - clock.now());
    h.add(web0, summary(at, e));
  }
  assert.deepEqual(h.seriesOf("web", 0).map((p) => [p.at, p.errorsPerSec]), [[59_999, 3], [61_000, 5]]);
  assert.equal(h.latestOf("web")[0]?.metrics.errorsPerSec, 5);
  // An older summary (a late report) changes nothing.
  h.add(web0, summary(50_000, 99));
  assert.equal(h.latestOf("web")[0]?.metrics.errorsPerSec, 5);
});

void test("bounded in time: old points and silent tasks are forgotten after keepMs", () => {
  const clock = new ManualClock(0);
  const h = new TaskMetricsHistory({ clock, bucketMs: 1000, keepMs: 10_000 });
  h.add({ ...web0, index: 1 }, summary(0, 1)); // a task that then goes silent
  for (let at = 0; at <= 30_000; at += 1000) {
    clock.advance(at - clock.now());
    h.add(web0, summary(at, at));
  }
  const series = h.seriesOf("web", 0);
  assert.ok(series.length <= 11, `at most keepMs/bucketMs + 1 points: ${series.length}`);
  assert.equal(series[0]?.at, 20_000);
  assert.deepEqual(h.latestOf("web").map((l) => l.index), [0], "the silent task is gone");
  assert.deepEqual([...h.all()].map((l) => `${l.job}/${l.index}`), ["web/0"]);
  h.forget("web");
  assert.deepEqual(h.latestOf("web"), []);
});
