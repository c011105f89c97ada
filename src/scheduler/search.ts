// Candidate generation: which hosts the pipeline looks at, so that it looks at few and still finds
// the host the naive loop would pick (naive.ts; the property test holds the two to the same plan).
//
// Two facts about the key (pipeline.ts) make this possible:
// 1. Spread's score and tie depend only on the host's domain at the spread level, and they come
//    first. So the winner lies in the first domain, in (count, seeded tie) order, that has any host
//    passing the filters. DomainWalk visits domains in exactly that order.
// 2. Inside one domain only the bin-pack score and the path ties vary. bestIn() searches the
//    domain's subtree best-first, pruning children whose bin-pack bound (summary.ts) cannot beat
//    the best host found so far. A rack (20 hosts or so) is simply scanned.

import type { PlanContext } from "./context.ts";
import { tieOf } from "./hash.ts";
import { BINPACK_AT, compareKeys, evaluate, keyLength, keyOf } from "./pipeline.ts";
import { RACK } from "./state.ts";
import type { DomainList } from "./state.ts";
import { eligible } from "./pools.ts";
import { scoreBound } from "./summary.ts";

/** Key buffers reused across one plan's searches. */
export interface Keys {
  n: number;
  best: Float64Array;
  cand: Float64Array;
  a: Float64Array;
  b: Float64Array;
}

/** Allocates key buffers for a plan. */
export function keysFor(ctx: PlanContext): Keys {
  const n = keyLength(ctx);
  return { n, best: new Float64Array(n), cand: new Float64Array(n), a: new Float64Array(n), b: new Float64Array(n) };
}

/** True when host `x` beats host `y` by the pipeline's key. */
export function beats(ctx: PlanContext, keys: Keys, x: number, y: number): boolean {
  keyOf(ctx, x, keys.a);
  keyOf(ctx, y, keys.b);
  return compareKeys(keys.a, keys.b, keys.n) > 0;
}

/** The best host under `node` that passes every filter, or -1. */
export function bestIn(ctx: PlanContext, keys: Keys, node: number): number {
  const n = ctx.st.nodes[node]!;
  return n.level === RACK ? scanRack(ctx, keys, n.children) : searchChildren(ctx, keys, n.children);
}

function scanRack(ctx: PlanContext, keys: Keys, slots: readonly number[]): number {
  let best = -1;
  for (const slot of slots) {
    if (evaluate(ctx, slot) !== null) continue;
    keyOf(ctx, slot, keys.cand);
    if (best < 0 || compareKeys(keys.cand, keys.best, keys.n) > 0) {
      best = slot;
      const t = keys.best;
      keys.best = keys.cand;
      keys.cand = t;
    }
  }
  return best;
}

/** A child domain with the bound of its bin-pack scores and its seeded tie. */
interface Cand {
  node: number;
  bound: number;
  tie: number;
}

function searchChildren(ctx: PlanContext, keys: Keys, children: readonly number[]): number {
  const st = ctx.st;
  const cands: Cand[] = [];
  for (const c of children) {
    const bound = scoreBound(st, c, ctx.cpuRung, ctx.memRung, ctx.diskMiB);
    if (bound >= 0) cands.push({ node: c, bound, tie: tieOf(st.nodes[c]!.hash, ctx.mix) });
  }
  // Best bound first, so the first hosts found are likely winners and the rest get pruned.
  cands.sort((x, y) => y.bound - x.bound || x.tie - y.tie);
  let best = -1;
  let bestScore = -1;
  let bestTie = 0;
  for (const c of cands) {
    if (best >= 0) {
      // Sorted by bound: nothing after this can reach the best score either.
      if (c.bound < bestScore) break;
      // Equal bound: its hosts can at most tie on bin-pack, and then lose on this level's path tie.
      if (c.bound === bestScore && c.tie > bestTie) continue;
    }
    const h = bestIn(ctx, keys, c.node);
    if (h < 0) continue;
    if (best < 0 || beats(ctx, keys, h, best)) {
      best = h;
      keyOf(ctx, h, keys.a);
      bestScore = keys.a[BINPACK_AT]!;
      bestTie = c.tie;
    }
  }
  return best;
}

