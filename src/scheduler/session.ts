// One plan's life: build the context, let the planner place tasks into the live state (so later
// tasks of the same plan see earlier ones in resources, spread and anti-affinity through the very
// arrays the filters read), then put everything back exactly. Resources are restored from saved
// values rather than subtracted, so a plan leaves no floating-point residue behind.

import { bookedMemoryMiB } from "../model/index.ts";
import type { PlanRequest } from "./types.ts";
import type { PlanContext } from "./context.ts";
import { planMix } from "./hash.ts";
import type { PoolRegistry } from "./pools.ts";
import { CLUSTER, DC, RACK, ROOT, STRIDE, UCPU, UDISK, UMEM } from "./state.ts";
import type { ClusterState } from "./state.ts";
import { CPU_RUNGS, MEM_RUNGS, rung } from "./summary.ts";

const LEVEL_OF = { none: ROOT, datacenter: DC, cluster: CLUSTER, rack: RACK } as const;

/** A plan in progress. */
export interface Session {
  ctx: PlanContext;
  /** The request's indexes, each once, in order. */
  indexes: number[];
  /** Undo log, six numbers per entry: slot, used cpu/mem/disk before, sign, tag id (-1 none). */
  undo: number[];
  tags: (string | null)[];
}

/** Opens a plan. Requested indexes that are placed now are lifted off their hosts for the plan's duration (a move). */
export function openPlan(st: ClusterState, pools: PoolRegistry, req: PlanRequest): Session {
  const spec = req.spec;
  const job = st.job(spec.name);
  const tag = spec.antiAffinity;
  let tagRacks: Map<number, number> | null = null;
  if (tag !== null) {
    tagRacks = st.tags.get(tag) ?? new Map<number, number>();
    st.tags.set(tag, tagRacks);
  }
  const ctx: PlanContext = {
    st,
    pool: pools.get(spec),
    jobName: spec.name,
    job,
    cpu: spec.resources.cpu,
    // What the task books on a host: its own memory and the per-task overhead (its helper).
    memoryMiB: bookedMemoryMiB(spec.resources.memoryMiB, st.taskOverheadMiB),
    diskMiB: spec.resources.diskMiB,
    cpuRung: rung(CPU_RUNGS, spec.resources.cpu),
    memRung: rung(MEM_RUNGS, bookedMemoryMiB(spec.resources.memoryMiB, st.taskOverheadMiB)),
    tag,
    tagRacks,
    level: LEVEL_OF[spec.spread],
    mix: planMix(spec.name, req.seed ?? 0),
    avoid: null,
  };
  const s: Session = { ctx, indexes: [...new Set(req.indexes)], undo: [], tags: [] };
  for (const index of s.indexes) {
    const t = job.tasks.get(index);
    if (t) change(s, t.slot, -t.cpu, -bookedMemoryMiB(t.memoryMiB, st.taskOverheadMiB), -t.diskMiB, t.antiAffinity, -1);
  }
  return s;
}

/** Sets the avoid list of the task about to be placed. */
export function setAvoid(s: Session, hostIds: string[] | undefined): void {
  if (!hostIds || hostIds.length === 0) {
    s.ctx.avoid = null;
    return;
  }
  const slots = new Set<number>();
  for (const id of hostIds) {
    const slot = s.ctx.st.slotOf.get(id);
    if (slot !== undefined) slots.add(slot);
  }
  s.ctx.avoid = slots.size > 0 ? slots : null;
}

/** Places one task of the plan on `slot`. */
export function place(s: Session, slot: number): void {
  const c = s.ctx;
  change(s, slot, c.cpu, c.memoryMiB, c.diskMiB, c.tag, 1);
}

/** Undoes every change of the plan, newest first, and drops records the plan created. */
export function closePlan(s: Session): void {
  const st = s.ctx.st;
  const u = s.undo;
  for (let i = u.length - 6; i >= 0; i -= 6) {
    const slot = u[i]!;
    st.hv[slot * STRIDE + UCPU] = u[i + 1]!;
    st.hv[slot * STRIDE + UMEM] = u[i + 2]!;
    st.hv[slot * STRIDE + UDISK] = u[i + 3]!;
    const tagId = u[i + 5]!;
    st.count(slot, s.ctx.job, tagId < 0 ? null : s.tags[tagId]!, u[i + 4]! > 0 ? -1 : 1);
  }
  if (s.ctx.job.tasks.size === 0 && s.ctx.job.counts.size === 0) st.jobs.delete(s.ctx.jobName);
  if (s.ctx.tag !== null && s.ctx.tagRacks?.size === 0) st.tags.delete(s.ctx.tag);
}

function change(s: Session, slot: number, cpu: number, mem: number, disk: number, tag: string | null, sign: 1 | -1): void {
  const st = s.ctx.st;
  let tagId = -1;
  if (tag !== null) {
    tagId = s.tags.indexOf(tag);
    if (tagId < 0) tagId = s.tags.push(tag) - 1;
  }
  s.undo.push(slot, st.hv[slot * STRIDE + UCPU]!, st.hv[slot * STRIDE + UMEM]!, st.hv[slot * STRIDE + UDISK]!, sign, tagId);
  st.occupy(slot, s.ctx.job, cpu, mem, disk, tag, sign);
}
