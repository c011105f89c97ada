// `batch.after` against the jobs already stored, at apply and plan (issue 18, workflows): the file's
// own checks (spec/batch-after-check.ts) see only its jobs, so a cycle closed through a stored job,
// or a stored service named as upstream, is refused here, naming the cycle.

import { afterCycle, ErrorCodes, TiffinError } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import type { Mirror } from "./mirror.ts";

/** Throws TIFFIN_SPEC_INVALID when `spec`'s `batch.after`, with the stored jobs' current specs,
 * names a stored job that is not a batch job or closes a cycle. */
export function checkAfterAtApply(m: Mirror, spec: JobSpec): void {
  const mine = spec.batch?.after ?? [];
  const graph = new Map<string, readonly string[]>();
  for (const [name, e] of m.jobs) {
    if (name === spec.name || e.value.removedAt !== null) continue;
    const cur = m.spec(name, e.value.version)?.spec;
    if (!cur) continue;
    if (mine.includes(name) && !cur.batch) refuse(spec, `job ${name} is not a batch job: \`after\` names batch jobs, whose runs end`);
    graph.set(name, cur.batch?.after ?? []);
  }
  graph.set(spec.name, mine);
  const cycle = afterCycle(graph);
  if (cycle?.includes(spec.name)) refuse(spec, `batch jobs wait for each other in a cycle: ${cycle.join(" runs after ")}; no run of them could start`);
}

function refuse(spec: JobSpec, message: string): never {
  throw new TiffinError(ErrorCodes.SpecInvalid, `job "${spec.name}": at batch.after: ${message}`, {
    hint: "name in `batch.after` only batch jobs that do not (through others) run after this one; see the cluster's with `tiffin jobs`",
    problems: [{ file: null, path: "batch.after", message, value: JSON.stringify(spec.batch?.after ?? []) }],
  });
}
