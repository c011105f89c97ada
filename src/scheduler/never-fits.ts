// "Could this job ever run here?": whether any registered host, empty and open, could take one of
// its tasks. A job that asks for 64 GiB on 8 GiB hosts waits forever, and saying "memory on 2 hosts"
// (as for a full cluster) misleads; this says plainly that it can never fit, and why.
// The verdict comes from the scheduler's own filters (a plan on an empty copy of the fleet), so it
// cannot disagree with placement.

import type { JobSpec } from "../model/index.ts";
import { ClusterIndex } from "./cluster.ts";
import type { RejectReason, SchedHost } from "./types.ts";

/** Why no registered host could ever run a task of `spec` (even with nothing else on it, not
 * draining, up), or null when one could. Also null with no hosts at all (a fleet still starting). */
export function neverFits(spec: JobSpec, hosts: readonly SchedHost[]): string | null {
  if (hosts.length === 0) return null;
  const empty = new ClusterIndex(hosts.map((h) => ({ ...h, schedulable: true })), []);
  // One task, no spread or anti-affinity to honour: those depend on other tasks, not on the hosts.
  const plan = empty.plan({ spec: { ...spec, antiAffinity: null, spread: "none" }, indexes: [0] });
  const u = plan.unplaced[0];
  if (!u) return null;
  const r = spec.resources;
  const largest = (f: (h: SchedHost) => number): number => Math.max(...hosts.map(f));
  const short: string[] = [];
  const n = hosts.length === 1 ? "the only host has" : `the largest of ${hosts.length} hosts has`;
  if (r.cpu > largest((h) => h.cores)) short.push(`${r.cpu} cpu (${n} ${largest((h) => h.cores)})`);
  if (r.memoryMiB > largest((h) => h.memoryMiB)) short.push(`${size(r.memoryMiB)} memory (${n} ${size(largest((h) => h.memoryMiB))})`);
  if (r.diskMiB > largest((h) => h.diskMiB)) short.push(`${size(r.diskMiB)} disk (${n} ${size(largest((h) => h.diskMiB))})`);
  if (short.length > 0) return `no host could ever fit it: it needs ${short.join(", ")}`;
  const why = (Object.entries(u.reasons) as [RejectReason, number][])
    .filter(([, k]) => k > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([reason, k]) => `${reason} on ${k} host${k === 1 ? "" : "s"}`);
  return `no host could ever fit it, even empty: ${why.join(", ")}`;
}

/** MiB as users write them: "64Gi", "1536Mi". */
function size(mib: number): string {
  return mib % 1024 === 0 ? `${mib / 1024}Gi` : `${mib}Mi`;
}
