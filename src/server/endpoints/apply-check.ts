// The server's own check of a job's services at apply (issue 15): the CLI's plan checks a file's
// `uses` against the cluster, but any client may post a spec, and the cluster may have changed since
// the plan. So `POST /v1/jobs` asks the same pure decision (spec/uses.ts) over the mirror's jobs: a
// used service that does not exist is refused at `uses[j]`, a cycle is refused with the cycle named,
// and a service name another job offers is refused with both jobs named.
import { ErrorCodes, servicesOf, TiffinError } from "../../model/index.ts";
import type { JobSpec } from "../../model/index.ts";
import { useGraph } from "../../spec/uses.ts";
import type { UseNode } from "../../spec/uses.ts";
import type { Mirror } from "../mirror.ts";

/** A job as a node of the dependency graph. */
function nodeOf(spec: JobSpec, path: string | null): UseNode {
  return { name: spec.name, services: servicesOf(spec).map((o) => o.name), named: spec.services !== undefined, uses: spec.uses ?? [], path };
}

/** Throws TIFFIN_SPEC_INVALID (422) listing every problem of `spec`'s services and dependencies
 * against the jobs in `mirror`; returns when there is none. `atPlan`: a used service no job offers
 * yet is no problem (a plan is of one job of a file whose other jobs may offer it: the CLI checks the
 * file's `uses` together, and apply checks again); clashes and cycles are refused as at apply. */
export function checkServicesAtApply(mirror: Mirror, spec: JobSpec, opts: { atPlan?: boolean } = {}): void {
  const planned = nodeOf(spec, "");
  if (planned.uses.length === 0 && planned.services.length === 0) return;
  const cluster: UseNode[] = [];
  for (const [name, entry] of mirror.jobs) {
    if (name === spec.name || entry.value.removedAt !== null) continue;
    const current = mirror.spec(name, entry.value.version)?.spec;
    if (current) cluster.push(nodeOf(current, null));
  }
  const g = useGraph([planned], cluster, null);
  if (g.ok) return;
  const offered = new Set([...planned.services, ...cluster.flatMap((c) => c.services)]);
  const unoffered = (u: { service: string }): boolean => !offered.has(u.service);
  const problems = opts.atPlan === true ? g.problems.filter((p) => !planned.uses.some((u, j) => p.path === `uses[${j}]` && unoffered(u))) : g.problems;
  if (problems.length === 0) return;
  const n = problems.length;
  throw new TiffinError(ErrorCodes.SpecInvalid, `job "${spec.name}": ${problems[0]?.path ? `at ${problems[0].path}: ` : ""}${problems[0]?.message ?? "invalid services"}${n > 1 ? ` (and ${n - 1} more)` : ""}`, {
    hint: "each entry of `uses` must name a service a job offers (`tiffin services`), no job may depend on itself through others, and no two jobs may offer one service name",
    problems,
  });
}
