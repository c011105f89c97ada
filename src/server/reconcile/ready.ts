// Whether an attempt serves: the one test every lifecycle and drain decision shares.

import { isTerminal } from "../../model/index.ts";
import type { Attempt, JobSpec } from "../../model/index.ts";

/** True when the attempt serves: wanted, alive, and running (healthy, if the job has a health check). */
export function isReady(a: Attempt | null | undefined, spec: JobSpec): boolean {
  if (!a || a.desired !== "run" || isTerminal(a.state)) return false;
  return spec.health ? a.state === "healthy" : a.state === "running" || a.state === "healthy";
}
