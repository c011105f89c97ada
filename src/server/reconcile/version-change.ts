// Which version changes touch a running task. A new version whose spec differs from a task's only in
// fields the server alone reads (how many replicas, how to restart, what to do in maintenance, how to adapt resources, how to roll out) keeps
// the task's attempt: scaling 3 -> 4 starts one task and leaves the three running ones alone, as
// Nomad's in-place updates and a Kubernetes ReplicaSet's scale do.

import { diffJson } from "../../model/index.ts";
import type { JobSpec } from "../../model/index.ts";

/** Top-level spec fields a running attempt never sees: a change of these alone replaces nothing.
 * `metricChecks` are judged by the agent from the assignment's spec, which follows the attempt's
 * version: tuning a threshold takes effect on the running tasks without restarting them. */
export const InPlaceFields: ReadonlySet<string> = new Set(["replicas", "restart", "maintenance", "disruption", "metricChecks", "adapt", "rollout"]);

/** The top-level fields whose change makes a task of spec `from` need a new attempt to run `to`,
 * sorted; empty when the task can keep its attempt (same spec, or only InPlaceFields changed). */
export function replaceCauses(from: JobSpec, to: JobSpec): string[] {
  const fields = new Set<string>();
  for (const line of diffJson(from, to)) {
    const top = /^[A-Za-z_$][A-Za-z0-9_$]*/.exec(line.path)?.[0] ?? line.path;
    if (!InPlaceFields.has(top)) fields.add(top === "" ? "(spec)" : top);
  }
  return [...fields].sort();
}
