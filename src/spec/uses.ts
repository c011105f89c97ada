// Service dependencies (`uses`, issue 15): which services a job's tasks need before they start. The
// graph over a plan's jobs and the cluster's services is decided here, pure, tested by the table in
// uses.test.ts (the CLI's plan and apply and the server's apply all call it): a service name two jobs
// offer is a problem naming both, a used service that does not exist is a problem at its field path,
// a cycle is a problem naming it, and the start order is the graph's layers (Kahn's algorithm, names sorted in a
// layer so the output is stable).
import type { Problem, ServiceUse } from "../model/index.ts";

/** At most this many services per job. */
export const MaxUses = 32;
/** The largest `min` a `uses` entry may ask for (the largest replica count). */
export const MaxUseMin = 10_000;

/** A job on network "private" cannot reach the proxies of the services it uses (they listen on the
 * host's loopback): the problem, or null. */
export function usesNetworkProblem(network: string | undefined, usesCount: number): string | null {
  return network === "private" && usesCount > 0 ? 'a task on network "private" cannot reach the local service proxies (they listen on the host\'s loopback): use network "host" for a job with uses' : null;
}

/** One node of the graph: a job, the services it offers, and what it uses. */
export interface UseNode {
  name: string;
  /** The service names the job offers (servicesOf: its own name when it names ports, or its named
   * `services`); empty: other jobs cannot use it. */
  services: readonly string[];
  /** True when the job names its services (`services`), so a clash is reported there rather than at its name. */
  named?: boolean;
  uses: readonly ServiceUse[];
  /** Where the job is in the plan's file (`jobs[i]` or "" for one job), or null for a job already
   * in the cluster that the plan does not change. */
  path: string | null;
}

/** The start order of a plan's jobs (each layer after the ones before it), or the problems. */
export type UseGraph = { ok: true; order: string[][] } | { ok: false; problems: Problem[] };

/**
 * Checks the dependencies of `planned` (the jobs of a spec file, or the one job an apply sends)
 * against each other and `cluster` (the jobs already there; a planned job replaces its namesake) and
 * orders them: a service name offered by two jobs is refused, both named; a used service that no job
 * offers is refused at its field; a cycle is named. `file` names the spec file in problems.
 */
export function useGraph(planned: readonly UseNode[], cluster: readonly UseNode[], file: string | null): UseGraph {
  const nodes = new Map<string, UseNode>();
  for (const n of cluster) nodes.set(n.name, n);
  for (const n of planned) nodes.set(n.name, n);
  const problems: Problem[] = [];
  const prefix = (n: UseNode): string => (n.path === null || n.path === "" ? "" : `${n.path}.`);
  const at = (n: UseNode, j: number): string => `${prefix(n)}uses[${j}]`;
  // Owners: the cluster's jobs first (by name, as the server keeps them), then the plan's in file order.
  const owner = new Map<string, string>();
  const plannedNames = new Set(planned.map((n) => n.name));
  for (const n of [...nodes.values()].filter((x) => !plannedNames.has(x.name)).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    for (const svc of n.services) if (!owner.has(svc)) owner.set(svc, n.name);
  }
  for (const n of planned) {
    if (nodes.get(n.name) !== n) continue;
    for (const svc of n.services) {
      const other = owner.get(svc);
      if (other === undefined || other === n.name) owner.set(svc, n.name);
      else problems.push({
        file, path: n.named === true ? `${prefix(n)}services.${svc}` : `${prefix(n)}name`,
        message: `service "${svc}" of job "${n.name}" is already offered by job "${other}": service names are unique across jobs (they are DNS names)`,
        value: JSON.stringify(svc),
      });
    }
  }
  for (const n of planned) {
    n.uses.forEach((u, j) => {
      if (owner.has(u.service)) return;
      const job = nodes.get(u.service);
      const message = job === undefined
        ? `job "${n.name}" uses service "${u.service}", which does not exist: no job in this file or in the cluster offers it`
        : job.services.length === 0
          ? `job "${n.name}" uses "${u.service}", which offers no service: it names no ports`
          : `job "${n.name}" uses "${u.service}", which offers no service of that name: it offers ${job.services.join(", ")}`;
      problems.push({ file, path: at(n, j), message, value: JSON.stringify(u.service) });
    });
  }
  const edges = (name: string): string[] => (nodes.get(name)?.uses ?? []).flatMap((u) => {
    const to = owner.get(u.service);
    return to === undefined ? [] : [to];
  });
  const cycle = findCycle([...nodes.keys()], edges);
  if (cycle !== null) {
    const first = nodes.get(cycle[0] ?? "");
    const j = first?.uses.findIndex((u) => owner.get(u.service) === cycle[1]) ?? -1;
    problems.push({
      file, path: first && first.path !== null ? at(first, j) : "",
      message: `service dependencies form a cycle: ${cycle.join(" -> ")}; no task of these jobs could ever start`,
      value: JSON.stringify(first?.uses[j]?.service ?? ""),
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, order: layers(planned, edges) };
}

/** A cycle of job names with the first repeated at the end ("a -> b -> a"), or null. Depth-first
 * search from each name in sorted order, so the same graph names the same cycle every time. */
export function findCycle(names: readonly string[], edges: (name: string) => readonly string[]): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    const s = state.get(name);
    if (s === "done") return null;
    if (s === "open") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "open");
    stack.push(name);
    for (const to of edges(name)) {
      const c = visit(to);
      if (c !== null) return c;
    }
    stack.pop();
    state.set(name, "done");
    return null;
  };
  for (const name of [...names].sort()) {
    const c = visit(name);
    if (c !== null) return c;
  }
  return null;
}

/** The planned jobs in start layers: a job comes after every planned job it uses (directly or through
 * jobs of the cluster). The graph has no cycle. */
function layers(planned: readonly UseNode[], edges: (name: string) => readonly string[]): string[][] {
  const depth = new Map<string, number>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    let d = 0;
    for (const to of edges(name)) d = Math.max(d, depthOf(to) + 1);
    depth.set(name, d);
    return d;
  };
  const out: string[][] = [];
  for (const n of planned) {
    const d = depthOf(n.name);
    while (out.length <= d) out.push([]);
    out[d]?.push(n.name);
  }
  return out.filter((l) => l.length > 0).map((l) => [...new Set(l)].sort());
}
