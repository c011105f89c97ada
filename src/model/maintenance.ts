// Maintenance windows (issue 16): planned work on a host, a rack, a cluster or a datacenter. Before
// a window starts, tasks of jobs with `maintenance: "move"` leave its hosts within their disruption
// budgets; tasks of jobs with `maintenance: "endure"` are stopped gracefully at its start and started
// again in place at its end; nothing new is placed on its hosts from `start - closeMs` to its end.
import { z } from "zod";
import { DrainBlockReasons } from "./host.ts";
import type { DrainBlock, FailureDomain } from "./host.ts";
import type { Assert, TypesMatch } from "./resources.ts";

/** What a window covers: one host (by name), or every host of a rack, cluster or datacenter. */
export const MaintenanceScopes = ["host", "rack", "cluster", "datacenter"] as const;
/** One of MaintenanceScopes. */
export type MaintenanceScope = (typeof MaintenanceScopes)[number];

/** How long before a window's start its hosts take no new tasks, unless the window says. */
export const DefaultMaintenanceCloseMs = 10 * 60_000;
/** How long an "endure" job's tasks wait for their host after a window's end while the host is not
 * back, unless the job says (spec `maintenanceOverrun`): then they are placed elsewhere. */
export const DefaultMaintenanceOverrunMs = 15 * 60_000;
/** The longest such wait a job may set; a window that ended longer ago no longer holds anything. */
export const MaxMaintenanceOverrunMs = 7 * 24 * 3_600_000;

/** A window that ended while some of its hosts were not back (the leader's alert, drain-report.ts). */
export interface MaintenanceOverrun {
  /** When the leader saw it (epoch ms). */
  at: number;
  /** Names of the window's hosts not back (not up) now; empty once all returned. */
  hosts: string[];
  /** When the last of them came back (epoch ms); null while some are out. */
  backAt: number | null;
}

/** How long one step of moves takes, for a job's lead time (moves of `budget` tasks each step). */
export const MaintenanceMoveStepMs = 60_000;

/** A maintenance window (`/maintenance/<id>`). */
export interface MaintenanceWindow {
  id: string;
  scope: MaintenanceScope;
  /** The host's name, or the rack, cluster or datacenter name (as in the agents' labels). */
  target: string;
  /** Epoch ms. */
  start: number;
  durationMs: number;
  reason: string;
  /** How long before `start` the moves of "move" jobs begin. null: sized by each job's budget
   * (MaintenanceMoveStepMs per `budget` tasks of the job in the window). */
  leadMs: number | null;
  /** How long before `start` its hosts take no new tasks. null: DefaultMaintenanceCloseMs (at least the lead). */
  closeMs: number | null;
  createdAt: number;
  /** When it was cancelled (it then has no effect); null: not cancelled. */
  cancelledAt: number | null;
  /** Present once it ended with hosts not back (the overrun alert). */
  overrun?: MaintenanceOverrun;
  /** From its close to its end, per covered host with jobs still held there, what holds each job
   * and since when: the same report as a drain's (HostDrain.blocked), written by the leader. */
  report?: { host: string; blocked: DrainBlock[] }[];
}

/** The stored shape of a MaintenanceWindow. */
export const maintenanceWindowSchema = z.object({
  id: z.string(),
  scope: z.enum(MaintenanceScopes),
  target: z.string(),
  start: z.number(),
  durationMs: z.number(),
  reason: z.string(),
  leadMs: z.number().nullable(),
  closeMs: z.number().nullable(),
  createdAt: z.number(),
  cancelledAt: z.number().nullable(),
  overrun: z.object({ at: z.number(), hosts: z.array(z.string()), backAt: z.number().nullable() }).exactOptional(),
  report: z
    .array(z.object({ host: z.string(), blocked: z.array(z.object({ job: z.string(), reason: z.enum(DrainBlockReasons), detail: z.string(), tasks: z.array(z.number().int()), since: z.number() })) }))
    .exactOptional(),
});

/** Compile-time proof that the schema and the type agree. */
export type MaintenanceSchemaChecks = [Assert<TypesMatch<z.infer<typeof maintenanceWindowSchema>, MaintenanceWindow>>];

/** True when the window covers the host `name` in `domain`. */
export function windowCovers(w: Pick<MaintenanceWindow, "scope" | "target">, host: { name: string; domain: FailureDomain }): boolean {
  return w.scope === "host" ? host.name === w.target : host.domain[w.scope] === w.target;
}

/** The window's end (epoch ms). */
export function windowEnd(w: Pick<MaintenanceWindow, "start" | "durationMs">): number {
  return w.start + w.durationMs;
}

/** When the window's hosts stop taking new tasks. */
export function windowClosesAt(w: Pick<MaintenanceWindow, "start" | "leadMs" | "closeMs">): number {
  return w.start - Math.max(w.closeMs ?? DefaultMaintenanceCloseMs, w.leadMs ?? 0);
}

/** The lead of a job's moves before a window: the window's own, or one step per `budget` of its
 * `tasks` in the window (at least one step). */
export function jobLeadMs(w: Pick<MaintenanceWindow, "leadMs">, tasks: number, budget: number): number {
  return w.leadMs ?? Math.max(1, Math.ceil(tasks / Math.max(1, budget))) * MaintenanceMoveStepMs;
}

/** Where a window stands at `now`: what `tiffin maintenance list` and the dashboard word. `overrun`:
 * past its end with hosts not back; `overran`: it did, and they are back. */
export type WindowPhase = "cancelled" | "overrun" | "overran" | "ended" | "active" | "closing" | "planned";

/** The phase of a window at `now` (pure). */
export function windowPhase(w: MaintenanceWindow, now: number): WindowPhase {
  if (w.cancelledAt !== null) return "cancelled";
  const o = w.overrun;
  if (o && o.hosts.length > 0) return "overrun";
  if (o && o.backAt !== null) return "overran";
  if (now >= windowEnd(w)) return "ended";
  if (now >= w.start) return "active";
  if (now >= windowClosesAt(w)) return "closing";
  return "planned";
}
