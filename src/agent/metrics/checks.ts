// The job's metric health checks, judged by the agent on every scrape of a task (where the samples
// are: no round trip to the server before a verdict). The reading of each check is the signal over
// the last scrape interval (signals.ts over the window's last two scrapes: a counter's increase since
// the previous scrape, a histogram's quantile of what it observed since); a failed scrape is no
// reading, never a breach. The judging is model/metric-condition.ts, the one module that the
// rollout safety checks use too; the action is the server's (routes/task-metrics.ts, then the
// reconciler within the job's disruption budget).
import { initialCondition, stepCondition } from "../../model/index.ts";
import type { ConditionState, MetricCheckVerdict, MetricHealthCheck } from "../../model/index.ts";
import type { TaskSignals } from "./signals.ts";

/** One check's state between scrapes, and its latest verdict. */
export interface CheckRun {
  state: ConditionState;
  verdict: MetricCheckVerdict;
}

/** The value a check reads from one scrape's signals (null: none). */
export function readingOf(check: Pick<MetricHealthCheck, "signal">, signals: TaskSignals | null): number | null {
  if (signals === null) return null;
  switch (check.signal) {
    case "clients":
      return signals.clients;
    case "errors":
      return signals.errorsPerSec;
    case "latency":
      return signals.latencySeconds;
  }
}

/** The runs after one more scrape at `at` (`signals` null: the scrape failed), and whether any
 * check started or stopped firing (the agent then reports at once). Inside a check's grace after
 * `startedAt` it is not judged, nor for as long again after it stopped firing. */
export function stepChecks(checks: readonly MetricHealthCheck[], runs: readonly CheckRun[], signals: TaskSignals | null, at: number, startedAt: number): { runs: CheckRun[]; changed: boolean } {
  let changed = false;
  const out = checks.map((c, i): CheckRun => {
    const before = runs[i] ?? { state: initialCondition(), verdict: { check: i, state: "unknown", value: null, since: null, at: null } };
    if (at < startedAt + c.graceMs) return before;
    const value = readingOf(c, signals);
    // After a firing check clears, the task gets its grace again before the check is judged anew.
    const { state, verdict } = stepCondition({ when: c.when, threshold: c.threshold, forMs: c.forMs, rearmMs: c.graceMs }, before.state, { at, value });
    const next: MetricCheckVerdict =
      verdict.kind === "pending" ? { check: i, state: "pending", value: verdict.value, since: verdict.since, at }
        : verdict.kind === "firing" ? { check: i, state: "firing", value: verdict.value, since: verdict.since, at: verdict.at }
          : { check: i, state: verdict.kind, value, since: null, at };
    if ((next.state === "firing") !== (before.verdict.state === "firing")) changed = true;
    return { state, verdict: next };
  });
  return { runs: out, changed };
}
