// Tiffin's three signals from a task's scrapes, as pure functions: connected clients (a gauge, summed
// over its label sets), errors per second (a counter's rate over the window, counter resets handled
// as Prometheus's rate() does) and latency (a histogram's quantile over the window's increase, as
// histogram_quantile(rate(...)) would give, or a summary's own quantile). A scrape keeps only the
// numbers these need (ScrapePoint), so the window's memory does not grow with the task's series.
import { bucketIncrease, counterRate, histogramQuantile } from "../../model/index.ts";
import type { MetricSignals } from "../../model/index.ts";
import type { PromExposition, PromSample } from "./prom-text.ts";

/** The counter rate and histogram quantile of the one metric-reading module (model/metric-condition.ts), re-exported for the agent's callers. */
export { counterRate, histogramQuantile };

/** The numbers one scrape leaves in the window. */
export interface ScrapePoint {
  at: number;
  clients: number | null;
  errorsTotal: number | null;
  /** Cumulative histogram buckets [le, count], le ascending, summed over other labels; null when none. */
  buckets: [number, number][] | null;
  /** A summary's value at the quantile nearest the one asked (the largest over label sets); null when none. */
  summaryValue: number | null;
}

/** The three signals of a task now (null: not mapped, not exposed, or not enough scrapes yet). */
export interface TaskSignals {
  clients: number | null;
  errorsPerSec: number | null;
  latencySeconds: number | null;
}

function sumOf(samples: readonly PromSample[], name: string): number | null {
  let total: number | null = null;
  for (const s of samples) if (s.name === name && Number.isFinite(s.value)) total = (total ?? 0) + s.value;
  return total;
}

/** The numbers of one scrape that the job's signals need. */
export function pointOf(expo: PromExposition, signals: MetricSignals, quantile: number, at: number): ScrapePoint {
  const { samples } = expo;
  const clients = signals.clients === null ? null : sumOf(samples, signals.clients);
  // OpenMetrics names a counter family `x` and its sample `x_total`: accept either spelling.
  const errorsTotal =
    signals.errors === null ? null : (sumOf(samples, signals.errors) ?? (signals.errors.endsWith("_total") ? null : sumOf(samples, `${signals.errors}_total`)));
  let buckets: [number, number][] | null = null;
  let summaryValue: number | null = null;
  if (signals.latency !== null) {
    const byLe = new Map<number, number>();
    let best: { distance: number; value: number } | null = null;
    for (const s of samples) {
      if (s.name === `${signals.latency}_bucket` && s.labels["le"] !== undefined) {
        const le = s.labels["le"] === "+Inf" ? Infinity : Number(s.labels["le"]);
        if (!Number.isNaN(le)) byLe.set(le, (byLe.get(le) ?? 0) + s.value);
      } else if (s.name === signals.latency && s.labels["quantile"] !== undefined && Number.isFinite(s.value)) {
        const distance = Math.abs(Number(s.labels["quantile"]) - quantile);
        if (best === null || distance < best.distance || (distance === best.distance && s.value > best.value)) best = { distance, value: s.value };
      }
    }
    if (byLe.size > 0) buckets = [...byLe.entries()].sort(([a], [b]) => a - b);
    else if (best !== null) summaryValue = best.value;
  }
  return { at, clients, errorsTotal, buckets, summaryValue };
}

/** The signals of a window of scrapes (oldest first). */
export function signalsOf(window: readonly ScrapePoint[], quantile: number): TaskSignals {
  const last = window.at(-1);
  if (!last) return { clients: null, errorsPerSec: null, latencySeconds: null };
  const errorPoints = window.flatMap((p) => (p.errorsTotal === null ? [] : [{ at: p.at, value: p.errorsTotal }]));
  let latencySeconds: number | null = last.summaryValue;
  if (last.buckets !== null) {
    const first = window.find((p) => p.buckets !== null);
    // Over the window's increase; with one scrape only, over everything observed so far.
    latencySeconds =
      first && first !== last && first.buckets
        ? histogramQuantile(quantile, bucketIncrease(first.buckets, last.buckets))
        : histogramQuantile(quantile, last.buckets);
  }
  return { clients: last.clients, errorsPerSec: counterRate(errorPoints), latencySeconds };
}
