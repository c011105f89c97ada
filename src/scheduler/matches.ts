// "Does this host match the job's constraints?": the host's own traits (OS, kernel, labels, runtime,
// capabilities) against the job's, whatever its load, draining or liveness. Every-host jobs run one
// task on each host this says yes to. Answered by the placement filters themselves (a plan on an empty,
// schedulable one-host copy, with no resources asked), so it cannot disagree with placement.

import type { JobSpec } from "../model/index.ts";
import { ClusterIndex } from "./cluster.ts";
import type { SchedHost } from "./types.ts";

/** True when `host` passes every static filter of `spec` (its load and state are not looked at). */
export function matchesConstraints(spec: JobSpec, host: SchedHost): boolean {
  const alone = new ClusterIndex([{ ...host, schedulable: true }], []);
  const plan = alone.plan({ spec: { ...spec, resources: { ...spec.resources, cpu: 0, memoryMiB: 0, diskMiB: 0 }, antiAffinity: null, spread: "none" }, indexes: [0] });
  return plan.unplaced.length === 0;
}
