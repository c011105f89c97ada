// Score plugins: each ranks a host that passed every filter, 0 (worst) to 100 (best). The pipeline
// compares them in order: the first that differs decides, later ones only break its ties.

import type { PlanContext } from "./context.ts";
import { tieOf } from "./hash.ts";
import { ROOT } from "./state.ts";
import { fullness } from "./summary.ts";

/** One score. */
export interface ScorePlugin {
  name: string;
  /** 0..100, higher is better. */
  score(ctx: PlanContext, slot: number): number;
  /** Seeded order among hosts this plugin scores equally (lower first), or null for none. */
  tie: ((ctx: PlanContext, slot: number) => number) | null;
}

/** Node ids fit in 21 bits, so a 32-bit tie and the id pack exactly into one double. */
const NODE_BITS = 2 ** 21;

/**
 * Spread: prefer the failure domain (spec.spread) holding the fewest tasks of this job, counting
 * tasks already placed and those placed earlier in the same plan. 100 / (1 + count): monotone,
 * bounded, and equal counts give equal scores exactly. With spread "none" every host scores 100.
 * Equally loaded domains are ordered by the plan's seeded hash of the domain (then its id, should
 * two hashes collide), so concurrent plans fan out over different domains.
 */
export const spreadScore: ScorePlugin = {
  name: "spread",
  score(ctx, slot) {
    if (ctx.level === ROOT) return 100;
    return 100 / (1 + (ctx.job.counts.get(ctx.st.anc[slot * 4 + ctx.level]!) ?? 0));
  },
  tie(ctx, slot) {
    if (ctx.level === ROOT) return 0;
    const node = ctx.st.anc[slot * 4 + ctx.level]!;
    return tieOf(ctx.st.nodes[node]!.hash, ctx.mix) * NODE_BITS + node;
  },
};

/**
 * Bin-packing: prefer the fullest host that fits (its fill before this task, averaged over CPU and
 * memory), keeping emptier hosts free for large tasks. Fill before placement does not depend on
 * the request, which is what lets summaries bound it per domain.
 */
export const binpackScore: ScorePlugin = {
  name: "binpack",
  score: (ctx, slot) => fullness(ctx.st, slot),
  tie: null,
};

/** The scores in the order they are compared (spread first, then bin-packing). */
export const SCORES: readonly ScorePlugin[] = [spreadScore, binpackScore];
