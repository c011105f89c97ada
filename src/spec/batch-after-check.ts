// The checks of `batch.after` between the jobs of one file (issue 18, workflows): no job runs after
// itself, the jobs named in the file are batch jobs, and the edges have no cycle (named, job by job).
// Jobs named but not in the file are the server's to know (a run waiting for one that has no run is
// cancelled with the reason).

import { afterCycle } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";

/** The `batch.after` problems of a file's compiled jobs: for which spec (index into `specs`), what. */
export function afterProblems(specs: readonly JobSpec[]): { spec: number; message: string }[] {
  const out: { spec: number; message: string }[] = [];
  const byName = new Map(specs.map((s) => [s.name, s]));
  specs.forEach((s, i) => {
    for (const up of s.batch?.after ?? []) {
      const u = byName.get(up);
      if (up === s.name) out.push({ spec: i, message: `job ${s.name} cannot run after itself` });
      else if (u && !u.batch) out.push({ spec: i, message: `job ${up} is not a batch job: \`after\` names batch jobs, whose runs end` });
    }
  });
  if (out.length > 0) return out;
  const cycle = afterCycle(new Map(specs.map((s) => [s.name, s.batch?.after ?? []])));
  if (cycle) {
    const first = specs.findIndex((s) => s.name === cycle[0]);
    out.push({ spec: first, message: `batch jobs wait for each other in a cycle: ${cycle.join(" runs after ")}; no run of them could start` });
  }
  return out;
}
