// Reads of the registry from the mirror, shared by the HTTP routes, DNS and the registry's writer: a
// service is a name a job (not removed) offers in its current version (servicesOf: the job's own name
// when it names ports, or each of its named `services`); its endpoints are the stored ones, in task
// index order.
import { servicesOf } from "../../model/index.ts";
import type { Endpoint, ServiceSummary } from "../../model/index.ts";
import type { Mirror } from "../mirror.ts";

/** A service offered now: the job offering it, its port names and what that job uses. */
export interface ServiceEntry {
  job: string;
  ports: string[];
  uses: string[];
}

/**
 * Every service by name, from the jobs' current versions. Apply refuses a name two jobs offer; should
 * the store hold one anyway (written before the check), the job first by name keeps it, so every
 * server decides alike.
 */
export function serviceIndex(mirror: Mirror): Map<string, ServiceEntry> {
  const out = new Map<string, ServiceEntry>();
  for (const job of [...mirror.jobs.keys()].sort()) {
    const record = mirror.jobs.get(job)?.value;
    if (!record || record.removedAt !== null) continue;
    const spec = mirror.spec(job, record.version)?.spec;
    if (!spec) continue;
    const uses = (spec.uses ?? []).map((u) => u.service);
    for (const offer of servicesOf(spec)) if (!out.has(offer.name)) out.set(offer.name, { job, ports: offer.ports, uses });
  }
  return out;
}

/** The port names of a service, or null when there is no such service. */
export function servicePorts(mirror: Mirror, name: string): string[] | null {
  return serviceIndex(mirror).get(name)?.ports ?? null;
}

/** The endpoints of a service, by task index (empty when it has none or does not exist). */
export function endpointsOf(mirror: Mirror, name: string): Endpoint[] {
  const byIndex = mirror.endpoints.get(name);
  if (!byIndex) return [];
  return [...byIndex.values()].map((e) => e.value).sort((a, b) => a.index - b.index);
}

/** Every service, by name, with how many endpoints it has (`job` only when it is not the service's name). */
export function listServices(mirror: Mirror): ServiceSummary[] {
  return [...serviceIndex(mirror)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, s]) => ({
    name, endpoints: mirror.endpoints.get(name)?.size ?? 0, ports: s.ports, uses: s.uses, ...(s.job !== name ? { job: s.job } : {}),
  }));
}
