// The scheduler's contract: pure data in, a plan out, no I/O (see docs/architecture.md, "Scheduler").
// The server keeps one `ClusterIndex` in memory, mirrored from the store, and asks it for plans.

import type { FailureDomain, HostCapacity, JobSpec, Resources } from "../model/index.ts";

/** A host as the scheduler sees it. Only hosts with `schedulable` true receive new tasks. */
export interface SchedHost extends HostCapacity {
  id: string;
  name: string;
  domain: FailureDomain;
  os: { id: string; version: string };
  kernel: string;
  labels: Record<string, string>;
  /** Whether the host can run sandboxed tasks (it reported an OCI runtime). @default true */
  sandbox?: boolean;
  /** Capabilities its agent lets sandboxed tasks ask for ("CAP_..."). @default none */
  capabilities?: readonly string[];
  /** Whether its agent runs isolation "none" tasks (`--allow-unsandboxed`). @default true (the server
   * says false for agents that do not report it) */
  unsandboxed?: boolean;
  /** False when draining, down or suspect: keeps its tasks in the index, takes no new ones. */
  schedulable: boolean;
}

/** A task occupying a host (what the index needs to know about it). */
export interface SchedTask extends Resources {
  job: string;
  index: number;
  hostId: string;
  antiAffinity: string | null;
}

/** A request to place some tasks of one job. */
export interface PlanRequest {
  spec: JobSpec;
  /** Task indexes that need a host. Tasks of the job already in the index count for spread. */
  indexes: number[];
  /** Per task index, hosts not to use (the task was moved away from them). */
  avoid?: Record<number, string[]>;
  /** Seed for tie-breaks; the same input and seed give the same plan. */
  seed?: number;
}

/** Why a host was rejected, counted per unplaced task so the CLI can explain. */
export type RejectReason =
  | "not-schedulable"
  | "cpu"
  | "memory"
  | "disk"
  | "os"
  | "kernel"
  | "labels"
  | "anti-affinity"
  | "avoided"
  | "no-sandbox"
  | "capabilities"
  | "unsandboxed-refused";

/** The outcome of planning: where each task goes, and why the rest could not go anywhere. */
export interface Plan {
  job: string;
  placements: { index: number; hostId: string }[];
  unplaced: { index: number; reasons: Partial<Record<RejectReason, number>> }[];
}
