// The rollout judge's CPU cost per comparison (issue 14, "Measured": "the judge's CPU cost per
// comparison"): compareSamples on n new against n old samples (Mann-Whitney U with ranks, tie term,
// figures), the exact test's cost at 20 vs 20, the efficiency check from raw usage series, and the
// crash-rate test. In-process, one thread; CPU time from process.cpuUsage, median of `--runs` rounds.
//
// Rerun: node bench/judge.ts [--runs 5]
import { parseArgs } from "node:util";
import { mulberry32 } from "../src/model/random.ts";
import { compareCrashRates, compareEfficiency, compareSamples } from "../src/model/judge/index.ts";
import type { UsagePoint } from "../src/model/judge/index.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
const rnd = mulberry32(14);
const around = (n: number, mean: number, ties: boolean): number[] =>
  Array.from({ length: n }, () => {
    const v = mean * (1 + 0.3 * (2 * rnd() - 1));
    return ties ? Math.round(v * 100) / 100 : v;
  });

function usage(n: number): UsagePoint[] {
  let cpu = 0;
  let req = 0;
  return Array.from({ length: n }, (_, i) => {
    req += 1000 + rnd() * 100;
    cpu += 10 * (1 + 0.1 * rnd());
    return { at: i * 10_000, cpuSeconds: cpu, requests: req };
  });
}

/** Median CPU microseconds per call of `fn` over `calls` calls. */
function measure(calls: number, fn: () => unknown): number {
  const per: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) fn();
    const used = process.cpuUsage(start);
    per.push((used.user + used.system) / calls);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)] ?? 0;
}

const o = { better: "lower" as const, tolerance: 0.05 };
const rows: [string, number][] = [];
for (const n of [100, 1000, 10_000]) {
  const xs = around(n, 1.02, false);
  const ys = around(n, 1, false);
  rows.push([`compareSamples ${n} vs ${n}, distinct values (normal approximation)`, measure(n >= 10_000 ? 5 : 50, () => compareSamples(xs, ys, o))]);
}
{
  const xs = around(1000, 1.02, true);
  const ys = around(1000, 1, true);
  rows.push(["compareSamples 1000 vs 1000, many ties (2 decimals)", measure(50, () => compareSamples(xs, ys, o))]);
}
{
  const xs = around(20, 1.02, false);
  const ys = around(20, 1, false);
  rows.push(["compareSamples 20 vs 20, exact distribution (table cached)", measure(2000, () => compareSamples(xs, ys, { ...o, minSamples: 10 }))]);
}
{
  const fresh = Array.from({ length: 10 }, () => usage(100));
  const old = Array.from({ length: 10 }, () => usage(100));
  rows.push(["compareEfficiency 10 vs 10 tasks of 100 readings (990 vs 990 samples)", measure(50, () => compareEfficiency(fresh, old, { tolerance: 0.05 }))]);
}
rows.push(["compareCrashRates 40 vs 400 crashes", measure(2000, () => compareCrashRates({ crashes: 40, exposureMs: 3_600_000 * 10 }, { crashes: 400, exposureMs: 3_600_000 * 100 }))]);

console.log(`node ${process.version}, ${runs} rounds, median CPU per call`);
console.log("| comparison | CPU per call |\n| --- | --- |");
for (const [name, us] of rows) console.log(`| ${name} | ${us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`} |`);
