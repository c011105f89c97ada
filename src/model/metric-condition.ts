// Reading a task's signal from scraped samples and judging a condition on it over time, as pure
// functions over plain data: the agent's metric health checks use it on every scrape, and rollout
// safety checks (server) are to use it on the series the server keeps. One module, so a threshold
// means the same thing wherever it is judged.
//
//   reading ──> breaching? ──yes──> pending (since T) ──breaching after forMs──> firing
//      │            │no                  │ one healthy reading: the wait starts again    │ clearAfter healthy
//      │            └──> ok <────────────┘ (a flapping signal never fires)               │ readings in a row
//      │                  ^────────── quiet for rearmMs (not judged) <────────────────────┘
//      └─ null (failed scrape, not mapped, nothing observed): "unknown" alone; inside a breach it is
//         no evidence either way: the breach neither ends nor advances (firing needs a breaching
//         reading), unless no breaching reading came for maxGapMs (then the breach ends: unknown).
//
// Hysteresis both ways: to fire, every reading of `forMs` must breach (Prometheus's `for`), so a
// value flapping around its threshold never fires; once firing, it takes clearAfter healthy readings
// in a row to clear (Prometheus's keep_firing_for), and a cleared check is not judged for rearmMs, so
// it cannot fire, clear and fire again on every dip. Missing readings used to count as healthy ones,
// so two failed scrapes (or two intervals without a request, for latency) in a row restarted the wait:
// a long `for` (30 readings for 5 m at 10 s) on a slow or idle task never fired.

import type { MetricSignalName } from "./job.ts";
import type { TaskMetricsPoint } from "./task-metrics.ts";

/** One reading of a signal at `at` (epoch ms); `value` null when there is none. */
export interface SignalReading {
  at: number;
  value: number | null;
}

/** A condition on a signal: beyond `threshold` for `forMs`. */
export interface MetricCondition {
  when: "above" | "below";
  threshold: number;
  forMs: number;
  /** Healthy readings in a row that end a firing breach. @default 2 */
  clearAfter?: number;
  /** Time without a breaching reading (only missing ones) that ends a pending breach. @default forMs / 2 */
  maxGapMs?: number;
  /** After a firing breach cleared, readings are not judged for this long. @default 0 */
  rearmMs?: number;
}

/** What is carried from one reading to the next (plain data; start from `initialCondition()`). */
export interface ConditionState {
  /** When the current breach began; null when there is none. */
  since: number | null;
  /** The last breaching value and when it was read. */
  value: number | null;
  valueAt: number | null;
  /** Healthy readings in a row since the last breaching one (while firing). */
  calm: number;
  /** Once the breach has lasted `forMs`: the reading that fired it (kept until the breach ends). */
  fired: { at: number; value: number } | null;
  /** A cleared check is not judged before this time (epoch ms); null: judged. */
  quietUntil?: number | null;
}

/** The judgement after a reading. `firing` carries the reading that fired it: its value and time. */
export type ConditionVerdict =
  | { kind: "unknown" }
  | { kind: "ok" }
  | { kind: "pending"; since: number; value: number }
  | { kind: "firing"; since: number; value: number; at: number };

/** The state before any reading. */
export function initialCondition(): ConditionState {
  return { since: null, value: null, valueAt: null, calm: 0, fired: null };
}

/** True when `value` is on the wrong side of the threshold. */
export function breaches(c: Pick<MetricCondition, "when" | "threshold">, value: number): boolean {
  return c.when === "above" ? value > c.threshold : value < c.threshold;
}

/** The state and verdict after one more reading (readings in time order). */
export function stepCondition(c: MetricCondition, s: ConditionState, r: SignalReading): { state: ConditionState; verdict: ConditionVerdict } {
  const missing = r.value === null || !Number.isFinite(r.value);
  const calmVerdict: ConditionVerdict = missing ? { kind: "unknown" } : { kind: "ok" };
  if (s.quietUntil !== undefined && s.quietUntil !== null && r.at < s.quietUntil) return { state: s, verdict: calmVerdict };
  if (r.value !== null && !missing && breaches(c, r.value)) {
    const since = s.since ?? r.at;
    const fired = s.fired ?? (r.at - since >= c.forMs ? { at: r.at, value: r.value } : null);
    const state: ConditionState = { since, value: r.value, valueAt: r.at, calm: 0, fired };
    return { state, verdict: fired ? { kind: "firing", since, ...fired } : { kind: "pending", since, value: r.value } };
  }
  if (s.since === null || s.value === null || s.valueAt === null) return { state: initialCondition(), verdict: calmVerdict };
  const breach: ConditionVerdict = s.fired ? { kind: "firing", since: s.since, ...s.fired } : { kind: "pending", since: s.since, value: s.value };
  if (missing) {
    // No evidence: a firing breach stays (only healthy readings clear it); a pending one waits up to maxGapMs.
    if (!s.fired && r.at - s.valueAt >= (c.maxGapMs ?? c.forMs / 2)) return { state: initialCondition(), verdict: calmVerdict };
    return { state: s, verdict: breach };
  }
  if (!s.fired) return { state: initialCondition(), verdict: calmVerdict };
  const calm = s.calm + 1;
  if (calm >= (c.clearAfter ?? 2)) {
    const rearm = c.rearmMs ?? 0;
    return { state: rearm > 0 ? { ...initialCondition(), quietUntil: r.at + rearm } : initialCondition(), verdict: calmVerdict };
  }
  return { state: { ...s, calm }, verdict: breach };
}

