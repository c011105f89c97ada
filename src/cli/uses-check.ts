// `plan` and `apply` check a file's service dependencies (`uses`) against each other and the
// cluster's services before sending anything: a used service that does not exist and a cycle are
// TIFFIN_SPEC_INVALID at the field (the decision is src/spec/uses.ts's); the start order they return
// is the order apply sends the jobs in and plan prints.
import type { ApiClient } from "../api/client.ts";
import { ErrorCodes, TiffinError } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import { useGraph } from "../spec/uses.ts";
import type { UseNode } from "../spec/uses.ts";

/** The jobs of `specs` in start layers, or a TIFFIN_SPEC_INVALID error naming each problem. The
 * cluster's services are asked for only when a job uses one. */
export async function checkUses(client: ApiClient, specs: readonly JobSpec[], file: string | null): Promise<string[][]> {
  const planned: UseNode[] = specs.map((s, i) => ({ name: s.name, offers: s.ports.length > 0, uses: s.uses ?? [], path: specs.length > 1 ? `jobs[${i}]` : "" }));
  if (planned.every((n) => n.uses.length === 0)) return [specs.map((s) => s.name)];
  const cluster: UseNode[] = (await client.services()).map((s) => ({ name: s.name, offers: true, uses: (s.uses ?? []).map((service) => ({ service, min: 1 })), path: null }));
  const g = useGraph(planned, cluster, file);
  if (g.ok) return g.order;
  const first = g.problems[0];
  throw new TiffinError(ErrorCodes.SpecInvalid, `${file ?? "spec"}${first?.path ? ` at ${first.path}` : ""}: ${first?.message ?? "invalid service dependencies"}`, {
    hint: "each entry of `uses` must name a job with `ports`, in this file or already applied, and no job may depend on itself through others",
    problems: g.problems,
  });
}

/** `specs` in the order of `layers` (a job with no layer keeps its place at the end). */
export function inStartOrder(specs: readonly JobSpec[], layers: readonly string[][]): JobSpec[] {
  const rank = new Map<string, number>();
  layers.forEach((l, i) => l.forEach((n) => rank.set(n, i)));
  return [...specs].map((s, i) => ({ s, i })).sort((a, b) => (rank.get(a.s.name) ?? layers.length) - (rank.get(b.s.name) ?? layers.length) || a.i - b.i).map((x) => x.s);
}

/** "start order: cache, then web, api" (nothing when the file has no dependencies). */
export function renderStartOrder(layers: readonly string[][]): string {
  return layers.length > 1 ? `start order: ${layers.map((l) => l.join(", ")).join(", then ")}\n` : "";
}
