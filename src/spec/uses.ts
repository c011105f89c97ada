// Service dependencies (`uses`, issue 15): which services a job's tasks need before they start. The
// graph over a plan's jobs and the cluster's services is decided here, pure, tested by the table in
// uses.test.ts: a used service that does not exist is a problem at its field path, a cycle is a
// problem naming it, and the start order is the graph's layers (Kahn's algorithm, names sorted in a
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

/** One node of the graph: a job, whether it offers a service (names ports), and what it uses. */
export interface UseNode {
  name: string;
  /** True when the job names ports: other jobs may use it. */
  offers: boolean;
  uses: readonly ServiceUse[];
  /** Where the job is in the plan's file (`jobs[i]` or "" for one job), or null for a job already
   * in the cluster that the plan does not change. */
  path: string | null;
}

/** The start order of a plan's jobs (each layer after the ones before it), or the problems. */
export type UseGraph = { ok: true; order: string[][] } | { ok: false; problems: Problem[] };

/**
 * Checks the dependencies of `planned` (the jobs of a spec file) against each other and `cluster`
 * (the jobs already there; a planned job replaces its namesake) and orders them. `file` names the
 * spec file in problems.
 */
export function useGraph(planned: readonly UseNode[], cluster: readonly UseNode[], file: string | null): UseGraph {
  const nodes = new Map<string, UseNode>();
  for (const n of cluster) nodes.set(n.name, n);
  for (const n of planned) nodes.set(n.name, n);
  const problems: Problem[] = [];
  const at = (n: UseNode, j: number): string => `${n.path === null || n.path === "" ? "" : `${n.path}.`}uses[${j}]`;
  for (const n of planned) {
    n.uses.forEach((u, j) => {
      const target = nodes.get(u.service);
      if (target === undefined) {
        problems.push({ file, path: at(n, j), message: `job "${n.name}" uses service "${u.service}", which does not exist: no job of that name in this file or in the cluster`, value: JSON.stringify(u.service) });
      } else if (!target.offers) {
        problems.push({ file, path: at(n, j), message: `job "${n.name}" uses "${u.service}", which offers no service: it names no ports`, value: JSON.stringify(u.service) });
      }
    });
  }
  const cycle = findCycle(nodes);
  if (cycle !== null) {
    const first = nodes.get(cycle[0] ?? "");
    const j = first?.uses.findIndex((u) => u.service === cycle[1]) ?? -1;
    problems.push({
      file, path: first && first.path !== null ? at(first, j) : "",
      message: `service dependencies form a cycle: ${cycle.join(" -> ")}; no task of these jobs could ever start`,
      value: JSON.stringify(cycle[1] ?? ""),
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, order: layers(planned, nodes) };
}

/** A cycle as names with the first repeated at the end ("a -> b -> a"), or null. Depth-first search
 * from each name in sorted order, so the same graph names the same cycle every time. */
export function findCycle(nodes: ReadonlyMap<string, UseNode>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    const s = state.get(name);
    if (s === "done") return null;
    if (s === "open") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "open");
    stack.push(name);
    for (const u of nodes.get(name)?.uses ?? []) {
      if (!nodes.has(u.service)) continue;
      const c = visit(u.service);
      if (c !== null) return c;
    }
    stack.pop();
    state.set(name, "done");
    return null;
  };
  for (const name of [...nodes.keys()].sort()) {
    const c = visit(name);
    if (c !== null) return c;
  }
  return null;
}

/** The planned jobs in start layers: a job comes after every planned job it uses (directly or through
 * jobs of the cluster). The graph has no cycle. */
function layers(planned: readonly UseNode[], nodes: ReadonlyMap<string, UseNode>): string[][] {
  const depth = new Map<string, number>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    let d = 0;
    for (const u of nodes.get(name)?.uses ?? []) if (nodes.has(u.service)) d = Math.max(d, depthOf(u.service) + 1);
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
