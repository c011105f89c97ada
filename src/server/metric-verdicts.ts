// From an agent's metric check verdicts to the attempt's `metricAction`: a check that fires on a live
// attempt starts a "waiting" action (the reconciler acts on it within the job's disruption budget,
// reconcile/metric-actions.ts); a waiting action whose checks all stopped firing before the budget let
// it act is dropped (the breach ended: nothing to do). One in progress ("acting") is left alone. Pure.
import { describeCondition, isTerminal } from "../model/index.ts";
import type { Attempt, JobSpec, MetricCheckVerdict } from "../model/index.ts";

/** The attempt with its metric action updated for `verdicts`, or null when nothing changes. */
export function withMetricVerdicts(a: Attempt, spec: JobSpec, verdicts: readonly MetricCheckVerdict[]): Attempt | null {
  if (isTerminal(a.state) || a.desired !== "run") return null;
  const checks = spec.metricChecks ?? [];
  const firing = verdicts.filter((v) => v.state === "firing" && v.value !== null && checks[v.check] !== undefined);
  const cur = a.metricAction;
  if (cur?.state === "acting") return null;
  if (cur && !firing.some((v) => v.check === cur.check)) {
    const { metricAction: _dropped, ...rest } = a;
    return firing.length === 0 ? rest : null;
  }
  const v = firing[0];
  if (cur || !v) return null;
  const check = checks[v.check];
  if (!check || v.value === null) return null;
  return {
    ...a,
    metricAction: {
      check: v.check,
      condition: describeCondition(check.signal, check),
      value: v.value,
      since: v.since ?? v.at ?? 0,
      firedAt: v.at ?? 0,
      action: check.action,
      state: "waiting",
      held: null,
      actedAt: null,
    },
  };
}

/** The reason an attempt stopped for a metric check ends with: which check, with what value, when. */
export function metricEndReason(m: NonNullable<Attempt["metricAction"]>): string {
  return `metric check failed: ${m.condition} (health check ${m.check}: ${formatValue(m.value)} at ${new Date(m.firedAt).toISOString()}); ${m.action}`;
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(3);
}

/** An attempt the server stopped for a metric check ends as such: the agent reports a stop it was
 * asked for ("stopped", endCause "stop"); the typed cause is "metric", a failure like a failed health
 * check, with the check's reason. Other attempts are returned as they are. */
export function metricStopEnd(a: Attempt): Attempt {
  const m = a.metricAction;
  // A stop before the task started may come without a cause from older agents.
  if (m?.state !== "acting" || !isTerminal(a.state) || (a.endCause !== "stop" && !(a.state === "stopped" && a.endCause === undefined))) return a;
  return { ...a, state: "failed", endCause: "metric", reason: metricEndReason(m) };
}
