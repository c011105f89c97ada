// Upper bounds of the bin-pack score per domain, so the search inside a large domain (a cluster, a
// datacenter, the whole fleet) can skip subtrees that cannot hold the winner.
//
// A plain "fullest host in this rack" bound is useless once the fleet is packed: every rack has a
// nearly full host that fits nothing. So the bound is request-aware: over a grid of free-CPU and
// free-memory rungs, the best score among hosts with at least that much of both free. A request
// reads the cell of the rungs at or below its size, which drops the hosts that cannot fit it (up to
// a factor of two between rungs).
// Summaries are computed lazily and only for dirty nodes, so rack-spread plans, which never search
// above a rack, pay nothing but a dirty flag.

import { CORES, DISK, MEM, RACK, STRIDE, UCPU, UDISK, UMEM } from "./state.ts";
import type { ClusterState } from "./state.ts";

/** Free-CPU rungs (cores). */
export const CPU_RUNGS = [0, 0.25, 0.5, 1, 2, 4, 8, 16, 32] as const;
/** Free-memory rungs (MiB). */
export const MEM_RUNGS = [0, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536] as const;
const CN = CPU_RUNGS.length;
const MN = MEM_RUNGS.length;
const WIDTH = 1 + CN * MN;
const EPS = 1e-9;

/** The bin-pack score of a host: how full it is now, 0 (empty) to 100 (full), averaged over CPU and memory. */
export function fullness(st: ClusterState, slot: number): number {
  const c = st.hv[slot * STRIDE + CORES]!;
  const m = st.hv[slot * STRIDE + MEM]!;
  const f = ((c > 0 ? st.hv[slot * STRIDE + UCPU]! / c : 1) + (m > 0 ? st.hv[slot * STRIDE + UMEM]! / m : 1)) * 50;
  return f < 0 ? 0 : f > 100 ? 100 : f;
}

/** The highest rung not above `x`: hosts that fit `x` all sit at or above it (summaries add the filters' slack). */
export function rung(rungs: readonly number[], x: number): number {
  let i = 0;
  while (i + 1 < rungs.length && rungs[i + 1]! <= x) i++;
  return i;
}

/**
 * An upper bound of the bin-pack score of any schedulable host under `node` with room for the
 * request, or -1 when none can have room.
 */
export function scoreBound(st: ClusterState, node: number, cpuRung: number, memRung: number, disk: number): number {
  const s = summaryOf(st, node);
  if (s[0]! + EPS < disk) return -1;
  return s[1 + cpuRung * MN + memRung]!;
}

/** The highest rung index at or below `free` (with the filters' slack), or -1. */
function rungAt(rungs: readonly number[], free: number): number {
  let i = -1;
  while (i + 1 < rungs.length && rungs[i + 1]! <= free + EPS) i++;
  return i;
}

/**
 * Layout: [max free disk, then cell (i, j) = the best score among hosts with at least CPU rung i
 * and memory rung j free]. Two dimensions, not one ladder each: a packed fleet is full of hosts
 * with free CPU and no memory or the reverse, and per-dimension maxima would pair them up.
 */
function summaryOf(st: ClusterState, id: number): Float64Array {
  const n = st.nodes[id]!;
  if (n.summary && !n.dirty) return n.summary;
  const s = n.summary ?? new Float64Array(WIDTH);
  s.fill(-1);
  s[0] = -Infinity;
  if (n.level === RACK) {
    for (const slot of n.children) {
      if (st.schedulable[slot] === 0) continue;
      const b = slot * STRIDE;
      const freeDisk = st.hv[b + DISK]! - st.hv[b + UDISK]!;
      if (freeDisk > s[0]!) s[0] = freeDisk;
      const i = rungAt(CPU_RUNGS, st.hv[b + CORES]! - st.hv[b + UCPU]!);
      const j = rungAt(MEM_RUNGS, st.hv[b + MEM]! - st.hv[b + UMEM]!);
      if (i < 0 || j < 0) continue;
      const score = fullness(st, slot);
      const k = 1 + i * MN + j;
      if (score > s[k]!) s[k] = score;
    }
    // A host with rungs (i, j) also qualifies for every smaller pair: take suffix maxima.
    for (let i = CN - 1; i >= 0; i--) {
      for (let j = MN - 1; j >= 0; j--) {
        const k = 1 + i * MN + j;
        let v = s[k]!;
        if (i + 1 < CN && s[k + MN]! > v) v = s[k + MN]!;
        if (j + 1 < MN && s[k + 1]! > v) v = s[k + 1]!;
        s[k] = v;
      }
    }
  } else {
    for (const c of n.children) {
      const cs = summaryOf(st, c);
      for (let i = 0; i < WIDTH; i++) if (cs[i]! > s[i]!) s[i] = cs[i]!;
    }
  }
  n.summary = s;
  n.dirty = false;
  return s;
}
