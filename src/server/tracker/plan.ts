// The tracker's decision, as a pure function: given who holds which pieces of a package, how busy
// each source already is and which pieces another agent is pulling from the origin, which pieces
// should this fetcher get now, and from whom. As in Uber's Kraken and Meta's Owl, one central view
// decides, instead of each peer guessing (BitTorrent): that is how the origin sends each piece about
// once however many agents fetch, while the pieces spread between the agents themselves.

import type { SwarmSource } from "../../api/types.ts";

/** The tracker's limits. */
export interface TrackerLimits {
  /** Concurrent uploads an agent serves; sources past this many assignments go last. @default 4 */
  maxUploads: number;
  /** Distinct peers one plan sends a fetcher to (connections per package per agent). @default 10 */
  maxPeersPerPlan: number;
  /** Peers listed per piece. @default 3 */
  sourcesPerPiece: number;
  /** Pieces one plan may send to the origin (new origin leases). @default 8 */
  originPerPlan: number;
  /** Origin leases live at once per package, over all fetchers. @default 16 */
  originPerPackage: number;
  /** Origin leases one fetcher holds at once: its other download slots stay free for pieces peers
   * hold (with all its slots on the origin's shared link, a fetcher took nothing from peers and
   * held its pieces back from them for seconds). @default 3 */
  originPerFetcher: number;
  /** Pieces per plan; the fetcher asks again as it runs out. @default 16 */
  maxPiecesPerPlan: number;
  /** How long an origin lease (and an assignment) lasts unless renewed. @default 30000 */
  leaseMs: number;
}

/** Defaults of TrackerLimits. */
export const DefaultTrackerLimits: TrackerLimits = {
  maxUploads: 4,
  maxPeersPerPlan: 10,
  sourcesPerPiece: 3,
  originPerPlan: 8,
  originPerPackage: 16,
  originPerFetcher: 3,
  maxPiecesPerPlan: 16,
  leaseMs: 30_000,
};

/** A fetcher's right to pull one piece from the origin, so two agents do not both pull it. */
export interface OriginLease {
  host: string;
  until: number;
}

/** What one planning decision reads. */
export interface PlanInput {
  fetcher: string;
  /** Indexes to plan: missing and not in flight. */
  want: readonly number[];
  /** Usable peers (up, not reported bad, not the fetcher) holding each index. */
  holders: ReadonlyMap<number, readonly string[]>;
  /** Where each peer serves pieces. */
  addresses: ReadonlyMap<string, string>;
  /** Outstanding assignments per source host (all packages). */
  load: ReadonlyMap<string, number>;
  /** Live and expired origin leases of this package by index. */
  leases: ReadonlyMap<number, OriginLease>;
  /** Peer-held indexes the fetcher could not get from peers after several tries: it asks for the origin. */
  fallback: ReadonlySet<number>;
  /** How many more such origin fallbacks the package may have (the origin sends each piece about
   * once, plus this share at most, whatever the number of fetchers). */
  originBudget: number;
  /** Fallback indexes the fetcher has failed with for long: the origin whatever the budget (a holder
   * that answers but never serves must not stall a fetch). */
  stuck: ReadonlySet<number>;
  now: number;
  limits: TrackerLimits;
  /** Tie-breaks between equals (random in production, fixed in tests): lower goes first. */
  rank: (key: string) => number;
}

/** The decision. */
export interface PlanOutput {
  pieces: { index: number; sources: SwarmSource[] }[];
  /** Indexes whose origin lease goes to (or stays with) the fetcher. */
  leased: number[];
  /** The first peer of each planned piece: counted as load on it until the piece arrives. */
  assigned: { index: number; host: string }[];
  /** Wanted pieces left out: leased to another fetcher, or over a limit. */
  waiting: number;
  /** Origin fallbacks granted (count them against the package's budget). */
  fallbacks: number;
}

