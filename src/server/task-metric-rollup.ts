// Downsampling of old task metric blocks, as pure functions: a stored block older than the history's
// `fullMs` (one point a task a minute) is replaced by one value a job chunk holding one point a task
// for the block (10 minutes), from every writer's points of it. What a coarse point keeps: the
// window's mean of clients and errors per second (rates over equal intervals average), the worst
// (largest) latency, the last scrape error count (a counter), and up when most of the window's
// scrapes succeeded. About 3.5x fewer stored bytes a block (bench/RESULTS.md, "Task metrics: storage").
import type { MetricBlock, TaskMetricsPoint } from "../model/index.ts";
import { blockValuesOf, mergePoints, pointsOfBlock } from "./task-metric-blocks.ts";

/** The writer part of a rolled-up block's key: it never collides with a server's `<id>.<incarnation>`. */
export const RollupWriter = "rollup";

const mean = (vs: readonly (number | null)[]): number | null => {
  const xs = vs.filter((v): v is number => v !== null);
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
};

/** One point for a window's `points` (oldest first) at `at`; null without points. */
export function coarsePoint(points: readonly TaskMetricsPoint[], at: number): TaskMetricsPoint | null {
  const last = points.at(-1);
  if (!last) return null;
  const latencies = points.map((p) => p.latencySeconds).filter((v): v is number => v !== null);
  return {
    at,
    up: points.filter((p) => p.up).length * 2 > points.length,
    scrapeErrors: last.scrapeErrors,
    clients: mean(points.map((p) => p.clients)),
    errorsPerSec: mean(points.map((p) => p.errorsPerSec)),
    latencySeconds: latencies.length === 0 ? null : Math.max(...latencies),
  };
}

/** The rolled-up value of one block start and job chunk from all its stored values (every writer's
 * fine block, and an earlier rollup if a late write came after it): one point a task at `start`. */
export function rollupOf(start: number, spanMs: number, blocks: readonly MetricBlock[], bucketMs: number): MetricBlock {
  const merged = mergePoints(blocks.map((b) => pointsOfBlock(b)), start, bucketMs);
  const tasks = [...merged]
    .sort(([a], [b]) => a - b)
    .map(([index, pts]) => ({ index, points: pts.filter((p) => p.at < start + spanMs) }))
    .flatMap(({ index, points }) => {
      const p = coarsePoint(points, start);
      return p ? [{ index, points: [p] }] : [];
    });
  return blockValuesOf(start, spanMs, tasks);
}
