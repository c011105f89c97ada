// Test fixtures (tests only): a complete JobSpec, host inventories, builders of decision inputs, and
// a reader of /metrics text.

import type { Attempt, HostInventory, JobSpec, Task } from "../../model/index.ts";
import type { SchedHost } from "../../scheduler/types.ts";
import type { HostState, JobInput } from "../reconcile/types.ts";

/** A valid, complete spec; override what a test is about. */
export function specOf(over: Partial<JobSpec> = {}): JobSpec {
  return {
    name: "web",
    command: ["/bin/sleep", "1000"],
    env: {},
    files: {},
    replicas: 1,
    resources: { cpu: 1, memoryMiB: 256, diskMiB: 100 },
    constraints: { os: null, kernel: null, labels: {} },
    spread: "none",
    antiAffinity: null,
    ports: [],
    restart: { backoffInitialMs: 1000, backoffMaxMs: 30_000, moveAfterFailures: 3 },
    health: null,
    stop: { signal: "SIGTERM", graceMs: 5000 },
    maintenance: "move",
    disconnect: { stopAfterMs: null },
    packages: [],
    ...over,
  };
}

/** An inventory an agent might send. */
export function inventoryOf(name: string, over: Partial<HostInventory> = {}): HostInventory {
  return {
    name,
    address: "127.0.0.1:1",
    cores: 4,
    memoryMiB: 4096,
    diskMiB: 10_000,
    os: { id: "debian", version: "12" },
    kernel: "6.1.0",
    labels: { rack: `rack-${name}` },
    runtime: "crun 1.8.1 (simulated)",
    // As `tiffin agent --allow-unsandboxed` (the tests' jobs with isolation "none" need one); a test of
    // the refusal registers with `unsandboxed: false`.
    unsandboxed: true,
    ...over,
  };
}

/** A host as decisions see it. */
export function hostState(id: string, over: Partial<HostState> = {}): HostState {
  return { id, status: "up", draining: false, lastContactAt: 0, capacity: { cpu: 4, memoryMiB: 4096, diskMiB: 10_000 }, ...over };
}

/** A host as the scheduler sees it, from its decision state: Debian 12, no labels, an OCI runtime. */
export function schedHostOf(h: HostState): SchedHost {
  return {
    id: h.id,
    name: h.id,
    domain: { region: "default", datacenter: "default", cluster: "default", rack: "default" },
    cores: h.capacity.cpu,
    memoryMiB: h.capacity.memoryMiB,
    diskMiB: h.capacity.diskMiB,
    os: { id: "debian", version: "12" },
    kernel: "6.1.0",
    labels: {},
    sandbox: true,
    capabilities: [],
    schedulable: h.status !== "down" && !h.draining,
  };
}

/** A task placed on `hostId` (or unplaced) with attempt `attemptId`. */
export function task(index: number, over: Partial<Task> = {}): Task {
  return { job: "web", index, version: 1, hostId: "h1", attemptId: `a${index}`, failures: 0, avoidHosts: [], unplacedReason: null, ...over };
}

/** An attempt of task `index`. */
export function attempt(id: string, index: number, over: Partial<Attempt> = {}): Attempt {
  return {
    id,
    job: "web",
    index,
    version: 1,
    hostId: "h1",
    desired: "run",
    state: "running",
    pid: 100 + index,
    exitCode: null,
    signal: null,
    reason: null,
    ports: {},
    createdAt: 0,
    startAfter: 0,
    startedAt: 0,
    endedAt: null,
    ...over,
  };
}

/** A decision input; ids of new attempts are n1, n2, ... */
export function input(over: Partial<JobInput> & { specs?: Record<number, JobSpec> } = {}): JobInput {
  let n = 0;
  const spec = over.spec ?? specOf();
  const specs = over.specs ?? {};
  const { specs: _ignored, ...rest } = over;
  const hosts = over.hosts ?? new Map([["h1", hostState("h1")], ["h2", hostState("h2")]]);
  return {
    job: { name: spec.name, version: 1, removedAt: null, updatedAt: 0 },
    spec,
    specOf: (v) => specs[v] ?? null,
    tasks: [],
    attempts: [],
    hosts,
    schedHost: (id) => {
      const h = hosts.get(id);
      return h ? schedHostOf(h) : null;
    },
    usage: new Map(),
    now: 100_000,
    fenceMs: 3000,
    heartbeatMs: 1000,
    newId: () => `n${++n}`,
    ...rest,
  };
}

/** One counter or gauge of a Prometheus text, summed over the series whose labels include `labels`. */
export function metricOf(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const l = m[2] ?? "";
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
