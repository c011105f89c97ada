// `plan` and `apply` check a file's service dependencies (`uses`) against each other and the
// cluster's services before sending anything: a used service that does not exist and a cycle are
// TIFFIN_SPEC_INVALID at the field (the decision is src/spec/uses.ts's); the start order they return
// is the order apply sends the jobs in and plan prints.
import type { ApiClient } from "../api/client.ts";
import { AllNamespaces, DefaultNamespace, ErrorCodes, idToRef, jobId, refToId, servicesOf, TiffinError } from "../model/index.ts";
import type { JobSpec, ServiceSummary } from "../model/index.ts";
import { useGraph } from "../spec/uses.ts";
import type { UseNode } from "../spec/uses.ts";

/** What checkUses asks of the API client: its namespace, and the services of every namespace. */
export type UsesClient = Pick<ApiClient, "namespace"> & { inNamespace(ns: string): Pick<ApiClient, "services"> };

/** The jobs of `specs` in start layers, or a TIFFIN_SPEC_INVALID error naming each problem (a used
 * service that does not exist, a cycle, a service name another job offers). The cluster's services
 * are asked for when a job uses one or offers one, named or not (a plain job with ports offers its
 * own name, which another job's named service may hold): only a plan of jobs without ports and
 * `uses` costs no call. */
export async function checkUses(client: UsesClient, specs: readonly JobSpec[], file: string | null): Promise<string[][]> {
  const own = (ref: string): string => idToRef(refToId(ref, jobId(client.namespace, "x")), jobId(client.namespace, "x"));
  const planned: UseNode[] = specs.map((s, i) => ({ name: s.name, services: servicesOf(s).map((o) => o.name), named: s.services !== undefined, uses: (s.uses ?? []).map((u) => ({ ...u, service: own(u.service) })), path: specs.length > 1 ? `jobs[${i}]` : "" }));
  if (planned.every((n) => n.uses.length === 0 && n.services.length === 0)) return [specs.map((s) => s.name)];
  // Every namespace's services the token may read, named as this namespace's jobs write them.
  const cluster = clusterNodes(relativeServices(await client.inNamespace(AllNamespaces).services(), client.namespace));
  const g = useGraph(planned, cluster, file);
  if (g.ok) return g.order;
  const first = g.problems[0];
  throw new TiffinError(ErrorCodes.SpecInvalid, `${file ?? "spec"}${first?.path ? ` at ${first.path}` : ""}: ${first?.message ?? "invalid service dependencies"}`, {
    hint: "each entry of `uses` must name a service (a job with `ports`, or one of a job's `services`) in this file or already applied, no job may depend on itself through others, and no two jobs may offer one service name",
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

/** `services` (of several namespaces, each named as its own namespace's jobs write it) named as the
 * jobs of namespace `ns` write them: `NAME` for its own, `NS/NAME` for another's. Pure. */
export function relativeServices(services: readonly ServiceSummary[], ns: string): ServiceSummary[] {
  const here = jobId(ns, "x");
  return services.map((s) => {
    const sns = s.namespace ?? DefaultNamespace;
    const ref = (name: string): string => idToRef(jobId(sns, name), here);
    const job = jobId(sns, s.job ?? s.name);
    const { namespace: _ns, ...rest } = s;
    return { ...rest, name: ref(s.name), ...(s.job !== undefined ? { job: ref(s.job) } : {}), ...(s.uses !== undefined ? { uses: s.uses.map((u) => idToRef(refToId(u, job), here)) } : {}) };
  });
}

/** The cluster's jobs as graph nodes, from its services (`job` names the offering job when it is not the service's name). */
export function clusterNodes(services: readonly ServiceSummary[]): UseNode[] {
  const byJob = new Map<string, UseNode>();
  for (const s of services) {
    const job = s.job ?? s.name;
    const n = byJob.get(job) ?? { name: job, services: [], named: s.job !== undefined, uses: (s.uses ?? []).map((service) => ({ service, min: 1 })), path: null };
    byJob.set(job, { ...n, services: [...n.services, s.name] });
  }
  return [...byJob.values()];
}
