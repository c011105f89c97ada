// The made-up fleet of `tiffin dev`: names, failure domains and each agent's slice of this machine.
// Pure, so the shape of the dev cluster is tested without starting it.

/** What the machine has, to be shared among the dev agents. */
export interface MachineResources {
  cores: number;
  memoryMiB: number;
  diskMiB: number;
}

/** One dev agent to start. */
export interface DevAgentPlan {
  name: string;
  labels: Record<string, string>;
  cores: number;
  memoryMiB: number;
  diskMiB: number;
}

/**
 * `n` agents dev-1..dev-n: racks r1, r2, r3 in turn, the first half in cluster c1 and the rest in
 * c2, so spreading by rack and by cluster both have something to do. Each gets 1/(n-1) of the
 * machine (the whole of it when n is 1; cores to a tenth, at least a tenth): with any one agent
 * down, the others together still offer the whole machine, so the README's failover demo (kill -9
 * an agent) finds room for its tasks elsewhere. With 1/n each, the survivors were already full and
 * the tasks came back only with the restarted agent. The fleet as a whole is overcommitted by
 * n/(n-1), which a dev cluster on one machine can afford.
 */
export function devLayout(n: number, machine: MachineResources): DevAgentPlan[] {
  const firstCluster = Math.ceil(n / 2);
  const share = Math.max(1, n - 1);
  return Array.from({ length: n }, (_, i) => ({
    name: `dev-${i + 1}`,
    labels: { region: "dev", datacenter: "dc1", cluster: i < firstCluster ? "c1" : "c2", rack: `r${(i % 3) + 1}` },
    cores: Math.max(0.1, Math.floor((machine.cores / share) * 10) / 10),
    memoryMiB: Math.max(64, Math.floor(machine.memoryMiB / share)),
    diskMiB: Math.max(64, Math.floor(machine.diskMiB / share)),
  }));
}

/** `k=v,k=v` for `tiffin agent --labels`. */
export function formatLabels(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** Where one dev agent finds its server and keeps its state. */
export interface DevAgentPlace {
  url: string;
  joinTokenFile: string;
  dataDir: string;
  /** `tiffin dev --allow-unsandboxed`: the agents run jobs with isolation "none" (as nobody). */
  allowUnsandboxed: boolean;
}

/** The `tiffin agent` arguments of one dev agent: loopback only (the whole dev cluster is on this
 * machine), its slice of the machine, and the unsandboxed fallback (a laptop without root or user
 * namespaces still runs the examples, unsandboxed and saying so in `tiffin hosts` and each task's log). */
export function devAgentArgs(p: DevAgentPlan, at: DevAgentPlace): string[] {
  return [
    "agent", "--server", at.url, "--join-token-file", at.joinTokenFile, "--data", at.dataDir, "--name", p.name, "--listen", "127.0.0.1:0",
    "--labels", formatLabels(p.labels), "--cores", String(p.cores), "--memory", String(p.memoryMiB), "--disk", String(p.diskMiB),
    "--unsandboxed-fallback",
    ...(at.allowUnsandboxed ? ["--allow-unsandboxed"] : []),
  ];
}
