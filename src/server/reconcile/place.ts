// The placement phase: for each job with tasks to place, one plan from the scheduler (the whole job
// at once, seeded by its name), written with compare-and-set on the tasks and on /alloc/<host> of
// every host it books. A plan whose compares fail is dropped and recomputed on the next pass.

import { TaskOverheadMiB } from "../../model/index.ts";
import type { FailureDomain, JobSpec, Task } from "../../model/index.ts";
import { ClusterIndex } from "../../scheduler/api.ts";
import type { Plan, RejectReason } from "../../scheduler/types.ts";
import type { Mirror } from "../mirror.ts";
import { backoffMs, freshAttempt, placementNeeds } from "./decide.ts";
import type { WriteSet } from "./commit.ts";
import { isEmpty } from "./commit.ts";
import { neverFits } from "../../scheduler/never-fits.ts";
import { jobInput, schedHosts, schedulerView, seedOf } from "./inputs.ts";
import { mayRebalance, planSpreadMove } from "./rebalance.ts";
import { planPinned } from "./every-host-place.ts";
import type { HostState, JobInput, PlacementNeed } from "./types.ts";

/** A fresh scheduler index over the mirror as it is now (for dry runs, which must not touch the live one). */
export function buildIndex(m: Mirror, hosts: ReadonlyMap<string, HostState>): ClusterIndex {
  const view = schedulerView(m, hosts);
  return new ClusterIndex(view.hosts, view.tasks, { taskOverheadMiB: TaskOverheadMiB });
}

/** Plans the needs of one job and books the result in `index` (rebuild the index if the write then
 * fails). Tasks kept off every host only by their own avoid list get a second plan without it, so a
 * task that failed everywhere still runs somewhere. */
export function planJob(index: ClusterIndex, spec: JobSpec, needs: PlacementNeed[]): { plan: Plan; clearedAvoid: Set<number> } {
  const avoid: Record<number, string[]> = {};
  for (const n of needs) if (n.avoid.length > 0) avoid[n.index] = n.avoid;
  // A moving task still sits on its old (draining) host in the index: release it so it is placed, not
  // counted twice; one that finds no room goes back where it was (it keeps running there).
  const movingFrom = new Map<number, string>();
  for (const n of needs) {
    if (!n.move) continue;
    const from = index.hostOf(spec.name, n.index);
    if (from !== null) movingFrom.set(n.index, from);
    index.release(spec.name, n.index);
  }
  const seed = seedOf(spec.name);
  const plan = index.plan({ spec, indexes: needs.map((n) => n.index), avoid, seed });
  index.commit(plan, spec);
  const clearedAvoid = new Set<number>();
  const r = spec.resources;
  for (const u of plan.unplaced) {
    const from = movingFrom.get(u.index);
    if (from !== undefined) index.assign({ job: spec.name, index: u.index, hostId: from, cpu: r.cpu, memoryMiB: r.memoryMiB, diskMiB: r.diskMiB, antiAffinity: spec.antiAffinity });
  }
  const retry = plan.unplaced.filter((u) => (u.reasons.avoided ?? 0) > 0 && needs.some((n) => n.index === u.index && !n.move)).map((u) => u.index);
  if (retry.length === 0) return { plan, clearedAvoid };
  const second = index.plan({ spec, indexes: retry, seed });
  index.commit(second, spec);
  for (const p of second.placements) clearedAvoid.add(p.index);
  return {
    plan: { job: plan.job, placements: [...plan.placements, ...second.placements], unplaced: plan.unplaced.filter((u) => !clearedAvoid.has(u.index)) },
    clearedAvoid,
  };
}

/** "no host fits: memory on 3 hosts, cpu on 1 host" from a plan's reject counts. */
export function unplacedReason(reasons: Partial<Record<RejectReason, number>>, hostCount: number): string {
  if (hostCount === 0) return "no hosts registered";
  const parts = Object.entries(reasons)
    .filter(([, n]) => (n ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0) || a[0].localeCompare(b[0]))
    .map(([r, n]) => `${r} on ${n} host${n === 1 ? "" : "s"}`);
  return parts.length > 0 ? `no host fits: ${parts.join(", ")}` : "no host fits";
}

/** The writes of one job's placement: tasks onto their hosts with a fresh attempt each, reasons on the rest. */
export function placementWrites(
  m: Mirror,
  spec: JobSpec,
  version: number,
  needs: PlacementNeed[],
  result: { plan: Plan; clearedAvoid: Set<number> },
  ctx: { now: number; newId: () => string; hostCount: number; fresh?: ReadonlyMap<number, Task>; neverFits?: string | null },
): WriteSet {
  const ws: WriteSet = { tasks: [], deleteTasks: [], attempts: [], deleteAttempts: [] };
  const taskAt = (i: number): Task | null => ctx.fresh?.get(i) ?? m.tasks.get(spec.name)?.get(i)?.value ?? null;
  for (const p of result.plan.placements) {
    const t = taskAt(p.index);
    if (!t) continue;
    const moved: Task = {
      ...t,
      version,
      hostId: p.hostId,
      unplacedReason: null,
      avoidHosts: result.clearedAvoid.has(p.index) ? [] : t.avoidHosts,
      attemptId: ctx.newId(),
    };
    delete moved.neverFits;
    ws.tasks.push(moved);
    // A task that failed keeps its back-off on its new host (it grows with the task's own failure count).
    const startAfter = t.failures > 0 ? ctx.now + backoffMs(spec.restart, t.failures) : ctx.now;
    ws.attempts.push(freshAttempt(moved.attemptId ?? "", moved, p.hostId, ctx.now, startAfter));
  }
  for (const u of result.plan.unplaced) {
    const t = taskAt(u.index);
    const need = needs.find((n) => n.index === u.index);
    if (!t || need?.move) continue; // a drain move that found no room: the task keeps running where it is
    // "no host could ever fit it" beats per-host counts of the moment ("memory on 2 hosts" misleads).
    const never = ctx.neverFits ?? null;
    const reason = never ?? unplacedReason(u.reasons, ctx.hostCount);
    if (t.unplacedReason !== reason || (t.neverFits ?? false) !== (never !== null) || ctx.fresh?.has(u.index)) {
      const { neverFits: _was, ...rest } = t;
      ws.tasks.push(never === null ? { ...rest, unplacedReason: reason } : { ...rest, unplacedReason: reason, neverFits: true });
    }
  }
  return ws;
}

