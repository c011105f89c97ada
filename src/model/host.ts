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
  /** The agent runs isolation "none" tasks (`tiffin agent --allow-unsandboxed`), as its `--task-user`.
   * Absent or false: it refuses them, and the scheduler places none here. */
  unsandboxed?: boolean;
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
  /** The drain under way (with `draining`): its deadline and what blocks it. Absent: none, or a
   * record written before drains had one (a plain drain without deadline). */
  drain?: HostDrain;
  /** When `tiffin hosts decommission` took the host out of placement for good (it drains, and cannot
   * be undrained; its record and history stay). Absent: in service. */
  decommissionedAt?: number;
}

/** What a drain does at its deadline with tasks still on the host: keep waiting ("wait"), move them
 * regardless of their jobs' disruption budgets and stop those that find no room ("force"), or stop
 * every one of them at once ("stop"; they are placed elsewhere when room appears). */
export const DrainThenActions = ["wait", "force", "stop"] as const;
/** One of DrainThenActions. */
export type DrainThen = (typeof DrainThenActions)[number];

/** Why a job's tasks have not left a draining host yet: its disruption budget is spent ("budget"),
 * every host that could take them is full ("no-room"), none matches its constraints ("constraint"),
 * or its application has not approved the disruption ("approval"). */
export const DrainBlockReasons = ["budget", "no-room", "constraint", "approval"] as const;
/** One of DrainBlockReasons. */
export type DrainBlockReason = (typeof DrainBlockReasons)[number];
/** What holds a drain, as people read it (`tiffin drain`, `tiffin maintenance list`, the dashboard). */
export const DrainBlockReasonText: Record<DrainBlockReason, string> = {
  budget: "disruption budget",
  "no-room": "no room elsewhere",
  constraint: "a constraint",
  approval: "waiting for approval",
};

/** One job held on a draining host, and since when (epoch ms) for that same reason. */
export interface DrainBlock {
  job: string;
  reason: DrainBlockReason;
  /** For people: "1 of 1 task(s) down, budget 1", "no host fits: memory on 2 hosts". */
  detail: string;
  /** The job's task indexes still on the host. */
  tasks: number[];
  since: number;
}

/** A drain in progress, kept on the host record (so every server and the watch show it). */
export interface HostDrain {
  startedAt: number;
  /** When `then` acts (epoch ms); null: never, the drain waits. */
  deadline: number | null;
  then: DrainThen;
  /** When the leader last found `blocked` different (or first looked): null until then. */
  checkedAt: number | null;
  blocked: DrainBlock[];
  /** When the deadline's action was taken (null: not yet). */
  actedAt: number | null;
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
