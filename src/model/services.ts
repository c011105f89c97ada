// Which services a job offers (issue 15): the one reading of a spec's `ports` and `services` that the
// registry's writer, the queries, DNS, the dependency graph and the clash check all share.

/** One service a job offers: its name and the port names its endpoints list (the first is the
 * service's port: SRV records and the agents' proxies use it). */
export interface ServiceOffer {
  name: string;
  ports: string[];
}

/**
 * The services of a job's spec: each named service with its one port when the spec writes
 * `services`; otherwise one service named after the job offering every port, in the spec's order;
 * none when the job names no ports.
 */
export function servicesOf(spec: { name: string; ports: readonly string[]; services?: Readonly<Record<string, string>> | undefined }): ServiceOffer[] {
  if (spec.services !== undefined) return Object.entries(spec.services).map(([name, port]) => ({ name, ports: [port] }));
  return spec.ports.length > 0 ? [{ name: spec.name, ports: [...spec.ports] }] : [];
}
