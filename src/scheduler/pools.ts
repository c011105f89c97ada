// Static feasibility, cached across jobs. Jobs with the same constraints (os, kernel, labels) share a
// pool: one verdict per host, and per domain whether it holds any eligible host. Both are filled in
// lazily, as plans visit hosts and domains, so a new pool (or a freshly built index) costs nothing
// up front and a selective constraint's empty racks are skipped with one array read after their
// first visit. A host change bumps its stamp (only that host is re-checked) and the state's version
// (domain answers are forgotten and re-learned on the next visits).

import type { JobSpec } from "../model/index.ts";
import type { RejectReason } from "./types.ts";
import { compileConstraints, constraintKey } from "./context.ts";
import type { PlanContext, Pool } from "./context.ts";
import { STATIC_FILTERS } from "./filters.ts";
import { RACK, STAMP, STRIDE } from "./state.ts";
import type { ClusterState } from "./state.ts";

/** Static verdict codes: 1 pass, 2 + i the i-th reason below. */
export const PASS = 1;
/** Reasons by code - 2. */
export const REASONS: readonly RejectReason[] = ["not-schedulable", "os", "kernel", "labels", "no-sandbox", "capabilities", "unsandboxed-refused", "avoided", "anti-affinity", "cpu", "memory", "disk"];
const codeOf = new Map(REASONS.map((r, i) => [r, i + 2]));

/** Pools by constraint key. Bounded: distinct constraint sets are few, and a cleared pool only costs a rebuild. */
export class PoolRegistry {
  #pools = new Map<string, Pool>();

  /** The pool of a spec's constraints. */
  get(spec: JobSpec): Pool {
    const key = constraintKey(spec);
    let p = this.#pools.get(key);
    if (!p) {
      if (this.#pools.size >= 256) this.#pools.clear();
      p = { key, constraints: compileConstraints(spec), verdict: new Float64Array(0), eligible: new Uint8Array(0), version: -1 };
      this.#pools.set(key, p);
    }
    return p;
  }
}

/** The static verdict for a host: PASS or a reason code, from the cache when its stamp is current. */
export function staticCode(ctx: PlanContext, slot: number): number {
  const pool = ctx.pool;
  const st = ctx.st;
  if (pool.verdict.length < st.capacity) grow(pool, st);
  // verdict = stamp * 16 + code; stamps only grow, so an older stamp leaves a difference <= 0.
  const stamp = st.hv[slot * STRIDE + STAMP]!;
  const d = pool.verdict[slot]! - stamp * 16;
  if (d > 0) return d;
  let code = PASS;
  for (const f of STATIC_FILTERS) {
    const r = f.filter(ctx, slot);
    if (r !== null) {
      code = codeOf.get(r)!;
      break;
    }
  }
  pool.verdict[slot] = stamp * 16 + code;
  return code;
}

/** True when some host under `node` passes the static filters. */
export function eligible(ctx: PlanContext, node: number): boolean {
  const pool = ctx.pool;
  const st = ctx.st;
  if (pool.version !== st.version || pool.eligible.length < st.nodes.length) {
    pool.eligible = new Uint8Array(st.nodes.length + 64);
    pool.version = st.version;
  }
  const known = pool.eligible[node]!;
  if (known !== 0) return known === 1;
  const n = st.nodes[node]!;
  let yes = false;
  if (n.level === RACK) {
    for (const slot of n.children) if ((yes = staticCode(ctx, slot) === PASS)) break;
  } else {
    for (const c of n.children) if ((yes = eligible(ctx, c))) break;
  }
  pool.eligible[node] = yes ? 1 : 2;
  return yes;
}

function grow(pool: Pool, st: ClusterState): void {
  const v = new Float64Array(st.capacity);
  v.set(pool.verdict);
  pool.verdict = v;
}
