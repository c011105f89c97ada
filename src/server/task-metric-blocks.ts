// Pure conversions between task metric points and stored blocks (`/metricblocks/...`, kinds.ts), and
// the merge of what several writers stored with what memory holds. Values are rounded to 6
// significant digits (what Float32 keeps in memory anyway), so a point is about 30 bytes of JSON.
import type { MetricBlock, MetricBlockTask, TaskMetricsPoint } from "../model/index.ts";

/** Task indexes per stored block value: a block of 64 tasks x 10 points stays under about 25 KB. */
export const TasksPerChunk = 64;

/** The chunk of a task index. */
export function chunkOf(index: number): number {
  return Math.floor(index / TasksPerChunk);
}

/** One task's points, oldest first. */
export interface TaskPoints {
  index: number;
  points: TaskMetricsPoint[];
}

const round = (v: number | null): number | null => (v === null || !Number.isFinite(v) ? null : Number(v.toPrecision(6)));

/** The stored value of a block: `tasks` (one chunk's) with points inside [start, start + spanMs). */
export function blockValuesOf(start: number, spanMs: number, tasks: readonly TaskPoints[]): MetricBlock {
  return {
    start,
    spanMs,
    tasks: tasks.map((t): MetricBlockTask => {
      const pts = t.points.filter((p) => p.at >= start && p.at < start + spanMs);
      return {
        index: t.index,
        offsetMs: pts.map((p) => Math.round(p.at - start)),
        up: pts.map((p) => (p.up ? 1 : 0)),
        scrapeErrors: pts.map((p) => p.scrapeErrors),
        clients: pts.map((p) => round(p.clients)),
        errorsPerSec: pts.map((p) => round(p.errorsPerSec)),
        latencySeconds: pts.map((p) => round(p.latencySeconds)),
      };
    }),
  };
}

/** The points of a stored block by task index (only `index`'s when given). Columns of unequal
 * length (a corrupt value that still fits the schema) yield the points all columns have. */
export function pointsOfBlock(block: MetricBlock, index?: number): Map<number, TaskMetricsPoint[]> {
  const out = new Map<number, TaskMetricsPoint[]>();
  for (const t of block.tasks) {
    if (index !== undefined && t.index !== index) continue;
    const n = Math.min(t.offsetMs.length, t.up.length, t.scrapeErrors.length, t.clients.length, t.errorsPerSec.length, t.latencySeconds.length);
    const pts: TaskMetricsPoint[] = [];
    for (let i = 0; i < n; i++) {
      pts.push({
        at: block.start + (t.offsetMs[i] ?? 0),
        up: t.up[i] === 1,
        scrapeErrors: t.scrapeErrors[i] ?? 0,
        clients: t.clients[i] ?? null,
        errorsPerSec: t.errorsPerSec[i] ?? null,
        latencySeconds: t.latencySeconds[i] ?? null,
      });
    }
    out.set(t.index, [...(out.get(t.index) ?? []), ...pts]);
  }
  return out;
}

/** Merges sources of points (several writers' blocks, then memory) into one series a task, oldest
 * first, from `since`: one point a bucket, the newest of the bucket winning (as when points arrive),
 * values rounded as stored (so a point reads the same before and after its block is written). */
export function mergePoints(sources: readonly Map<number, TaskMetricsPoint[]>[], since: number, bucketMs: number): Map<number, TaskMetricsPoint[]> {
  const byTask = new Map<number, Map<number, TaskMetricsPoint>>();
  for (const source of sources) {
    for (const [index, pts] of source) {
      let byBucket = byTask.get(index);
      if (!byBucket) byTask.set(index, (byBucket = new Map()));
      for (const p of pts) {
        if (p.at < since) continue;
        const b = Math.floor(p.at / bucketMs);
        const had = byBucket.get(b);
        if (!had || had.at <= p.at) byBucket.set(b, { ...p, clients: round(p.clients), errorsPerSec: round(p.errorsPerSec), latencySeconds: round(p.latencySeconds) });
      }
    }
  }
  const out = new Map<number, TaskMetricsPoint[]>();
  for (const [index, byBucket] of [...byTask].sort(([a], [b]) => a - b)) {
    if (byBucket.size > 0) out.set(index, [...byBucket.values()].sort((a, b) => a.at - b.at));
  }
  return out;
}
