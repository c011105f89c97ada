// The judge's place in a rollout's bake (issue 14): gathers a phase's evidence (each task's metric
// series from the server's TaskMetricsHistory, crash counts and exposure), calls the pure judgePhase
// (model/judge) and turns its verdicts into the Rollout record's CheckResults, figures included.
// Pure: the series come through `seriesOf`, so tables can hand over made-up points.
//
// Samples: the server's per-task series (TaskMetricsHistory.seriesOf, through `seriesOf`), not raw
// agent scrapes: they are already there, cover every task the server hears of (new and old alike),
// and need no new agent protocol. The cost is their resolution, one point per task per history bucket
// (60 s by default): with minSamples 10, a phase of one new task needs a ~10 min bake, while pooled old
// tasks reach it sooner. Counter, gauge and histogram comparisons read the raw readings agents report
// for the named metrics of the checks (`namedOf`, ../rollout-samples.ts: one per metrics report), and
// efficiency pairs them with the attempt's cgroup CPU seconds (`cpuOf`); without them, inconclusive.

import { domainKey, RolloutDomains } from "../../model/index.ts";
import type { CheckResult, FailureDomain, Rollout, RolloutDomain, TaskMetricsPoint, Verdict } from "../../model/index.ts";
import { judgePhase, overallVerdict } from "../../model/judge/index.ts";
import { joinUsage, metricLabel, namedMetricsOf } from "../../model/judge/index.ts";
import type { CheckVerdict, CustomCheck, RawMetricPoint, RolloutChecks, TaskSeries, TaskUsage } from "../../model/judge/index.ts";
import type { CustomCheckVerdict, ExecTask } from "../rollout-checks/custom-check.ts";
import type { StepTask } from "./rollout-step.ts";
import { formatDuration } from "../../spec/api.ts";

/** What the judge reads of the world, beyond the controller's StepTasks. */
export interface JudgeReader {
  /** A task's metric points, oldest first (TaskMetricsHistory.seriesOf). */
  seriesOf(index: number): readonly TaskMetricsPoint[];
  /** A task's failure domain, or null when unknown (no host). */
  domainOf(index: number): FailureDomain | null;
  /** The custom checks' verdicts of the bake `key` (started on the first ask; null: still running). */
  customOf?(key: string, checks: readonly CustomCheck[], task: ExecTask | null): readonly (CustomCheckVerdict | null)[];
  /** A task's raw readings of a named metric (counters, gauges, histogram buckets), oldest first, as its
   * agent reported them for the rollout's checks (../rollout-samples.ts); absent: none. */
  namedOf?(index: number, name: string): readonly RawMetricPoint[];
  /** A task's cumulative cgroup CPU seconds, oldest first (the efficiency check); absent: none. */
  cpuOf?(index: number): readonly { at: number; cpuSeconds: number }[];
  /** Since when this server holds every task's named readings and CPU (when it began leading: they
   * live in the leader's memory); absent: since before any bake. */
  samplesSince?: number;
  /** The named metrics the old tasks' agents report (those their own versions' checks name: agents
   * scrape what an attempt's spec names); absent: every name. */
  oldNamed?: ReadonlySet<string>;
}

/** A custom check's verdict (null: still running) as a CheckResult: "custom GET url", "custom argv". */
export function customResultOf(c: CustomCheck, v: CustomCheckVerdict | null): CheckResult {
  const target = c.kind === "http" ? `GET ${c.url}` : c.run.join(" ");
  if (v === null) return { name: `custom ${target}`, verdict: "inconclusive", figures: {}, detail: "running" };
  const figures: Record<string, number> = { durationMs: v.durationMs, ...(v.status !== null ? { status: v.status } : {}), ...(v.exitCode !== null ? { exitCode: v.exitCode } : {}) };
  // A command's output (an HTTP body's start) with the verdict: what the user reads first when it failed.
  const said = v.output.trim();
  return { name: `custom ${target}`, verdict: v.verdict, figures, detail: said === "" ? v.summary : `${v.summary}: ${said.slice(0, CustomDetailMax)}` };
}

/** How far apart a CPU reading and a request counter reading may be to make one efficiency point. */
export const UsageSkewMs = 5000;

/** The most of a custom check's output kept in its CheckResult's detail (the verdict keeps OUTPUT_MAX). */
export const CustomDetailMax = 500;

/** The judge's verdict on a phase's bake so far: overall, and each check as the Rollout record keeps it. */
export interface PhaseJudgement {
  overall: Verdict;
  checks: CheckResult[];
  /** The bake's readings began to be held again at this time (a leader change after the bake began):
   * the phase's deadline moves by the time lost (rollout-step.ts). */
  recollectFrom?: number;
}

