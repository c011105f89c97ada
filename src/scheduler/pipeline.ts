// The stack: how filters and scores combine into one decision, shared by the fast planner and the
// naive loop, so the two can differ only in which hosts they look at, never in what they decide.
//
//   host ──> static filters (cached per pool) ──> dynamic filters ──> scores ──> key ──> best key wins
//
// - Static filters run first: their verdict is one array read once cached, and a host that can
//   never take the job should be reported for that (os, labels...) rather than for its load.
// - Dynamic filters follow in filters.ts's order; the first failure is the host's reason.
// - Scores are compared lexicographically in SCORES order, each followed by its own seeded
//   tie-break. Spread comes first because failure isolation is a promise to the job owner;
//   bin-packing only chooses among hosts spread considers equal.
// - Last come seeded path ties (the host's domains below the spread level, then the host) and the
//   slot, so no two hosts ever compare equal and the plan is a function of input and seed.

import type { RejectReason } from "./types.ts";
import type { PlanContext } from "./context.ts";
import { DYNAMIC_FILTERS } from "./filters.ts";
import { tieOf } from "./hash.ts";
import { PASS, REASONS, staticCode } from "./pools.ts";
import { SCORES } from "./scores.ts";
import { HASH, RACK, STRIDE } from "./state.ts";

/** Runs every filter on a host: null when it can take the task, else the first reason it cannot. */
export function evaluate(ctx: PlanContext, slot: number): RejectReason | null {
  const code = staticCode(ctx, slot);
  if (code !== PASS) return REASONS[code - 2]!;
  for (const f of DYNAMIC_FILTERS) {
    const r = f.filter(ctx, slot);
    if (r !== null) return r;
  }
  return null;
}

/** Where the bin-pack score sits in a key (after spread's score and tie). */
export const BINPACK_AT = 2;

/** Length of a host's key for a plan's spread level. */
export function keyLength(ctx: PlanContext): number {
  return 2 * SCORES.length + (RACK - ctx.level) + 2;
}

/** Where the path tie of the host's domain at `level` (below the spread level) sits in a key. */
export function pathTieAt(ctx: PlanContext, level: number): number {
  return 2 * SCORES.length + (level - ctx.level - 1);
}

/** Writes a host's key: bigger is better, compared entry by entry (ties are negated so lower wins). */
export function keyOf(ctx: PlanContext, slot: number, out: Float64Array): void {
  let k = 0;
  for (const s of SCORES) {
    out[k++] = s.score(ctx, slot);
    out[k++] = s.tie === null ? 0 : -s.tie(ctx, slot);
  }
  const st = ctx.st;
  for (let l = ctx.level + 1; l <= RACK; l++) out[k++] = -tieOf(st.nodes[st.anc[slot * 4 + l]!]!.hash, ctx.mix);
  out[k++] = -tieOf(st.hv[slot * STRIDE + HASH]!, ctx.mix);
  out[k] = -slot;
}

/** Positive when key `a` beats key `b`. */
export function compareKeys(a: Float64Array, b: Float64Array, n: number): number {
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}
