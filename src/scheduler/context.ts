// What the plugins see while one plan runs: the job's request compiled once, the live state, and the
// static-constraint pool the job belongs to.

import type { JobSpec, Resources } from "../model/index.ts";
import { isolationOf } from "../model/index.ts";
import type { ClusterState, JobRec } from "./state.ts";
import { parseVersionRange } from "./versions.ts";
import type { VersionRange } from "./versions.ts";

/** A job's static constraints, compiled once per pool. */
export interface Constraints {
  os: { id: string; version: string | null } | null;
  /** The parsed kernel range; `kernelError` set instead when it does not parse (every host then fails "kernel"). */
  kernel: VersionRange | null;
  kernelError: string | null;
  labels: [string, string][];
  /** The job's tasks run sandboxed: only hosts with an OCI runtime qualify. */
  sandbox: boolean;
  /** Capabilities the job asks for: only hosts whose agent allows them all qualify. */
  capabilities: readonly string[];
  /** The job's tasks run unsandboxed (isolation "none"): only hosts whose agent allows that qualify. */
  unsandboxed: boolean;
}

/**
 * Hosts seen through one set of static constraints, shared by every job with the same constraints.
 * `verdict[slot]` caches the static filters' verdict as stamp * 16 + code (pools.ts), so one read
 * both checks that the host has not changed since and gives the code.
 */
export interface Pool {
  key: string;
  constraints: Constraints;
  verdict: Float64Array;
  /** Per domain node: 0 unknown, 1 holds a host passing the static filters, 2 holds none. Valid while `version` equals the state's version. */
  eligible: Uint8Array;
  version: number;
}

/** The state of one plan, shared by every plugin call; its Resources are one task's request. */
export interface PlanContext extends Resources {
  st: ClusterState;
  pool: Pool;
  jobName: string;
  job: JobRec;
  /** Rungs of the request in summary.ts's ladders, computed once per plan. */
  cpuRung: number;
  memRung: number;
  tag: string | null;
  /** Tasks carrying `tag` per rack node; null when the job has no tag. */
  tagRacks: Map<number, number> | null;
  /** Spread level (state.ts ROOT for "none"). */
  level: number;
  /** The plan's tie-break mix (hash.ts). */
  mix: number;
  /** Slots the current task must not use. */
  avoid: Set<number> | null;
}

/** The cache key of a spec's static constraints: jobs with equal keys share a pool. */
export function constraintKey(spec: JobSpec): string {
  const c = spec.constraints;
  const labels = Object.entries(c.labels).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const iso = isolationOf(spec);
  return JSON.stringify([c.os?.id ?? null, c.os?.version ?? null, c.kernel, labels, iso.isolation, iso.capabilities]);
}

/** Compiles a spec's static constraints. */
export function compileConstraints(spec: JobSpec): Constraints {
  const c = spec.constraints;
  let kernel: VersionRange | null = null;
  let kernelError: string | null = null;
  if (c.kernel !== null) {
    const r = parseVersionRange(c.kernel);
    if ("error" in r) kernelError = r.error;
    else kernel = r;
  }
  const iso = isolationOf(spec);
  return { os: c.os, kernel, kernelError, labels: Object.entries(c.labels), sandbox: iso.isolation === "sandbox", capabilities: iso.isolation === "sandbox" ? iso.capabilities : [], unsandboxed: iso.isolation === "none" };
}
