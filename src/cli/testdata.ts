// Made-up API answers shared by the CLI's tests.
import type { HostView, JobStatus, PlanResult, TaskView } from "../api/types.ts";
import type { JobSpec, JobVersion } from "../model/job.ts";
import type { Attempt } from "../model/task.ts";

/** A canonical spec with every field set. */
export function spec(over: Partial<JobSpec> = {}): JobSpec {
  return {
    name: "web",
    command: ["node", "server.mjs"],
    env: {},
    files: {},
    replicas: 3,
    resources: { cpu: 0.25, memoryMiB: 64, diskMiB: 64 },
    constraints: { os: null, kernel: null, labels: {} },
    spread: "rack",
    antiAffinity: null,
    ports: ["http"],
    restart: { backoffInitialMs: 200, backoffMaxMs: 10_000, moveAfterFailures: 5 },
    health: { kind: "http", port: "http", path: "/healthz", intervalMs: 1000, timeoutMs: 500, failures: 3, graceMs: 5000, action: "restart" },
    stop: { signal: "SIGTERM", graceMs: 5000 },
    maintenance: "move",
    disconnect: { stopAfterMs: null },
    packages: [],
    ...over,
  };
}

/** An attempt of `web/index` at `version`. */
export function attempt(index: number, version: number, state: Attempt["state"], over: Partial<Attempt> = {}): Attempt {
  return {
    id: `att-${index}-${version}`,
    job: "web",
    index,
    version,
    hostId: `h${index + 1}`,
    desired: "run",
    state,
    pid: 1000 + index,
    exitCode: null,
    signal: null,
    reason: null,
    ports: { http: 20000 + index },
    createdAt: 0,
    startAfter: 0,
    startedAt: 0,
    endedAt: null,
    ...over,
  };
}

/** A task view whose current attempt is `attempt(index, version, state)`. */
export function task(index: number, version: number, state: TaskView["state"], over: Partial<TaskView> = {}): TaskView {
  const a = state === "unplaced" || state === "parked" ? null : attempt(index, version, state);
  return {
    id: `web/${index}`,
    index,
    version,
    hostId: a ? a.hostId : null,
    hostName: a ? `dev-${index + 1}` : null,
    state,
    attemptId: a ? a.id : null,
    pid: a ? a.pid : null,
    ports: a ? a.ports : {},
    failures: 0,
    reason: null,
    attempts: a ? [a] : [],
    ...over,
  };
}

/** `web` at `version` with the given tasks. */
export function status(version: number, tasks: TaskView[], over: Partial<JobSpec> = {}): JobStatus {
  return { name: "web", version, removed: false, spec: spec(over), tasks };
}

/** Three hosts in racks r1..r3. */
export const hosts: HostView[] = [1, 2, 3].map((i) => ({
  id: `h${i}`,
  name: `dev-${i}`,
  address: `127.0.0.1:${9000 + i}`,
  cores: 0.6,
  memoryMiB: 2048,
  diskMiB: 10_000,
  os: { id: "debian", version: "12" },
  kernel: "6.1.0",
  labels: {},
  runtime: "none",
  domain: { region: "dev", datacenter: "dc1", cluster: i < 3 ? "c1" : "c2", rack: `r${i}` },
  draining: i === 3,
  registeredAt: 0,
  status: i === 2 ? "suspect" : "up",
  lastHeartbeatAt: 0,
  tasks: i,
  unhealthy: 0,
  used: { cpu: 0.25 * i, memoryMiB: 64 * i, diskMiB: 64 * i },
}));

/** Two versions of web: 3 replicas, then 5 with more memory. */
export const versions: JobVersion[] = [
  { name: "web", version: 1, spec: spec(), createdAt: new Date(2026, 10, 23, 11, 0, 0).getTime() },
  { name: "web", version: 2, spec: spec({ replicas: 5, resources: { cpu: 0.25, memoryMiB: 128, diskMiB: 64 } }), createdAt: new Date(2026, 10, 23, 12, 0, 0).getTime() },
];

/** A plan that changes replicas and cannot place one task. */
export const plan: PlanResult = {
  name: "web",
  version: 2,
  current: 1,
  changed: true,
  diff: [{ path: "replicas", op: "change", before: 3, after: 4 }],
  placements: [
    { index: 1, hostId: "h2", hostName: "dev-2", rack: "r2", moved: false },
    { index: 0, hostId: "h1", hostName: "dev-1", rack: "r1", moved: true },
  ],
  unplaced: [{ index: 3, reasons: { cpu: 2, "not-schedulable": 1 } }],
};
