// What `tiffin plan` says of a file's workflows (batch.after, issue 18): the order its batch jobs'
// runs go in, each after the jobs it names. Pure; the cycles were refused when the file compiled.

import { afterOrder } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";

/** "batch order: extract, then transform, then load (each run waits for the newest runs of the jobs
 * it names)"; "" when no job of the file names another. */
export function renderBatchOrder(specs: readonly JobSpec[]): string {
  const inFile = new Set(specs.map((s) => s.name));
  const edges = new Map<string, string[]>();
  for (const s of specs) {
    const after = (s.batch?.after ?? []).filter((n) => inFile.has(n));
    if (after.length === 0) continue;
    edges.set(s.name, after);
    // An upstream job without edges of its own is a node too (set again if its own edges come later).
    for (const up of after) if (!edges.has(up)) edges.set(up, []);
  }
  const order = edges.size > 0 ? afterOrder(edges) : null;
  if (!order) return "";
  const outside = specs.flatMap((s) => (s.batch?.after ?? []).filter((n) => !inFile.has(n)).map((n) => `${s.name} after ${n}`));
  return `batch order: ${order.join(", then ")} (each run waits for the newest runs of the jobs it names)${outside.length > 0 ? `; on jobs not in this file: ${outside.join(", ")}` : ""}\n`;
}
