// Attempt states and end causes as plain constants, apart from the schemas in task.ts: the helper
// needs them at run time and must not load zod for them (bench/RESULTS.md, "Helper validation").

/** The states of an attempt. */
export const AttemptStates = ["pending", "starting", "running", "healthy", "unhealthy", "exited", "stopped", "failed", "lost"] as const;
/** One attempt state. */
export type AttemptState = (typeof AttemptStates)[number];

/**
 * Why an attempt ended, typed, so decisions never read the free-text `reason`: exit (the process
 * ended by itself), start (it could not start), health (its health check's action stopped it), oom
 * (killed at its memory limit), disk (over its disk limit), fence (its helper lost the agent), stop
 * (the agent or server stopped it), helper (its helper was stopped), lost (its host went down), metric
 * (the server stopped it for a metric health check: the attempt's `metricAction` says which, with what value).
 */
export const AttemptEndCauses = ["exit", "start", "health", "oom", "disk", "fence", "stop", "helper", "lost", "metric"] as const;
/** One end cause. */
export type AttemptEndCause = (typeof AttemptEndCauses)[number];

/** True when the attempt has ended and will not change again. */
export function isTerminal(state: AttemptState): boolean {
  return state === "exited" || state === "stopped" || state === "failed" || state === "lost";
}