/** Finite numbers of `v`, flattened with dotted keys ("new.mean"), for CheckResult.figures. */
export function figuresOf(v: Record<string, unknown>, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === "number" && Number.isFinite(x)) out[prefix + k] = x;
    else if (typeof x === "object" && x !== null && !Array.isArray(x)) Object.assign(out, figuresOf(x as Record<string, unknown>, `${prefix}${k}.`));
  }
  return out;
}

/** The names of the comparisons `checks` asks for, as their CheckResults are named. */
export function comparisonNames(checks: RolloutChecks): string[] {
  return [...(checks.crashRate ? ["crash-rate"] : []), ...checks.metrics.map((m) => `metric ${metricLabel(m.metric)}`), ...(checks.efficiency ? ["efficiency"] : [])];
}

/** A judge's verdict as a CheckResult: "metric errors", "crash-rate", "efficiency". */
export function checkResultOf(v: CheckVerdict): CheckResult {
  const { check, verdict, summary, ...rest } = v as CheckVerdict & { summary?: string };
  const name = v.check === "metric" ? `metric ${v.metric}` : check;
  return { name, verdict, figures: figuresOf(rest), detail: summary ?? "" };
}

/**
 * The judge's verdict on the current phase of `r` at `now`, or null when it has nothing to judge yet
 * (no checks in the policy, the phase's tasks not all serving so the bake has not begun, or no old
 * task left to compare with, as in a last phase "all"). Health
 * stays the controller's own check (phaseChecks), so it is not judged twice.
 */
