// Which services a job offers (issue 15): the one reading of a spec's `ports` and `services` that the
// registry's writer, the queries, DNS, the dependency graph and the clash check all share.

import { jobId, namespaceOfId } from "./namespace.ts";

/** One service a job offers: its name and the port names its endpoints list (the first is the
 * service's port: SRV records and the agents' proxies use it). */
export interface ServiceOffer {
  name: string;
  ports: string[];
}

/**
 * The services of a job's spec: each named service with its one port when the spec writes
 * `services`; otherwise one service named after the job offering every port, in the spec's order;
 * none when the job names no ports. A named service of a job outside the default namespace is named
 * like its job (`NAME.NS`, model/namespace.ts), so two namespaces may each offer `api`.
 */
export function servicesOf(spec: { name: string; ports: readonly string[]; services?: Readonly<Record<string, string>> | undefined }): ServiceOffer[] {
  if (spec.services !== undefined) return Object.entries(spec.services).map(([name, port]) => ({ name: jobId(namespaceOfId(spec.name), name), ports: [port] }));
  return spec.ports.length > 0 ? [{ name: spec.name, ports: [...spec.ports] }] : [];
}
