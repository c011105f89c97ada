// Plain data the pure reconcile functions take and return. The I/O around them (loop.ts, place.ts)
// builds these from the mirror and turns the results into store transactions.

import type { Attempt, HostDrain, HostStatus, JobRecord, JobSpec, MaintenanceWindow, Resources, Rollout, Task } from "../../model/index.ts";
import type { SchedHost } from "../../scheduler/types.ts";
import type { HeldDisruption } from "./approval-gate.ts";

/** CPU, memory and disk (declared once, in the model). */
export type { Resources } from "../../model/index.ts";

/** What the decisions need to know about a host. */
export interface HostState {
  id: string;
  status: HostStatus;
  draining: boolean;
  /** The drain's deadline, action and report (absent: a drain without them, or none). */
  drain?: HostDrain;
  /** Maintenance windows covering the host that have not ended or been cancelled (maintenance.ts). */
  windows?: MaintenanceWindow[];
  /** Windows covering the host that ended less than MaxMaintenanceOverrunMs ago while the host is
   * not up now (overrun: "endure" tasks wait for it up to their job's limit, maintenance.ts). */
  overrun?: MaintenanceWindow[];
  /** In a window's closed time (its close to its end): the host takes no new tasks. */
  closed?: boolean;
  /** Last heartbeat, or the upgrade window's end, or the server's start: the last sign of life. */
  lastContactAt: number;
  capacity: Resources;
}

/** Everything `decideJob` reads about one job. */
export interface JobInput {
  job: JobRecord;
  /** Spec of `job.version`. */
  spec: JobSpec;
  /** Specs of other versions (resources and disconnect policy of older attempts). */
  specOf: (version: number) => JobSpec | null;
  tasks: Task[];
  /** Every attempt of the job, terminal ones included. */
  attempts: Attempt[];
  hosts: ReadonlyMap<string, HostState>;
  /** A host as the scheduler sees it (runtime, OS, labels, size), for the in-place check; null: unknown. */
  schedHost: (hostId: string) => SchedHost | null;
  /** Resources in use per host, over all jobs (as the mirror has them before this decision), with
   * the number of tasks (each also books the per-task overhead, model TaskOverheadMiB). */
  usage: ReadonlyMap<string, Resources & { tasks?: number }>;
  now: number;
  fenceMs: number;
  /** How often agents heartbeat now (stretched for big fleets, liveness.ts effectiveTiming). */
  heartbeatMs: number;
  /** New attempt ids (injected so tables are deterministic). */
  newId: () => string;
  /** The job's latest rollout (rollout-step.ts gates the lifecycle by it); absent or null: none, every
   * task may move within the job's disruption budget. */
  rollout?: Rollout | null;
  /** An every-host job's tasks that should run now: index -> the host it belongs to (every-host-input.ts);
   * absent for a job with a count (its tasks are 0..replicas-1). */
  everyHost?: ReadonlyMap<number, string>;
  /** Answers of the job's approval endpoint (spec `disruption`), by task index; absent: none yet. */
  approvals?: ReadonlyMap<number, Approval>;
  /** The task indexes whose task or attempts changed since the job's last decision (an incremental
   * pass, decide.ts decideFocus); absent: decide every task (a full pass, or the job itself changed). */
  focus?: ReadonlySet<number>;
}

/** An application's answer to "may this task be disrupted now?" (server/approvals.ts). */
export interface Approval {
  ok: boolean;
  /** The application's reason, or what went wrong asking. */
  reason: string;
  at: number;
  /** What the application was asked about (drain, maintenance, rollout, restart, metric); absent: a drain or window move. */
  cause?: string;
  /** True when the application itself answered (`{approve, reason?}`); false: a timeout, an error,
   * an answer of another shape (`reason` says which). Absent: not known (an older asker). */
  answered?: boolean;
  /** Since when the same answer (ok, reason, cause) has come back: `at` is only the latest. */
  since?: number;
}

/** The writes one decision wants. Empty when the job is as it should be. */
export interface JobDecision {
  putTasks: Task[];
  deleteTasks: number[];
  putAttempts: Attempt[];
  deleteAttempts: string[];
  /** Disruptions held for the application's approval (approval-gate.ts); absent: none. */
  held?: HeldDisruption[];
}

/** A task the placement phase should (re)place. `move`: it still runs where it is (make-before-break). */
export interface PlacementNeed {
  index: number;
  avoid: string[];
  move: boolean;
}
