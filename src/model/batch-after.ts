// Workflows between batch jobs (issue 18): a batch job may say `after: ["extract"]`; each of its runs
// then waits for the run of every upstream job that was the newest when it was created (`Run.after`,
// "job/id"), starts once they all succeeded, and is cancelled with the reason when one did not (or is
// gone). Pure: the gate over the upstream runs' states, and the jobs' order (cycles refused at plan).

import type { RunState } from "./batch.ts";

/** What a queued run with upstream runs does now. */
export type UpstreamGate = { kind: "go" } | { kind: "wait"; reason: string } | { kind: "cancel"; reason: string };

/** An upstream run as the gate reads it; null: no such run (never started, or deleted by retention). */
export type UpstreamRun = { state: RunState; reason: string | null } | null;

/** The ref of an upstream job without a run when the downstream run was created (`job/`). */
export function noRunRef(job: string): string {
  return `${job}/`;
}

/** Whether a run waiting for `after` (refs "job/id") may start: all succeeded: go; one failed,
 * cancelled or missing: cancel, naming it; else wait, naming what it waits for. */
export function upstreamGate(after: readonly string[], lookup: (job: string, id: string) => UpstreamRun): UpstreamGate {
  const waiting: string[] = [];
  for (const ref of after) {
    const slash = ref.indexOf("/");
    const job = ref.slice(0, slash);
    const id = ref.slice(slash + 1);
    if (id === "") return { kind: "cancel", reason: `upstream job ${job} had no run when this run was created: start one first (\`tiffin run ${job}\`)` };
    const r = lookup(job, id);
    if (r === null) return { kind: "cancel", reason: `upstream run ${ref} is gone (deleted by its job's batch.keep, or the job was removed)` };
    if (r.state === "failed" || r.state === "cancelled") return { kind: "cancel", reason: `upstream run ${ref} ${r.state}${r.reason ? `: ${r.reason}` : ""}` };
    if (r.state !== "succeeded") waiting.push(`${ref} (${r.state})`);
  }
  return waiting.length === 0 ? { kind: "go" } : { kind: "wait", reason: `waiting for upstream run${waiting.length > 1 ? "s" : ""} ${waiting.join(", ")}` };
}

/** A cycle of `after` edges (job -> the jobs it runs after), as names from a job back to itself
 * (["a", "b", "a"]), or null. Edges to jobs not in the graph are ignored. */
export function afterCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === "done") return null;
    if (state.get(n) === "open") return [...path.slice(path.indexOf(n)), n];
    state.set(n, "open");
    path.push(n);
    for (const up of graph.get(n) ?? []) {
      if (!graph.has(up)) continue;
      const c = visit(up);
      if (c) return c;
    }
    path.pop();
    state.set(n, "done");
    return null;
  };
  for (const n of [...graph.keys()].sort()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

/** The jobs of an acyclic `after` graph in an order that runs each after its upstream jobs (names
 * sorted among equals), or null when there is a cycle. */
export function afterOrder(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  if (afterCycle(graph)) return null;
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (n: string): void => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const up of [...(graph.get(n) ?? [])].sort()) if (graph.has(up)) visit(up);
    out.push(n);
  };
  for (const n of [...graph.keys()].sort()) visit(n);
  return out;
}