/**
 * Visits the domains at the spread level in the order spread ranks them: fewest tasks of the job
 * first, then the plan's seeded rotation of the hash order. Round by round: in round c the cursor
 * sweeps the rotation once, offering each live domain that holds c tasks; a domain without any
 * feasible host is dead for the rest of the plan (a plan only ever adds load, so it cannot come
 * back), and one without any host meeting the job's constraints is known so to its pool (one read
 * on later visits). Each placement costs O(1) steps of the sweep plus one search.
 */
export class DomainWalk {
  readonly #ctx: PlanContext;
  readonly #keys: Keys;
  readonly #list: DomainList;
  readonly #start: number;
  /** Positions of dead domains (few: a Set, not a per-plan array of the pool's size). */
  readonly #dead = new Set<number>();
  #round = -1;
  #pos: number;

  constructor(ctx: PlanContext, keys: Keys, list: DomainList) {
    this.#ctx = ctx;
    this.#keys = keys;
    this.#list = list;
    this.#start = lowerBound(list.hashes, ctx.mix);
    this.#pos = list.nodes.length;
    // A job with no tasks yet has 0 everywhere: start round 0 without a scan.
    if (ctx.job.counts.size === 0) {
      this.#round = 0;
      this.#pos = 0;
    }
  }

  /** The best host for the next task (no avoid list), or -1 when no domain has room. */
  next(): number {
    const d = this.#list.nodes.length;
    const counts = this.#ctx.job.counts;
    for (;;) {
      if (this.#pos >= d) {
        this.#round = this.#minLiveCount();
        if (this.#round < 0) return -1;
        this.#pos = 0;
      }
      while (this.#pos < d) {
        const i = (this.#start + this.#pos++) % d;
        if (this.#dead.size > 0 && this.#dead.has(i)) continue;
        const node = this.#list.nodes[i]!;
        if ((counts.get(node) ?? 0) !== this.#round) continue;
        const h = eligible(this.#ctx, node) ? bestIn(this.#ctx, this.#keys, node) : -1;
        if (h >= 0) return h;
        this.#dead.add(i);
      }
    }
  }

  /**
   * The best host for a task with an avoid list: the same order, but domains that fail only for
   * this task stay alive, so it takes a full ordering (rare: only tasks that were moved).
   */
  nextAvoiding(): number {
    const d = this.#list.nodes.length;
    const counts = this.#ctx.job.counts;
    const order: { i: number; count: number; pos: number }[] = [];
    for (let pos = 0; pos < d; pos++) {
      const i = (this.#start + pos) % d;
      if (!this.#dead.has(i)) order.push({ i, count: counts.get(this.#list.nodes[i]!) ?? 0, pos });
    }
    order.sort((x, y) => x.count - y.count || x.pos - y.pos);
    for (const o of order) {
      if (!eligible(this.#ctx, this.#list.nodes[o.i]!)) continue;
      const h = bestIn(this.#ctx, this.#keys, this.#list.nodes[o.i]!);
      if (h >= 0) return h;
    }
    return -1;
  }

  #minLiveCount(): number {
    const counts = this.#ctx.job.counts;
    let min = -1;
    for (let i = 0; i < this.#list.nodes.length; i++) {
      if (this.#dead.size > 0 && this.#dead.has(i)) continue;
      const c = counts.get(this.#list.nodes[i]!) ?? 0;
      if (min < 0 || c < min) min = c;
    }
    return min;
  }
}

/** First index whose hash is >= x (wrapping to 0): where the plan's rotation starts. */
function lowerBound(hashes: Uint32Array, x: number): number {
  let lo = 0;
  let hi = hashes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (hashes[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo === hashes.length ? 0 : lo;
}