export function judgeBake(r: Rollout, allChecks: RolloutChecks | undefined, tasks: readonly StepTask[], reached: ReadonlySet<number>, healthyAt: number | null, now: number, read: JudgeReader): PhaseJudgement | null {
  if (allChecks === undefined || healthyAt === null) return null;
  // A version that adds a named comparison: its old tasks never reported that metric (their agents
  // scrape what their own version names), so there is nothing to compare with. Skipped, with why.
  const unreported = (name: string): boolean => read.oldNamed !== undefined && !read.oldNamed.has(name);
  const notReported = [
    ...allChecks.metrics.filter((m) => m.metric.kind !== "signal" && unreported(m.metric.name)).map((m) => ({ name: `metric ${metricLabel(m.metric)}`, metric: m.metric.kind === "signal" ? "" : m.metric.name })),
    ...(allChecks.efficiency && unreported(allChecks.efficiency.requests) ? [{ name: "efficiency", metric: allChecks.efficiency.requests }] : []),
  ];
  const checks: RolloutChecks = notReported.length === 0 ? allChecks : {
    ...allChecks,
    metrics: allChecks.metrics.filter((m) => m.metric.kind === "signal" || !unreported(m.metric.name)),
    efficiency: allChecks.efficiency && unreported(allChecks.efficiency.requests) ? null : allChecks.efficiency,
  };
  const unreportedResults = notReported.map((x): CheckResult => ({ name: x.name, verdict: "inconclusive", figures: { skipped: 1 }, detail: `skipped: the old tasks' version does not report ${x.metric} (its rollout checks do not name it, and agents scrape what a task's own version names): nothing to compare with; judged by the other checks` }));
  const spec = r.phases[r.phase]?.spec;
  const level: RolloutDomain | null = typeof spec === "string" && (RolloutDomains as readonly string[]).includes(spec) ? (spec as RolloutDomain) : null;
  const keyOf = (i: number): string | null => {
    const d = read.domainOf(i);
    return level === null || d === null ? null : domainKey(d, level);
  };
  const mine = tasks.filter((t) => reached.has(t.index) && t.isNew);
  const olds = tasks.filter((t) => !reached.has(t.index) && !t.isNew);
  // The phase's domains: old tasks in one of them are compared ("in"), the others are not.
  const custom = checks.custom.length === 0 || !read.customOf ? [] : (() => {
    // A command runs in one of the phase's new tasks: the lowest index serving now (the bake began, so all do).
    const inTask = mine.filter((t) => t.ready).sort((a, b) => a.index - b.index)[0];
    const got = read.customOf(`${r.job}/${r.version}/${r.phase}/${healthyAt}`, checks.custom, inTask ? { job: r.job, index: inTask.index } : null);
    return checks.custom.map((c, i) => customResultOf(c, got[i] ?? null));
  })();
  // No old version at all (the job's first rollout): the comparisons are shown skipped, with why, and
  // the absolute checks (health, restarts, custom) decide; a skipped comparison never holds the phase.
  if (olds.length === 0 && r.from === null) {
    const skipped = comparisonNames(allChecks).map((name): CheckResult => ({ name, verdict: "inconclusive", figures: { skipped: 1 }, detail: `skipped: no old version to compare with (the job's first rollout of ${name.replace(/^metric /, "")}): judged by health, restarts and custom checks` }));
    return { overall: overallVerdict(custom), checks: [...skipped, ...custom] };
  }
  // No old task left (the last phase): nothing to compare with; the earlier phases were compared.
  if (olds.length === 0) return custom.length === 0 ? null : { overall: overallVerdict(custom), checks: custom };
  const domains = new Set(mine.map((t) => keyOf(t.index)));
  // A domain phase takes whole domains ("cluster": every task of the clusters reached), so no old task
  // may be left in them: then new is compared with the old tasks of the other domains, as stated.
  const widened = level !== null && !olds.some((t) => domains.has(keyOf(t.index)));
  const names = namedMetricsOf(checks);
  const domainOfSide = (t: StepTask, side: "new" | "old"): string | null => (side === "new" || level === null || widened ? null : domains.has(keyOf(t.index)) ? "in" : "out");
  const series = (t: StepTask, side: "new" | "old"): TaskSeries => ({
    index: t.index,
    domain: domainOfSide(t, side),
    points: read.seriesOf(t.index),
    ...(names.length > 0 && read.namedOf ? { named: Object.fromEntries(names.map((n) => [n, read.namedOf?.(t.index, n) ?? []])) } : {}),
  });
  // Efficiency: each CPU reading paired with the request counter's reading nearest in time (within
  // 5 s: agents report readings and CPU samples on their own clocks' intervals).
  const eff = checks.efficiency;
  const usage = (t: StepTask, side: "new" | "old"): TaskUsage => ({
    domain: domainOfSide(t, side),
    points: eff && read.cpuOf && read.namedOf ? joinUsage(read.cpuOf(t.index), (read.namedOf(t.index, eff.requests)).map((p) => ({ at: p.at, value: p.value ?? null })), UsageSkewMs) : [],
  });
  const bakeMs = Math.max(0, now - healthyAt);
  // A leader change during the bake: the readings before it were in the former leader's memory. The
  // named comparisons judge what this server holds, from a whole bake after it began leading: until
  // then they say so and stay inconclusive, never passing (or failing) on a gap.
  const held = read.samplesSince ?? Number.NEGATIVE_INFINITY;
  const recollecting = held > healthyAt;
  const from = recollecting ? held : healthyAt;
  const judged = judgePhase(
    { ...checks, health: false, custom: [] },
    {
      domain: level === null || widened ? null : "in",
      since: from,
      health: [],
      crashes: {
        new: { crashes: mine.reduce((n, t) => n + t.newEnds, 0), exposureMs: mine.length * bakeMs },
        old: { crashes: olds.reduce((n, t) => n + t.oldEnds, 0), exposureMs: olds.length * bakeMs },
      },
      series: { new: mine.map((t) => series(t, "new")), old: olds.map((t) => series(t, "old")) },
      usage: { new: mine.map((t) => usage(t, "new")), old: olds.map((t) => usage(t, "old")) },
    },
  );
  const why = `no old task left in the phase's ${level ?? ""}: compared with old tasks of other ${level ?? ""}s`;
  const results = judged.checks.map(checkResultOf).map((c) => (widened && c.name !== "crash-rate" ? { ...c, figures: { ...c.figures, widened: 1 }, detail: `${c.detail} (${why})` } : c));
  const waitMs = recollecting ? from + r.policy.bakeMs - now : 0;
  const gathered = results.map((c): CheckResult => {
    if (c.name === "crash-rate" || waitMs <= 0) return c; // crashes are attempt records in the store: nothing lost
    const got = Math.max(0, now - from);
    return { name: c.name, verdict: "inconclusive", figures: { ...c.figures, recollectFrom: from, recollectedMs: got }, detail: `re-collecting since the leader change at ${new Date(from).toISOString()} (${formatDuration(got)} of the ${formatDuration(r.policy.bakeMs)} bake): the readings before it were in the former leader's memory` };
  });
  const all = [...gathered, ...custom];
  return { overall: overallVerdict(all), checks: [...all, ...unreportedResults], ...(recollecting ? { recollectFrom: from } : {}) };
}
