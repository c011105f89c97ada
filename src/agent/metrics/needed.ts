// Which sample names a scrape must keep: those the task's signals (signals.ts `pointOf`) and its
// rollout checks' named metrics (named.ts `namedReadingsOf`) read. Each reads a name, its `_total`
// counter spelling or its `_bucket` histogram samples, nothing else, so the parser (prom-text.ts
// `keep`) may skip every other sample's objects: what is stored and judged is unchanged
// (needed.test.ts compares both readings on full and kept expositions).
import type { MetricSignals } from "../../model/index.ts";

/** The sample names `pointOf(signals)` and `namedReadingsOf(named)` read. */
export function samplesNeeded(signals: MetricSignals, named: readonly string[] = []): Set<string> {
  const out = new Set<string>();
  for (const base of [signals.clients, signals.errors, signals.latency, ...named]) {
    if (base === null) continue;
    out.add(base);
    out.add(`${base}_total`);
    out.add(`${base}_bucket`);
  }
  return out;
}
