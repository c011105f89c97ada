// One call that judges a phase's bake with every pure check its compiled `RolloutChecks` names, so
// the controller's wiring is: gather the inputs, call judgePhase, add the custom checks' verdicts
// (server/rollout-checks), and act on `overall`.
import { compareSamples } from "./compare.ts";
import { compareCrashRates } from "./crash-rate.ts";
import type { CrashExposure, CrashRateVerdict } from "./crash-rate.ts";
import { compareEfficiency } from "./efficiency.ts";
import type { UsagePoint } from "./efficiency.ts";
import { judgeHealth } from "./health.ts";
import type { HealthVerdict, NewTaskHealth } from "./health.ts";
import { metricLabel, pools } from "./samples.ts";
import type { TaskSeries } from "./samples.ts";
import type { RolloutChecks } from "./checks-spec.ts";
import type { ComparisonVerdict, Verdict } from "./verdict.ts";

/** What a phase's bake gives the judge. */
export interface PhaseEvidence {
  /** The phase's failure domain (rack, cluster...), or null for a phase by count or percentage. */
  domain: string | null;
  /** When the bake began (epoch ms): samples before it are not judged. */
  since: number;
  health: readonly NewTaskHealth[];
  crashes: { new: CrashExposure; old: CrashExposure };
  /** Metric series of the phase's new tasks and of the old tasks (any domain: `pools` keeps the phase's). */
  series: { new: readonly TaskSeries[]; old: readonly TaskSeries[] };
  /** Each task's usage readings (cgroup CPU, the efficiency check's request counter), new and old (any domain, as `series`). */
  usage: { new: readonly TaskUsage[]; old: readonly TaskUsage[] };
}

/** One task's usage readings and its failure domain at the phase's level. */
export interface TaskUsage {
  domain: string | null;
  points: readonly UsagePoint[];
}

/** One check's verdict, named as status shows it. */
export type CheckVerdict =
  | ({ check: "health" } & HealthVerdict)
  | ({ check: "crash-rate" } & CrashRateVerdict)
  | ({ check: "metric"; metric: string } & ComparisonVerdict)
  | ({ check: "efficiency"; perRequest: { new: number | null; old: number | null } } & ComparisonVerdict);

/** Fail when any check fails; pass when every check passes; else inconclusive. No checks: pass. */
export function overallVerdict(verdicts: readonly { verdict: Verdict }[]): Verdict {
  if (verdicts.some((v) => v.verdict === "fail")) return "fail";
  return verdicts.every((v) => v.verdict === "pass") ? "pass" : "inconclusive";
}

/** Every pure check of `checks` on a phase's evidence, and their overall verdict. */
export function judgePhase(checks: RolloutChecks, e: PhaseEvidence): { overall: Verdict; checks: CheckVerdict[] } {
  const out: CheckVerdict[] = [];
  if (checks.health) out.push({ check: "health", ...judgeHealth(e.health) });
  if (checks.crashRate) out.push({ check: "crash-rate", ...compareCrashRates(e.crashes.new, e.crashes.old, checks.crashRate) });
  // Only the bake is judged: points before `since` are dropped, so every interval lies inside it.
  for (const m of checks.metrics) {
    const label = metricLabel(m.metric);
    const p = pools(m.metric, e.series.new, e.series.old, e.domain, e.since);
    out.push({ check: "metric", metric: label, ...compareSamples(p.new, p.old, { ...m, label }) });
  }
  if (checks.efficiency) {
    const inBake = (t: TaskUsage): UsagePoint[] => t.points.filter((p) => p.at >= e.since);
    const old = e.usage.old.filter((t) => e.domain === null || t.domain === e.domain);
    out.push({ check: "efficiency", ...compareEfficiency(e.usage.new.map(inBake), old.map(inBake), checks.efficiency) });
  }
  return { overall: overallVerdict(out), checks: out };
}
