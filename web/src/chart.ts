// A task's usage over time as small line charts (SVG paths), pure: the points of one series scaled
// into a box, the limit as a level line, and the axis's top value. The task page draws them.

/** One point of a series: when (ms) and the value (null: not sampled, a gap in the line). */
export interface ChartPoint {
  at: number;
  value: number | null;
}

/** A chart's geometry: the line's SVG path, the limit's y (null: no limit), and the top of the scale. */
export interface ChartShape {
  path: string;
  limitY: number | null;
  top: number;
  /** The last value drawn, for the label, and where it is (a dot: one sample alone draws no line). */
  last: number | null;
  dot: { x: number; y: number } | null;
}

/** Scales `points` (oldest first) into a `width` x `height` box: time left to right over the points'
 * own span, values bottom to top from 0 to the larger of the highest value and the limit (plus a
 * tenth, so a task at its limit is visibly at the line, not at the edge). Gaps (null values) lift the
 * pen. */
export function chartShape(points: readonly ChartPoint[], limit: number | null, width: number, height: number): ChartShape {
  const values = points.map((p) => p.value).filter((v): v is number => v !== null && Number.isFinite(v));
  const highest = Math.max(0, ...values, limit ?? 0);
  const top = highest > 0 ? highest * 1.1 : 1;
  const first = points[0]?.at ?? 0;
  const span = Math.max(1, (points.at(-1)?.at ?? first) - first);
  const y = (v: number): number => round(height - (v / top) * height);
  let path = "";
  let pen = false;
  let dot: { x: number; y: number } | null = null;
  for (const p of points) {
    if (p.value === null || !Number.isFinite(p.value)) {
      pen = false;
      continue;
    }
    const x = points.length === 1 ? width : round(((p.at - first) / span) * width);
    dot = { x, y: y(p.value) };
    path += `${pen ? "L" : "M"}${dot.x} ${dot.y} `;
    pen = true;
  }
  return { path: path.trim(), limitY: limit !== null && limit > 0 ? y(limit) : null, top, last: values.at(-1) ?? null, dot };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
