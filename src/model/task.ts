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

import { z } from "zod";
import { resourceUsageSchema } from "./resources.ts";
import { batchRefSchema } from "./batch.ts";
export type { ResourceUsage } from "./resources.ts";

import { AttemptEndCauses, AttemptStates } from "./attempt-state.ts";
export * from "./attempt-state.ts";

/**
 * What the agent knows and reports about one attempt: the one declaration of the attempt status
 * fields, shared by the stored Attempt, the agent's AttemptUpdate and the server's check of it.
 */
export const attemptStatusSchema = z.object({
  state: z.enum(AttemptStates),
  /** The task's process id on its host, once started: its init (`timeout`, leading its process group;
   * for a sandbox, the container's init), which a kill -9 of ends the task whole. */
  pid: z.number().nullable(),
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  reason: z.string().nullable(),
  /**
   * True when the attempt failed to start for a reason no retry can cure (the kernel refuses what the
   * spec asks: a NUL byte, an over-long argument, a file that is also a folder): the server does not
   * restart or move it; a new version starts again. Absent otherwise (and from older agents).
   */
  incurable: z.boolean().exactOptional(),
  /** Why it ended (set with its terminal state); absent while it runs and from older agents. */
  endCause: z.enum(AttemptEndCauses).exactOptional(),
  /** Ports allocated by the agent, by name. */
  ports: z.record(z.string(), z.number()),
  startedAt: z.number().nullable(),
  endedAt: z.number().nullable(),
  /** The latest resource sample of a sandboxed attempt (absent before sampling existed, null when none). */
  usage: resourceUsageSchema.nullable().exactOptional(),
});
/** The status fields of an attempt (attemptStatusSchema). */
export type AttemptStatus = z.infer<typeof attemptStatusSchema>;

/** One attempt's status as an agent reports it (`POST /v1/agent/attempts`). */
export const attemptUpdateSchema = attemptStatusSchema.extend({ id: z.string() });
/** What the agent knows about one attempt (attemptUpdateSchema). */
export type AttemptUpdate = z.infer<typeof attemptUpdateSchema>;

/**
 * A metric health check that fired for an attempt (its agent said so), and what the server did:
 * "waiting" until the job's disruption budget lets it act (`heldAt` set once it held it back), then
 * "acting" (the attempt is stopped for it and ends with endCause "metric").
 */
export const metricActionSchema = z.object({
  /** Index in the spec's `metricChecks`. */
  check: z.number().int().min(0),
  /** The check in words: "errors above 5 for 30s". */
  condition: z.string(),
  /** The breaching value that fired it, read at `firedAt`; the breach began at `since`. */
  value: z.number(),
  since: z.number(),
  firedAt: z.number(),
  action: z.enum(["restart", "move"]),
  state: z.enum(["waiting", "acting"]),
  /** Set when the disruption budget held it back: when, the budget and how many tasks were down. */
  held: z.object({ at: z.number(), budget: z.number(), down: z.number() }).nullable(),
  actedAt: z.number().nullable(),
});
/** A fired metric check and the server's action on it (metricActionSchema). */
export type MetricAction = z.infer<typeof metricActionSchema>;

/** One start of a task on a host: what the server decides (identity, `desired`, timing) and the status. */
export const attemptSchema = attemptStatusSchema.extend({
  id: z.string(),
  job: z.string(),
  index: z.number(),
  version: z.number(),
  hostId: z.string(),
  /** What the server wants; "stop" makes the agent stop it. */
  desired: z.enum(["run", "stop"]),
  createdAt: z.number(),
  /** The agent must not start it before this time (restart back-off). */
  startAfter: z.number(),
  /** A metric health check fired for it (absent when none did, and in older records). */
  metricAction: metricActionSchema.exactOptional(),
  /** The run and item it serves, for a batch job's task (absent for services). */
  batch: batchRefSchema.exactOptional(),
});
/** One start of a task on a host (attemptSchema). */
export type Attempt = z.infer<typeof attemptSchema>;

/** One replica slot of a job. */
export const taskSchema = z.object({
  job: z.string(),
  index: z.number(),
  /** Job version the task should run. */
  version: z.number(),
  /** Host the task is placed on, or null while unplaced. */
  hostId: z.string().nullable(),
  /** The current attempt, or null before the first start. */
  attemptId: z.string().nullable(),
  /** Consecutive failed attempts; reset when an attempt stays healthy. */
  failures: z.number(),
  /** Hosts the task was moved away from; the scheduler avoids them. */
  avoidHosts: z.array(z.string()),
  /** Why the task is not placed, when it is not. */
  unplacedReason: z.string().nullable(),
  /** Set with `unplacedReason` when no registered host could ever run the task, even empty (it asks
   * for more than any host has, or constraints none meets): waiting cannot help. */
  neverFits: z.boolean().exactOptional(),
  /** Set when the task kept failing on every host it was given: it is not placed again (no attempt
   * is started) until the next apply of its job or `tiffin restart`. Absent in older records. */
  parked: z.object({ at: z.number(), reason: z.string() }).nullable().exactOptional(),
  /** A batch job's task: the run and item it serves (its index is the item's). Absent for services. */
  batch: batchRefSchema.exactOptional(),
});
/** One replica slot of a job (taskSchema). */
export type Task = z.infer<typeof taskSchema>;

/** `job/index`, the id users see. */
export function taskId(job: string, index: number): string {
  return `${job}/${index}`;
}
