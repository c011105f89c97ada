// What a task's failure leads to: a restart where it is (after its back-off), a move to another host,
// or parking. Pure, table-tested in restart-policy.test.ts; decideJob applies the verdict.
//
// The failure count is the task's, not the host's: it survives moves, so the back-off keeps growing
// to its cap on the next host instead of starting over at once (a broken spec otherwise restarted
// every 0.7 s, hopping between hosts). Every `moveAfterFailures`-th failure moves the task; once it
// has failed that often on each of up to ParkAfterHosts hosts, it is parked.

import type { Attempt, JobSpec } from "../../model/index.ts";

/** A task is parked once it failed `moveAfterFailures` times on this many hosts (fewer when the
 * fleet is smaller): a spec that fails on three machines is broken, not unlucky. */
export const ParkAfterHosts = 3;

/** What to do after a task's `failures`-th consecutive failure. */
export type FailureVerdict = "restart" | "move" | "park";

/** Consecutive failures after which a task is parked, on a fleet of `hostsUp` usable hosts. */
export function parkAfterFailures(restart: JobSpec["restart"], hostsUp: number): number {
  return restart.moveAfterFailures * Math.max(1, Math.min(ParkAfterHosts, hostsUp));
}

/** The verdict after `failures` consecutive failures (this one included). `healthMove`: a failed
 * health check whose action is "move". */
export function afterFailure(restart: JobSpec["restart"], failures: number, hostsUp: number, healthMove: boolean): FailureVerdict {
  if (failures >= parkAfterFailures(restart, hostsUp)) return "park";
  if (healthMove || failures % restart.moveAfterFailures === 0) return "move";
  return "restart";
}

/** How an ended attempt ended, in a few words: its reason, else its signal or exit code. */
export function endOf(a: Attempt): string {
  if (a.reason) return a.reason;
  if (a.signal) return `killed by ${a.signal}`;
  return a.exitCode === null ? a.state : `exit code ${a.exitCode}`;
}

/** The parked reason: how many failures on how many hosts, and the distinct ends of the last attempts. */
export function parkedReason(failures: number, ended: readonly Attempt[]): string {
  const recent = [...ended].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1)).slice(0, failures);
  const hosts = new Set(recent.map((a) => a.hostId)).size;
  const ends = [...new Set(recent.map(endOf))].slice(0, 3);
  return `failed ${failures} times in a row on ${hosts} host${hosts === 1 ? "" : "s"} (${ends.join("; ")}); \`tiffin restart\` or the next apply tries again`;
}
