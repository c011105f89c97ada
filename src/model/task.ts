// Tasks and attempts. A task is one replica slot of a job (`job/index`); an attempt is one start of it on
// one host. The server owns `desired`; the agent reports everything else about an attempt.
//
//   pending ──> starting ──> running ──> healthy <──> unhealthy
//      │            │           │            │            │
//      └────────────┴───────────┴────────────┴────────────┴──> exited | stopped | failed | lost
//
// exited: the process ended by itself (exitCode or signal set). stopped: the server asked for the stop
// (a new version, fewer replicas, a drain, a restart; also before it started): not a failure.
// failed: it could not start or was killed for a reason Tiffin saw (health, fencing, disk, out of
// memory, helper gone); `reason` says which. lost: the host went down and nothing more is known.

/** The states of an attempt. */
export const AttemptStates = ["pending", "starting", "running", "healthy", "unhealthy", "exited", "stopped", "failed", "lost"] as const;
/** One attempt state. */
export type AttemptState = (typeof AttemptStates)[number];

/**
 * Why an attempt ended, typed, so decisions never read the free-text `reason`: exit (the process
 * ended by itself), start (it could not start), health (its health check's action stopped it), oom
 * (killed at its memory limit), disk (over its disk limit), fence (its helper lost the agent), stop
 * (the agent or server stopped it), helper (its helper was stopped), lost (its host went down).
 */
export const AttemptEndCauses = ["exit", "start", "health", "oom", "disk", "fence", "stop", "helper", "lost"] as const;
/** One end cause. */
export type AttemptEndCause = (typeof AttemptEndCauses)[number];

/** True when the attempt has ended and will not change again. */
export function isTerminal(state: AttemptState): boolean {
  return state === "exited" || state === "stopped" || state === "failed" || state === "lost";
}

/** One start of a task on a host. */
export interface Attempt {
  id: string;
  job: string;
  index: number;
  version: number;
  hostId: string;
  /** What the server wants; "stop" makes the agent stop it. */
  desired: "run" | "stop";
  state: AttemptState;
  /** The task's process id on its host, once started: its init (`timeout`, leading its process group;
   * for a sandbox, the container's init), which a kill -9 of ends the task whole. */
  pid: number | null;
  exitCode: number | null;
  signal: string | null;
  reason: string | null;
  /**
   * True when the attempt failed to start for a reason no retry can cure (the kernel refuses what the
   * spec asks: a NUL byte, an over-long argument, a file that is also a folder): the server does not
   * restart or move it; a new version starts again. Absent otherwise.
   */
  incurable?: boolean;
  /** Why it ended (set with its terminal state); absent while it runs and from older agents. */
  endCause?: AttemptEndCause;
  /** Ports allocated by the agent, by name. */
  ports: Record<string, number>;
  createdAt: number;
  /** The agent must not start it before this time (restart back-off). */
  startAfter: number;
  startedAt: number | null;
  endedAt: number | null;
  /** The latest resource sample of a sandboxed attempt (absent before sampling existed, null when none). */
  usage?: ResourceUsage | null;
}

/** What an attempt's cgroup says it uses, sampled by its helper. */
export interface ResourceUsage {
  /** Epoch ms of the sample. */
  at: number;
  /** CPU time used since the start, seconds. */
  cpuSeconds: number;
  /** Cores used on average since the previous sample (null for the first one). */
  cpuCores: number | null;
  memoryBytes: number;
  /** The most memory used so far (null where the kernel does not say). */
  memoryPeakBytes: number | null;
  /** Processes and threads now (null without the pids controller). */
  pids: number | null;
}

/** One replica slot of a job. */
export interface Task {
  job: string;
  index: number;
  /** Job version the task should run. */
  version: number;
  /** Host the task is placed on, or null while unplaced. */
  hostId: string | null;
  /** The current attempt, or null before the first start. */
  attemptId: string | null;
  /** Consecutive failed attempts; reset when an attempt stays healthy. */
  failures: number;
  /** Hosts the task was moved away from; the scheduler avoids them. */
  avoidHosts: string[];
  /** Why the task is not placed, when it is not. */
  unplacedReason: string | null;
  /** Set with `unplacedReason` when no registered host could ever run the task, even empty (it asks
   * for more than any host has, or constraints none meets): waiting cannot help. */
  neverFits?: boolean;
  /** Set when the task kept failing on every host it was given: it is not placed again (no attempt
   * is started) until the next apply of its job or `tiffin restart`. Absent in older records. */
  parked?: { at: number; reason: string } | null;
}

/** `job/index`, the id users see. */
export function taskId(job: string, index: number): string {
  return `${job}/${index}`;
}
