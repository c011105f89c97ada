// Which tasks each phase of a rollout moves. Pure. Phases are cumulative rules over the job's tasks in
// failure-domain order (datacenter, cluster, rack, then index), so a count of 1 is one task in the first
// rack and a "cluster" phase is every task in the clusters reached so far: slowroll's "1 machine, then
// 100, then a cluster, then a data center, then everywhere". The last phase always reaches every task.

import { domainKey, RolloutDomains } from "../../model/index.ts";
import type { FailureDomain, RolloutDomain, RolloutPhaseSpec } from "../../model/index.ts";

/** One task slot as the phase plan sees it: its index and its host's failure domain (null: unplaced). */
export interface PhaseTask {
  index: number;
  domain: FailureDomain | null;
}

/** A planned phase: its rule and the task indexes it adds (never empty). */
export interface PlannedPhase {
  spec: RolloutPhaseSpec;
  tasks: number[];
}

/** The phases of a job that writes none, by its size and spread: a 3-task job gets 1 -> all; larger
 * ones a canary, then growing shares, with a step per cluster and datacenter when it spans several. */
export function defaultPhases(tasks: readonly PhaseTask[]): RolloutPhaseSpec[] {
  const n = tasks.length;
  if (n <= 3) return [1, "all"];
  const spans = (level: RolloutDomain): boolean => new Set(tasks.flatMap((t) => (t.domain ? [domainKey(t.domain, level)] : []))).size > 1;
  const out: RolloutPhaseSpec[] = [1];
  if (n > 20) out.push("10%");
  if (spans("cluster")) out.push("cluster");
  if (spans("datacenter")) out.push("datacenter");
  else out.push("50%");
  out.push("all");
  return out;
}

/** The phases of an every-host job that writes none (slowroll's daemons "rolled out to all our
 * servers"): one host, then its rack, its cluster, its datacenter, then everywhere (phases that add no
 * task are left out, so a one-rack fleet gets 1 -> all). */
export const EveryHostPhases: readonly RolloutPhaseSpec[] = [1, "rack", "cluster", "datacenter", "all"];

/** The default phases of `spec` over `tasks`: by failure domain for an every-host job, else by size and spread. */
export function defaultPhasesOf(spec: { everyHost?: true }, tasks: readonly PhaseTask[]): RolloutPhaseSpec[] {
  return spec.everyHost === true ? [...EveryHostPhases] : defaultPhases(tasks);
}

/** The domain order tasks are taken in: unplaced tasks last, then by index. */
export function phaseOrder(tasks: readonly PhaseTask[]): PhaseTask[] {
  // Each task's key once (10,000 tasks: a key per comparison was 300,000 strings).
  const keyed = tasks.map((t) => ({ t, key: t.domain ? `0${domainKey(t.domain, "rack")}` : "1" }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.t.index - b.t.index));
  return keyed.map((k) => k.t);
}

/** How many tasks a phase rule reaches, cumulatively, given those reached so far (in phase order). */
function reach(spec: RolloutPhaseSpec, order: readonly PhaseTask[], taken: number): number {
  const n = order.length;
  if (spec === "all") return n;
  if (typeof spec === "number") return Math.min(n, spec);
  if (spec.endsWith("%")) return Math.min(n, Math.max(1, Math.ceil((n * Number(spec.slice(0, -1))) / 100)));
  const level = RolloutDomains.find((d) => d === spec);
  if (!level) return n;
  // Every task in the domains reached so far (or the first task's domain when none yet). Tasks are in
  // domain order, so those domains' tasks are the ones up to the last task sharing one of them.
  const reached = new Set(order.slice(0, Math.max(1, taken)).map((t) => (t.domain ? domainKey(t.domain, level) : "")));
  let last = Math.max(1, taken);
  for (let i = 0; i < n; i++) {
    const t = order[i];
    if (t && reached.has(t.domain ? domainKey(t.domain, level) : "")) last = i + 1;
  }
  return last;
}

/** The phases of a rollout over `tasks`: each phase's new tasks (phases that add none are left out;
 * a last phase reaching every task is added when the rules stop short). */
export function planPhases(specs: readonly RolloutPhaseSpec[], tasks: readonly PhaseTask[]): PlannedPhase[] {
  const order = phaseOrder(tasks);
  const out: PlannedPhase[] = [];
  let taken = 0;
  for (const spec of [...specs, ...(specs.at(-1) === "all" ? [] : ["all" as const])]) {
    const upTo = Math.max(taken, reach(spec, order, taken));
    if (upTo === taken) continue;
    out.push({ spec, tasks: order.slice(taken, upTo).map((t) => t.index).sort((a, b) => a - b) });
    taken = upTo;
  }
  return out;
}
