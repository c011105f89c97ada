// The readings of named metrics a job's rollout checks compare (counters, gauges, histogram buckets,
// the efficiency check's request counter): taken from each scrape the agent makes anyway, summed over
// label sets as the signals are, and reported raw with the summaries; the server's judge turns them
// into rates and quantiles (model/metric-condition.ts), new tasks against old. Pure.
import type { NamedReading } from "../../model/index.ts";
import type { PromExposition } from "./prom-text.ts";

/** The readings of `names` in one scrape at `at`: a name with `_bucket` samples is a histogram (its
 * buckets by `le`, +Inf as null), else the sum of its samples (a counter also as `NAME_total`), else null. */
export function namedReadingsOf(expo: PromExposition, names: readonly string[], at: number): NamedReading[] {
  if (names.length === 0) return [];
  const wanted = new Set(names);
  const sums = new Map<string, number>();
  const buckets = new Map<string, Map<number, number>>();
  for (const s of expo.samples) {
    if (!Number.isFinite(s.value)) continue;
    if (wanted.has(s.name)) sums.set(s.name, (sums.get(s.name) ?? 0) + s.value);
    // OpenMetrics names a counter family `x` and its sample `x_total`: either spelling reads it.
    if (s.name.endsWith("_total") && wanted.has(s.name.slice(0, -6))) sums.set(`${s.name.slice(0, -6)}\0total`, (sums.get(`${s.name.slice(0, -6)}\0total`) ?? 0) + s.value);
    else if (s.name.endsWith("_bucket") && s.labels["le"] !== undefined && wanted.has(s.name.slice(0, -7))) {
      const le = s.labels["le"] === "+Inf" ? Infinity : Number(s.labels["le"]);
      if (Number.isNaN(le)) continue;
      const name = s.name.slice(0, -7);
      let byLe = buckets.get(name);
      if (!byLe) buckets.set(name, (byLe = new Map()));
      byLe.set(le, (byLe.get(le) ?? 0) + s.value);
    }
  }
  return names.map((name) => {
    const b = buckets.get(name);
    if (b && b.size > 0) return { name, at, value: null, buckets: [...b.entries()].sort(([x], [y]) => x - y).slice(0, 64).map(([le, n]) => [Number.isFinite(le) ? le : null, n] as [number | null, number]) };
    return { name, at, value: sums.get(name) ?? sums.get(`${name}\0total`) ?? null, buckets: null };
  });
}
