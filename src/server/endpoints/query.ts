// Reads of the registry from the mirror, shared by the HTTP routes and DNS: a service is a job (not
// removed) that names ports; its endpoints are the stored ones, in task index order.
import type { Endpoint, ServiceSummary } from "../../model/index.ts";
import type { Mirror } from "../mirror.ts";

/** The port names of a service, or null when there is no such service. */
export function servicePorts(mirror: Mirror, name: string): string[] | null {
  const job = mirror.jobs.get(name)?.value;
  if (!job || job.removedAt !== null) return null;
  const ports = mirror.spec(name, job.version)?.spec.ports ?? [];
  return ports.length > 0 ? ports : null;
}

/** The endpoints of a service, by task index (empty when it has none or does not exist). */
export function endpointsOf(mirror: Mirror, name: string): Endpoint[] {
  const byIndex = mirror.endpoints.get(name);
  if (!byIndex) return [];
  return [...byIndex.values()].map((e) => e.value).sort((a, b) => a.index - b.index);
}

/** Every service, by name, with how many endpoints it has. */
export function listServices(mirror: Mirror): ServiceSummary[] {
  const out: ServiceSummary[] = [];
  for (const name of [...mirror.jobs.keys()].sort()) {
    const ports = servicePorts(mirror, name);
    if (ports === null) continue;
    const job = mirror.jobs.get(name)?.value;
    const uses = (job ? mirror.spec(name, job.version)?.spec.uses : undefined) ?? [];
    out.push({ name, endpoints: mirror.endpoints.get(name)?.size ?? 0, ports, uses: uses.map((u) => u.service) });
  }
  return out;
}
