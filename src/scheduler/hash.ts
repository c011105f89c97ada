// Seeded tie-breaks without Math.random: every tie is settled by a 32-bit hash of a stable name,
// rotated by a per-plan mix, so the same input and seed always give the same plan while different
// jobs (and different seeds) fan out over different hosts.

/** FNV-1a over UTF-16 code units, finished with murmur3's mixer so nearby names spread apart. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** murmur3's 32-bit finalizer: a bijection that scrambles every bit. */
export function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The mix of one plan: the job's name and the caller's seed, so two jobs planned with the same seed still differ. */
export function planMix(job: string, seed: number): number {
  return fmix32(hash32(job) ^ Math.imul(seed | 0, 0x9e3779b9));
}

/**
 * A thing's place in a plan's tie order (lower wins). Subtracting the mix is a rotation of the
 * hash order, which lets the index keep domains sorted by hash once and start at any mix with a
 * binary search instead of re-sorting per plan.
 */
export function tieOf(hash: number, mix: number): number {
  return (hash - mix) >>> 0;
}

export { mulberry32 } from "../model/random.ts";