/** The state and verdict after `readings` (oldest first), from `from` (a fresh state by default). */
export function evaluateCondition(c: MetricCondition, readings: readonly SignalReading[], from: ConditionState = initialCondition()): { state: ConditionState; verdict: ConditionVerdict } {
  let out: { state: ConditionState; verdict: ConditionVerdict } = { state: from, verdict: { kind: "unknown" } };
  for (const r of readings) out = stepCondition(c, out.state, r);
  return out;
}

/** The per-second increase of a counter over `points` (oldest first), resets counted as Prometheus
 * does (a drop means the counter restarted from 0); null with fewer than two points or no time between. */
export function counterRate(points: readonly { at: number; value: number }[]): number | null {
  const first = points[0];
  const last = points.at(-1);
  if (!first || !last || last.at <= first.at) return null;
  let increase = 0;
  for (let i = 1; i < points.length; i++) {
    const prev = points[i - 1]?.value ?? 0;
    const cur = points[i]?.value ?? 0;
    increase += cur >= prev ? cur - prev : cur;
  }
  return increase / ((last.at - first.at) / 1000);
}

/** The `q` quantile of cumulative buckets (le ascending), interpolated linearly inside the bucket as
 * histogram_quantile does; null when there are no observations. */
export function histogramQuantile(q: number, buckets: readonly [number, number][]): number | null {
  const total = buckets.at(-1)?.[1] ?? 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= rank) {
      if (le === Infinity) return prevLe;
      if (count === prevCount) return le;
      return prevLe + (le - prevLe) * ((rank - prevCount) / (count - prevCount));
    }
    prevLe = le;
    prevCount = count;
  }
  return prevLe;
}

/** The increase of cumulative buckets from `a` to `b` (same bounds; a bucket that dropped was reset). */
export function bucketIncrease(a: readonly [number, number][], b: readonly [number, number][]): [number, number][] {
  const before = new Map(a);
  return b.map(([le, count]) => {
    const was = before.get(le) ?? 0;
    return [le, count >= was ? count - was : count];
  });
}

/** Readings of a signal from raw scraped values (oldest first): a gauge as it is; a counter as its
 * per-second increase since the previous value (null for the first, and after a missing one). */
export function readingsOf(kind: "gauge" | "counter", raw: readonly SignalReading[]): SignalReading[] {
  if (kind === "gauge") return raw.map((r) => ({ ...r }));
  return raw.map((r, i) => {
    const prev = raw[i - 1];
    const before = prev?.value ?? null;
    if (!prev || before === null || r.value === null) return { at: r.at, value: null };
    return { at: r.at, value: counterRate([{ at: prev.at, value: before }, { at: r.at, value: r.value }]) };
  });
}

/** Readings of a histogram's `q` quantile from raw scraped cumulative buckets (oldest first): each
 * over the increase since the previous scrape (a bucket that dropped was reset), as
 * histogram_quantile(q, rate(...)) over one scrape interval; null for the first, after a missing
 * one, and where nothing was observed in the interval. */
export function histogramReadings(q: number, raw: readonly { at: number; buckets: readonly [number, number][] | null }[]): SignalReading[] {
  return raw.map((r, i) => {
    const prev = raw[i - 1]?.buckets ?? null;
    if (prev === null || r.buckets === null) return { at: r.at, value: null };
    return { at: r.at, value: histogramQuantile(q, bucketIncrease(prev, r.buckets)) };
  });
}

/** Readings of one of the three signals from a task's summaries or series points (the agent's
 * summaries, the server's TaskMetricsHistory series: what a rollout safety check reads). A point
 * whose scrape failed (`up` false) is no reading. */
export function signalReadings(points: readonly Pick<TaskMetricsPoint, "at" | "up" | "clients" | "errorsPerSec" | "latencySeconds">[], signal: MetricSignalName): SignalReading[] {
  return points.map((p) => {
    const value = signal === "clients" ? p.clients : signal === "errors" ? p.errorsPerSec : p.latencySeconds;
    return { at: p.at, value: p.up ? value : null };
  });
}

/** A check's condition in words, for status and reasons: "errors above 5 for 30s". */
export function describeCondition(signal: string, c: Pick<MetricCondition, "when" | "threshold" | "forMs">): string {
  const s = c.forMs % 60_000 === 0 ? `${c.forMs / 60_000}m` : c.forMs % 1000 === 0 ? `${c.forMs / 1000}s` : `${c.forMs}ms`;
  return `${signal} ${c.when} ${c.threshold} for ${s}`;
}
