// Restoring spread after recovery. When a host comes back (or is undrained, or a new rack joins),
// the tasks that moved away while it was gone stay crowded in the other domains: a job spread by rack
// over 3 racks ran 3/3/0 forever. A job at rest, fully serving, with no move under way gets one
// make-before-break move at a time (as a drain does), from its most crowded domain to the emptiest
// open one, and only when the scheduler puts it somewhere that strictly narrows the gap (no churn:
// a task never moves into a domain that then holds as many as the one it left).

import { domainKey } from "../../model/index.ts";
import type { FailureDomain, JobSpec } from "../../model/index.ts";
import type { ClusterIndex } from "../../scheduler/api.ts";
import type { Plan } from "../../scheduler/types.ts";
import { isDrainBusy, isReady } from "./decide.ts";
import { seedOf } from "./inputs.ts";
import type { JobInput, PlacementNeed } from "./types.ts";

/** Whether the job is settled enough for a spread move: not removed, every replica of the current
 * version serving with no failures, nothing parked, no move or rollout under way. Pure. */
export function mayRebalance(inp: JobInput): boolean {
  if (inp.job.removedAt !== null || inp.tasks.length !== inp.spec.replicas) return false;
  // The cheap half first: during a rollout every pass of the job lands here, and a task of another
  // version answers at once, before isDrainBusy indexes every attempt.
  if (inp.tasks.some((t) => t.version !== inp.job.version || t.failures !== 0 || t.parked || t.hostId === null)) return false;
  if (isDrainBusy(inp)) return false;
  const byId = new Map(inp.attempts.map((a) => [a.id, a]));
  return inp.tasks.every((t) => t.version === inp.job.version && t.failures === 0 && !t.parked && t.hostId !== null && isReady(t.attemptId ? byId.get(t.attemptId) : null, inp.spec));
}

/** Which task to move to narrow the job's spread gap, or null when the gap is at most 1. Pure. */
export function spreadCandidate(
  tasks: readonly { index: number; hostId: string }[],
  domainOf: (hostId: string) => string | null,
  openDomains: ReadonlySet<string>,
): { index: number; from: string; crowded: string; most: number } | null {
  const count = new Map<string, number>();
  for (const d of openDomains) count.set(d, 0);
  const on = new Map<string, { index: number; hostId: string }[]>();
  for (const t of tasks) {
    const d = domainOf(t.hostId);
    if (d === null) continue;
    count.set(d, (count.get(d) ?? 0) + 1);
    on.set(d, [...(on.get(d) ?? []), t]);
  }
  let crowded: string | null = null;
  let most = -1;
  for (const [d, n] of [...count].sort((a, b) => a[0].localeCompare(b[0]))) if (n > most) [crowded, most] = [d, n];
  let fewest = Infinity;
  for (const d of openDomains) fewest = Math.min(fewest, count.get(d) ?? 0);
  if (crowded === null || most - fewest < 2) return null;
  // The highest index of the crowded domain: the newest replicas move, the oldest stay put.
  const t = [...(on.get(crowded) ?? [])].sort((a, b) => b.index - a.index)[0];
  return t ? { index: t.index, from: t.hostId, crowded, most } : null;
}

/** Plans one spread-restoring move of the job in `index` (booking it), or null (the index left as it
 * was). `open`: hosts that may take tasks now (up, not draining), by id, with their domains. */
export function planSpreadMove(index: ClusterIndex, spec: JobSpec, open: ReadonlyMap<string, FailureDomain>, domains: ReadonlyMap<string, FailureDomain>): { need: PlacementNeed; plan: Plan } | null {
  const level = spec.spread;
  if (level === "none" || spec.disconnect.stopAfterMs !== null) return null;
  const keyOf = (hostId: string): string | null => {
    const d = domains.get(hostId);
    return d ? domainKey(d, level) : null;
  };
  const openDomains = new Set([...open.values()].map((d) => domainKey(d, level)));
  const c = spreadCandidate(index.tasksOf(spec.name), keyOf, openDomains);
  if (!c) return null;
  const r = spec.resources;
  const back = (): null => {
    index.assign({ job: spec.name, index: c.index, hostId: c.from, cpu: r.cpu, memoryMiB: r.memoryMiB, diskMiB: r.diskMiB, antiAffinity: spec.antiAffinity });
    return null;
  };
  index.release(spec.name, c.index);
  const plan = index.plan({ spec, indexes: [c.index], avoid: { [c.index]: [c.from] }, seed: seedOf(spec.name) });
  const to = plan.placements[0];
  if (!to) return back();
  const toKey = keyOf(to.hostId);
  const there = index.tasksOf(spec.name).filter((t) => keyOf(t.hostId) === toKey).length;
  if (toKey === null || toKey === c.crowded || there + 1 >= c.most) return back();
  index.commit(plan, spec);
  return { need: { index: c.index, avoid: [c.from], move: true }, plan };
}
