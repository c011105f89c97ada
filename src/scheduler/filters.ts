// Filter plugins: each says whether one host can take the current task, returning null (pass) or the
// reason it cannot. They run in the order below; the first failure is the reason counted for the host.
//
// Static filters read only the host and the job's constraints, so their verdict is cached per
// (host, constraint key) across jobs (pools.ts). Dynamic ones read load that changes with every
// placement and always run.

import type { RejectReason } from "./types.ts";
import type { PlanContext } from "./context.ts";
import { CORES, DISK, MEM, RACK, STRIDE, UCPU, UDISK, UMEM } from "./state.ts";
import { satisfies } from "./versions.ts";

/** One filter: null when the host passes, else why it cannot take the task. */
export interface FilterPlugin {
  name: string;
  /** "static" verdicts depend on the host and the job's constraints only and may be cached. */
  stage: "static" | "dynamic";
  filter(ctx: PlanContext, slot: number): RejectReason | null;
}

/** Slack for fractional CPU sums such as 0.1 + 0.2. */
const EPS = 1e-9;

/** Draining, down or suspect hosts keep their tasks but take no new ones. */
export const schedulableFilter: FilterPlugin = {
  name: "schedulable",
  stage: "static",
  filter: (ctx, slot) => (ctx.st.schedulable[slot] === 1 ? null : "not-schedulable"),
};

/** OS id must match; a constraint version "12" accepts host versions "12" and "12.x". */
export const osFilter: FilterPlugin = {
  name: "os",
  stage: "static",
  filter(ctx, slot) {
    const want = ctx.pool.constraints.os;
    if (want === null) return null;
    const os = ctx.st.hosts[slot]!.os;
    if (os.id !== want.id) return "os";
    if (want.version === null || os.version === want.version || os.version.startsWith(`${want.version}.`)) return null;
    return "os";
  },
};

/** Kernel version within the job's range, compared numerically on dotted components. */
export const kernelFilter: FilterPlugin = {
  name: "kernel",
  stage: "static",
  filter(ctx, slot) {
    const c = ctx.pool.constraints;
    if (c.kernel === null && c.kernelError === null) return null;
    if (c.kernel === null) return "kernel";
    const v = ctx.st.kernels[slot] ?? null;
    return v !== null && satisfies(v, c.kernel) ? null : "kernel";
  },
};

/** Every label the job asks for, with the same value. */
export const labelsFilter: FilterPlugin = {
  name: "labels",
  stage: "static",
  filter(ctx, slot) {
    const labels = ctx.st.hosts[slot]!.labels;
    for (const [k, v] of ctx.pool.constraints.labels) if (labels[k] !== v) return "labels";
    return null;
  },
};

/** A sandboxed job needs a host with an OCI runtime; the agent would refuse it anyway, so say why here. */
export const sandboxFilter: FilterPlugin = {
  name: "sandbox",
  stage: "static",
  filter: (ctx, slot) => (ctx.pool.constraints.sandbox && ctx.st.hosts[slot]!.sandbox === false ? "no-sandbox" : null),
};

/** Capabilities the job asks for must all be allowed by the host's agent (`--allow-capabilities`),
 * which would refuse the task at start otherwise: say so at plan time. */
export const capabilitiesFilter: FilterPlugin = {
  name: "capabilities",
  stage: "static",
  filter(ctx, slot) {
    const asked = ctx.pool.constraints.capabilities;
    if (asked.length === 0) return null;
    const allowed = ctx.st.hosts[slot]!.capabilities ?? [];
    return asked.every((c) => allowed.includes(c)) ? null : "capabilities";
  },
};

/** An isolation "none" job needs a host whose agent runs unsandboxed tasks (`tiffin agent
 * --allow-unsandboxed`); the others refuse it at start, so say why here. */
export const unsandboxedFilter: FilterPlugin = {
  name: "unsandboxed",
  stage: "static",
  filter: (ctx, slot) => (ctx.pool.constraints.unsandboxed && ctx.st.hosts[slot]!.unsandboxed === false ? "unsandboxed-refused" : null),
};

/** Hosts the task was moved away from. */
export const avoidFilter: FilterPlugin = {
  name: "avoid",
  stage: "dynamic",
  filter: (ctx, slot) => (ctx.avoid !== null && ctx.avoid.has(slot) ? "avoided" : null),
};

/** At most one task with the job's tag per rack, across all jobs (placements earlier in the plan count). */
export const antiAffinityFilter: FilterPlugin = {
  name: "anti-affinity",
  stage: "dynamic",
  filter(ctx, slot) {
    if (ctx.tagRacks === null) return null;
    return (ctx.tagRacks.get(ctx.st.anc[slot * 4 + RACK]!) ?? 0) > 0 ? "anti-affinity" : null;
  },
};

/** Free CPU cores. */
export const cpuFilter: FilterPlugin = {
  name: "cpu",
  stage: "dynamic",
  filter: (ctx, slot) => (ctx.st.hv[slot * STRIDE + UCPU]! + ctx.cpu <= ctx.st.hv[slot * STRIDE + CORES]! + EPS ? null : "cpu"),
};

/** Free memory. */
export const memoryFilter: FilterPlugin = {
  name: "memory",
  stage: "dynamic",
  filter: (ctx, slot) => (ctx.st.hv[slot * STRIDE + UMEM]! + ctx.memoryMiB <= ctx.st.hv[slot * STRIDE + MEM]! + EPS ? null : "memory"),
};

/** Free disk. */
export const diskFilter: FilterPlugin = {
  name: "disk",
  stage: "dynamic",
  filter: (ctx, slot) => (ctx.st.hv[slot * STRIDE + UDISK]! + ctx.diskMiB <= ctx.st.hv[slot * STRIDE + DISK]! + EPS ? null : "disk"),
};

/**
 * The static filters, in order. Schedulable comes first: a draining host is "not-schedulable"
 * whatever else is true of it, which is the reason an operator needs to see.
 */
export const STATIC_FILTERS: readonly FilterPlugin[] = [schedulableFilter, osFilter, kernelFilter, labelsFilter, sandboxFilter, capabilitiesFilter, unsandboxedFilter];

/**
 * The dynamic filters, in order: the task's own avoid list, then anti-affinity (a rack-wide fact,
 * checked before per-host load because moving load around cannot cure it), then resources.
 */
export const DYNAMIC_FILTERS: readonly FilterPlugin[] = [avoidFilter, antiAffinityFilter, cpuFilter, memoryFilter, diskFilter];

/** Every filter by name: the registry the pipeline is built from. */
export const FILTERS: ReadonlyMap<string, FilterPlugin> = new Map([...STATIC_FILTERS, ...DYNAMIC_FILTERS].map((f) => [f.name, f]));