/** One job's placement, computed over the mirror now, or null when it has nothing to place.
 * `fresh`: tasks the decide phase made but did not write (brand-new replicas, see loop.ts); they are
 * written here, placed or with their reason, so a new task costs one write instead of two. */
export function placeJob(
  m: Mirror,
  index: ClusterIndex,
  jobName: string,
  ctx: { hosts: ReadonlyMap<string, HostState>; usage: JobInput["usage"]; now: number; fenceMs: number; heartbeatMs: number },
  fresh?: ReadonlyMap<number, Task>,
): { writes: WriteSet; plan: Plan; spec: JobSpec; moves: number[] } | null {
  const job = m.jobs.get(jobName)?.value;
  if (!job || job.removedAt !== null) return null;
  const inp = jobInput(m, job, ctx);
  if (!inp) return null;
  // Only tasks still absent from the mirror: one written meanwhile (by another server) wins.
  const pending = new Map<number, Task>();
  if (fresh && fresh.size > 0) {
    const have = new Set(inp.tasks.map((t) => t.index));
    for (const [i, t] of fresh) if (!have.has(i)) pending.set(i, t);
    inp.tasks.push(...pending.values());
  }
  const needs = placementNeeds(inp);
  if (needs.length === 0) return spreadMove(m, index, inp, ctx.hosts);
  // A batch job's tasks run their run's version (one run at a time: one version among them).
  const pinned = inp.spec.batch ? inp.tasks.find((t) => t.index === needs[0]?.index)?.version : undefined;
  const version = pinned ?? job.version;
  const spec = pinned !== undefined ? (m.spec(jobName, pinned)?.spec ?? inp.spec) : inp.spec;
  // An every-host job's tasks go to their own hosts, not where the scheduler's search would put them.
  const result = inp.everyHost ? planPinned(index, spec, needs, inp.everyHost) : planJob(index, spec, needs);
  // Only when something stayed unplaced: it costs a plan over every host.
  const never = result.plan.unplaced.length > 0 ? neverFits(spec, schedHosts(m, ctx.hosts)) : null;
  const writes = placementWrites(m, spec, version, needs, result, { now: ctx.now, newId: inp.newId, hostCount: m.hosts.size, fresh: pending, neverFits: never });
  if (isEmpty(writes)) return null;
  return { writes, plan: result.plan, spec, moves: needs.filter((n) => n.move).map((n) => n.index) };
}

/** One make-before-break move that restores the job's spread (rebalance.ts), written like a drain
 * move, or null. */
function spreadMove(m: Mirror, index: ClusterIndex, inp: JobInput, hosts: ReadonlyMap<string, HostState>): { writes: WriteSet; plan: Plan; spec: JobSpec; moves: number[] } | null {
  // A batch job's tasks end by themselves, an every-host job's belong to their hosts: none is moved for spread.
  if (inp.spec.spread === "none" || inp.spec.batch || inp.everyHost || !mayRebalance(inp)) return null;
  const { open, domains } = openDomains(m, hosts);
  const mv = planSpreadMove(index, inp.spec, open, domains);
  if (!mv) return null;
  const writes = placementWrites(m, inp.spec, inp.job.version, [mv.need], { plan: mv.plan, clearedAvoid: new Set() }, { now: inp.now, newId: inp.newId, hostCount: m.hosts.size });
  return { writes, plan: mv.plan, spec: inp.spec, moves: [mv.need.index] };
}

// Host domains, and which hosts take tasks now, once per pass (per host-state snapshot), not per job.
const domainCache = new WeakMap<ReadonlyMap<string, HostState>, { open: Map<string, FailureDomain>; domains: Map<string, FailureDomain> }>();
function openDomains(m: Mirror, hosts: ReadonlyMap<string, HostState>): { open: Map<string, FailureDomain>; domains: Map<string, FailureDomain> } {
  let c = domainCache.get(hosts);
  if (c) return c;
  c = { open: new Map(), domains: new Map() };
  for (const [id, { value: h }] of m.hosts) {
    c.domains.set(id, h.domain);
    const st = hosts.get(id);
    if (st?.status === "up" && !h.draining && st.closed !== true) c.open.set(id, h.domain);
  }
  domainCache.set(hosts, c);
  return c;
}