/**
 * Plans a fetch. Rarest piece first (fewest usable holders; ties broken by `rank`), so scarce pieces
 * multiply before common ones. A piece no peer holds goes to the origin only under a lease (one
 * fetcher per piece); the others wait for it to appear on a peer. A piece peers hold lists up to
 * `sourcesPerPiece` of them, least loaded first, and never the origin, unless the fetcher asks for it
 * after failing with peers (`fallback`) and the package's origin budget allows: busy or slow peers
 * make fetchers wait, not fall back to the origin all at once.
 */
export function planFetch(i: PlanInput): PlanOutput {
  const { limits: L, now } = i;
  const rarity = (x: number): number => i.holders.get(x)?.length ?? 0;
  const order = [...i.want].sort((a, b) => rarity(a) - rarity(b) || i.rank(`piece:${a}`) - i.rank(`piece:${b}`));
  const load = new Map(i.load);
  const chosen = new Set<string>();
  let liveOrigin = [...i.leases.values()].filter((l) => l.until > now).length;
  let liveMine = [...i.leases.values()].filter((l) => l.until > now && l.host === i.fetcher).length;
  let granted = 0;
  let budget = i.originBudget;
  const out: PlanOutput = { pieces: [], leased: [], assigned: [], waiting: 0, fallbacks: 0 };
  for (const index of order) {
    if (out.pieces.length >= L.maxPiecesPerPlan) {
      out.waiting++;
      continue;
    }
    const holders = i.holders.get(index) ?? [];
    if (holders.length === 0) {
      const lease = i.leases.get(index);
      const mine = lease !== undefined && lease.host === i.fetcher && lease.until > now;
      const free = lease === undefined || lease.until <= now;
      if (mine || (free && granted < L.originPerPlan && liveOrigin < L.originPerPackage && liveMine < L.originPerFetcher)) {
        if (!mine) {
          granted++;
          liveOrigin++;
          liveMine++;
        }
        out.leased.push(index);
        out.pieces.push({ index, sources: [{ kind: "origin" }] });
      } else out.waiting++;
      continue;
    }
    // Fallbacks count as origin leases too: the origin's one link serves a few pieces at full speed
    // rather than every fetcher's at a trickle (at most originPerPackage at once).
    const mineLease = i.leases.get(index)?.host === i.fetcher && (i.leases.get(index)?.until ?? 0) > now;
    if ((i.stuck.has(index) || (i.fallback.has(index) && budget > 0)) && (mineLease || (liveOrigin < L.originPerPackage && liveMine < L.originPerFetcher))) {
      if (!mineLease) {
        budget--;
        out.fallbacks++;
        liveOrigin++;
        liveMine++;
      }
      out.leased.push(index);
      out.pieces.push({ index, sources: [{ kind: "origin" }] });
      continue;
    }
    const byLoad = [...holders].sort((a, b) => key(a) - key(b) || i.rank(`host:${a}`) - i.rank(`host:${b}`));
    const picked: string[] = [];
    for (const h of byLoad) {
      if (picked.length >= L.sourcesPerPiece) break;
      if (!i.addresses.has(h)) continue;
      if (!chosen.has(h)) {
        if (chosen.size >= L.maxPeersPerPlan) continue;
        chosen.add(h);
      }
      picked.push(h);
    }
    const first = picked[0];
    if (first === undefined) {
      out.waiting++;
      continue;
    }
    load.set(first, (load.get(first) ?? 0) + 1);
    out.assigned.push({ index, host: first });
    out.pieces.push({ index, sources: picked.map((h): SwarmSource => ({ kind: "peer", host: h, address: i.addresses.get(h) ?? "" })) });
  }
  return out;

  // Busy sources (at their upload limit) after all others, then the least loaded first.
  function key(h: string): number {
    const n = load.get(h) ?? 0;
    return (n >= L.maxUploads ? 1_000_000 : 0) + n;
  }
}

/** A `rank` for production: a fresh random number per key, stable within one plan. */
export function randomRank(): (key: string) => number {
  const memo = new Map<string, number>();
  return (k) => {
    let v = memo.get(k);
    if (v === undefined) {
      v = Math.random();
      memo.set(k, v);
    }
    return v;
  };
}
