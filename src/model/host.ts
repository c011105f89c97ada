// Hosts as the inventory knows them. The failure domain comes from the agent's labels
// (region, datacenter, cluster, rack); a missing level is "default".

/** What an agent detects about its machine and reports when it registers. */
export interface HostInventory {
  name: string;
  /** Where the agent serves logs to the server, host:port. */
  address: string;
  cores: number;
  memoryMiB: number;
  diskMiB: number;
  os: { id: string; version: string };
  kernel: string;
  labels: Record<string, string>;
  /** The OCI runtime that sandboxes tasks here: "crun 1.8.1", "runc 1.1.5", "... rootless", or "none" (sandboxed tasks refused). */
  runtime: string;
  /** Capabilities sandboxed tasks may ask for here (`tiffin agent --allow-capabilities`), "CAP_..." names.
   * Absent (agents older than the field): none. */
  capabilities?: string[];
}

/** The place of a host in the failure-domain tree. */
/** A machine's capacity, as its inventory reports it (HostInventory's figures): one declaration for
 * the scheduler's host, the agent's overrides and the inventory itself. */
export type HostCapacity = Pick<HostInventory, "cores" | "memoryMiB" | "diskMiB">;

export interface FailureDomain {
  region: string;
  datacenter: string;
  cluster: string;
  rack: string;
}

/** Liveness as the server sees it. */
export type HostStatus = "up" | "suspect" | "down" | "upgrading";

/** A host in the inventory (the durable record; liveness is separate). */
export interface Host extends HostInventory {
  id: string;
  domain: FailureDomain;
  draining: boolean;
  registeredAt: number;
  /** Takes no new tasks, keeps those it has (a remediation's cordon). Absent: false. */
  unschedulable?: boolean;
}

/** Derives the failure domain from labels. */
export function domainOf(labels: Record<string, string>): FailureDomain {
  return {
    region: labels["region"] ?? "default",
    datacenter: labels["datacenter"] ?? "default",
    cluster: labels["cluster"] ?? "default",
    rack: labels["rack"] ?? "default",
  };
}

/** The key of a host's domain at a spread level, unique across the tree (a rack name may repeat in two clusters). */
export function domainKey(domain: FailureDomain, level: "rack" | "cluster" | "datacenter"): string {
  switch (level) {
    case "datacenter":
      return `${domain.region}/${domain.datacenter}`;
    case "cluster":
      return `${domain.region}/${domain.datacenter}/${domain.cluster}`;
    case "rack":
      return `${domain.region}/${domain.datacenter}/${domain.cluster}/${domain.rack}`;
  }
}
