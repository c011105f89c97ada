// The tracker's memory: which agent holds which pieces of which package, where it serves them, the
// origin leases and the assignments handed out. It is SOFT STATE, kept in memory only and never in
// the store: agents announce in full at start, every `announceMs`, and whenever the epoch in an answer
// changes (this server restarted, or the agent moved to another server), so a lost tracker is rebuilt
// within one announce interval; meanwhile fetchers fall back to the origin. Agents whose host is down
// (and that have not called the tracker for SeenRecentlyMs), or that stopped announcing, are forgotten.

import { randomBytes } from "node:crypto";
import type { SwarmFetches, SwarmPackageFetches } from "../../api/swarm-fetches.ts";
import type { SwarmAnnounce, SwarmPlanRequest, SwarmReport, SwarmSource } from "../../api/types.ts";
import type { OriginLease, TrackerLimits } from "./plan.ts";
import { DefaultTrackerLimits, planFetch, randomRank } from "./plan.ts";

/** What a Tracker needs. */
export interface TrackerOptions {
  /** Whether the host is down (liveness): its pieces are no longer handed out. */
  isDown: (hostId: string) => boolean;
  limits?: Partial<TrackerLimits>;
  /** How often agents announce in full; silent for 3 times this, an agent is forgotten. @default 30000 */
  announceMs?: number;
  /** How long a fetcher with nothing to do waits before asking again. @default 300 */
  retryMs?: number;
  /** Tie-breaks (tests fix them). @default randomRank() per plan */
  rank?: () => (key: string) => number;
  /** How long a finished fetch stays in `fetches()` (a progress bar at 100 % before it goes). @default 60000 */
  keepFinishedMs?: number;
}

/** One host's fetch of a package, as the tracker saw it (`fetches()`). */
interface FetchProgress {
  startedAt: number;
  finishedAt: number | null;
  /** Pieces that arrived while assigned to a peer, or under the host's origin lease. */
  fromPeers: number;
  fromOrigin: number;
}

interface Peer {
  address: string;
  lastSeen: number;
}

interface PackageSwarm {
  /** Pieces each host holds: every one, or these indexes. */
  holders: Map<string, Set<number> | "all">;
  leases: Map<number, OriginLease>;
  /** Hosts excluded by ExcludeReporters distinct reporters: never handed out for this package again. */
  bad: Set<string>;
  /** Per host, the reporters that excluded it for themselves (a bad piece, or MaxFalseAnnounces false
   * announces): it is never handed out to them for this package again. */
  excludedBy: Map<string, Set<string>>;
  /** Per host, per reporter, pieces that reporter found missing there although the host announced them. */
  falseAnnounces: Map<string, Map<string, number>>;
  /** Pieces of the package, as the last plan request said (0: no plan yet). */
  total: number;
  /** Per fetcher, the source its planned pieces were given first, until they arrive or expire. */
  assignments: Map<string, Map<number, { host: string; until: number }>>;
  /** Origin fallbacks granted for pieces peers hold (see planFetch). */
  fallbacks: number;
  /** Hosts that asked for a plan (fetchers), for `fetches()`. */
  fetchers: Map<string, FetchProgress>;
  lastUsed: number;
}

/** Origin fallbacks a package may have, as a share of its pieces: with the leased first copies, the
 * origin sends at most about 1.4x the package whatever the number of fetchers. */
export const FallbackShare = 0.4;

/** False announces (a 404 for a piece it announced) one reporter reports of a host after which that
 * reporter excludes the host for the package. */
export const MaxFalseAnnounces = 3;

/** Distinct reporters that must each have excluded a host before it is excluded for every fetcher:
 * one agent's reports (forged, or from a broken agent) must not keep a healthy peer out of every swarm. */
export const ExcludeReporters = 2;

/** What the tracker did with a report. */
export type ReportOutcome =
  /** The report names no host the tracker knows for the package, a piece it does not list there, the
   * reporter itself, or a host the reporter (or everyone) already excluded. */
  | "ignored"
  /** A false announce below MaxFalseAnnounces: the piece is no longer listed for the peer (until it
   * announces it again). */
  | "forgotten"
  /** A bad piece, or the reporter's MaxFalseAnnounces-th false announce: the peer is no longer handed
   * out to the reporter for the package (others still get it). */
  | "excluded-for-reporter"
  /** As "excluded-for-reporter", and ExcludeReporters reporters have now excluded the peer: it is no
   * longer handed out to anyone for the package. */
  | "excluded";

/** A host that called the tracker this recently is used whatever liveness says: its heartbeats can
 * queue behind its own uploads on a saturated link (the fan-out benchmark saw hosts "down" for a few
 * seconds while they served pieces, and their holdings forgotten until their next full announce). */
export const SeenRecentlyMs = 10_000;

/** The plan a fetcher gets (SwarmPlan without the tokens, which the route adds). */
export interface TrackerPlan {
  pieces: { index: number; sources: SwarmSource[] }[];
  waiting: number;
  retryMs: number;
}

/** The in-memory tracker of one server. */
export class Tracker {
  /** Changes with every tracker: agents seeing a new one announce in full. */
  readonly epoch = randomBytes(6).toString("hex");
  readonly announceMs: number;
  readonly #o: TrackerOptions;
  readonly #limits: TrackerLimits;
  readonly #peers = new Map<string, Peer>();
  readonly #packages = new Map<string, PackageSwarm>();
  #prunedAt = 0;

  constructor(o: TrackerOptions) {
    this.#o = o;
    this.#limits = { ...DefaultTrackerLimits, ...o.limits };
    this.announceMs = o.announceMs ?? 30_000;
  }

  /** Records what `host` holds (replacing what was known when `full`). */
  announce(host: string, a: SwarmAnnounce, now: number): void {
    this.#prune(now);
    this.#seen(host, a.address, now);
    if (a.full) for (const p of this.#packages.values()) p.holders.delete(host);
    for (const h of a.packages) {
      const p = this.#pkg(h.id, now);
      if (h.complete) {
        p.holders.set(host, "all");
        this.#arrived(p, host, null, now);
        continue;
      }
      let set = p.holders.get(host);
      if (set === "all") continue;
      if (set === undefined) p.holders.set(host, (set = new Set()));
      for (const i of h.pieces) set.add(i);
      this.#arrived(p, host, h.pieces, now);
    }
  }

  /** Plans the next pieces of `host`'s fetch (which also tells what it holds). */
  plan(host: string, r: SwarmPlanRequest, now: number): TrackerPlan {
    this.#prune(now);
    this.#seen(host, r.address, now);
    const p = this.#pkg(r.packageId, now);
    p.total = r.total;
    const missing = new Set(r.missing);
    // A first plan, or a fetch again of a package fetched before (removed from the host meanwhile).
    const seen = p.fetchers.get(host);
    if (!seen || (seen.finishedAt !== null && missing.size > 0)) p.fetchers.set(host, { startedAt: now, finishedAt: null, fromPeers: 0, fromOrigin: 0 });
    const inflight = new Set(r.inflight);
    if (missing.size === 0) p.holders.set(host, "all");
    else {
      const held = new Set<number>();
      for (let i = 0; i < r.total; i++) if (!missing.has(i)) held.add(i);
      p.holders.set(host, held);
    }
    this.#arrived(p, host, null, now);
    // In-flight pieces keep their lease and assignment; everything else planned before is replaced.
    const mine = p.assignments.get(host) ?? new Map<number, { host: string; until: number }>();
    for (const i of mine.keys()) if (!inflight.has(i)) mine.delete(i);
    for (const [i, l] of p.leases) {
      if (l.host !== host) continue;
      if (inflight.has(i)) l.until = now + this.#limits.leaseMs;
      else p.leases.delete(i);
    }
    const want = r.missing.filter((i) => !inflight.has(i));
    const out = planFetch({
      fetcher: host,
      want,
      holders: this.#holdersOf(p, host, want, now),
      addresses: new Map([...this.#peers].map(([h, peer]) => [h, peer.address])),
      load: this.#load(now),
      leases: p.leases,
      fallback: new Set((r.fallback ?? []).filter((i) => !inflight.has(i))),
      originBudget: Math.max(0, Math.ceil(FallbackShare * r.total) - p.fallbacks),
      stuck: new Set((r.stuck ?? []).filter((i) => !inflight.has(i))),
      now,
      limits: this.#limits,
      rank: (this.#o.rank ?? randomRank)(),
    });
    for (const i of out.leased) p.leases.set(i, { host, until: now + this.#limits.leaseMs });
    p.fallbacks += out.fallbacks;
    for (const a of out.assigned) mine.set(a.index, { host: a.host, until: now + this.#limits.leaseMs });
    p.assignments.set(host, mine);
    return { pieces: out.pieces, waiting: out.waiting, retryMs: this.#o.retryMs ?? 300 };
  }

  /** `reporter` got a bad piece from `r.peer`, or a 404 for a piece the tracker listed there (the piece
   * is no longer listed there). A bad piece, or MaxFalseAnnounces false announces from one reporter,
   * exclude the peer for that reporter's plans of the package; once ExcludeReporters distinct
   * reporters excluded it, for everyone's. A reporter's reports about a peer it already excluded
   * change nothing (they are its own fetches that were under way). */
  report(reporter: string, r: SwarmReport, now: number): ReportOutcome {
    const p = this.#pkg(r.packageId, now);
    if (reporter === r.peer || p.bad.has(r.peer) || (p.excludedBy.get(r.peer)?.has(reporter) ?? false)) return "ignored";
    if ((r.kind ?? "bad-piece") === "bad-piece") {
      if (!p.holders.has(r.peer) && !this.#peers.has(r.peer)) return "ignored";
      return this.#exclude(p, r.peer, reporter);
    }
    const held = p.holders.get(r.peer);
    const index = r.index ?? -1;
    if (held === undefined || (held !== "all" && !held.has(index)) || (held === "all" && p.total > 0 && index >= p.total)) return "ignored";
    if (held !== "all") held.delete(index);
    else if (p.total > 0) p.holders.set(r.peer, new Set([...Array(p.total).keys()].filter((i) => i !== index)));
    // "all" of an unknown number of pieces: nothing left to believe of it for this package.
    else p.holders.delete(r.peer);
    let strikes = p.falseAnnounces.get(r.peer);
    if (!strikes) p.falseAnnounces.set(r.peer, (strikes = new Map()));
    const n = (strikes.get(reporter) ?? 0) + 1;
    strikes.set(reporter, n);
    return n < MaxFalseAnnounces ? "forgotten" : this.#exclude(p, r.peer, reporter);
  }

  /** The fetches in flight, per package: each fetcher's pieces held of the total, where its pieces
   * came from (peers or the origin) and what it is fetching now; fetches finished within
   * `keepFinishedMs` stay listed. Package names are the caller's to add (the tracker knows ids). */
  fetches(now: number): Omit<SwarmFetches, "packages"> & { packages: Omit<SwarmPackageFetches, "name" | "version">[] } {
    const keepMs = this.#o.keepFinishedMs ?? 60_000;
    const packages: Omit<SwarmPackageFetches, "name" | "version">[] = [];
    for (const [id, p] of this.#packages) {
      const fetchers: SwarmPackageFetches["fetchers"] = [];
      for (const [host, f] of p.fetchers) {
        if (f.finishedAt !== null && now - f.finishedAt > keepMs) continue;
        const held = p.holders.get(host);
        let inflightOrigin = 0;
        for (const l of p.leases.values()) if (l.host === host && l.until > now) inflightOrigin++;
        let inflightPeers = 0;
        for (const a of p.assignments.get(host)?.values() ?? []) if (a.until > now) inflightPeers++;
        const n = held === "all" ? p.total : (held?.size ?? 0);
        fetchers.push({
          host,
          held: n,
          complete: held === "all" || (p.total > 0 && n >= p.total),
          startedAt: f.startedAt,
          finishedAt: f.finishedAt,
          fromPeers: f.fromPeers,
          fromOrigin: f.fromOrigin,
          inflightPeers,
          inflightOrigin,
        });
      }
      if (fetchers.length === 0) continue;
      fetchers.sort((a, b) => Number(a.complete) - Number(b.complete) || a.host.localeCompare(b.host));
      let seeds = 0;
      for (const [h, held] of p.holders) if (held === "all" && !p.fetchers.has(h)) seeds++;
      packages.push({ id, pieces: p.total, seeds, originFallbacks: p.fallbacks, fetchers });
    }
    packages.sort((a, b) => a.id.localeCompare(b.id));
    return { epoch: this.epoch, at: now, keepMs, packages };
  }

  /** Counts for metrics and tests. */
  size(): { peers: number; packages: number } {
    return { peers: this.#peers.size, packages: this.#packages.size };
  }

  /** `reporter` excludes `peer` for itself; the ExcludeReporters-th reporter excludes it for everyone. */
  #exclude(p: PackageSwarm, peer: string, reporter: string): "excluded-for-reporter" | "excluded" {
    let by = p.excludedBy.get(peer);
    if (!by) p.excludedBy.set(peer, (by = new Set()));
    by.add(reporter);
    if (by.size < ExcludeReporters) return "excluded-for-reporter";
    p.bad.add(peer);
    p.holders.delete(peer);
    return "excluded";
  }

  #seen(host: string, address: string, now: number): void {
    this.#peers.set(host, { address, lastSeen: now });
  }

  #pkg(id: string, now: number): PackageSwarm {
    let p = this.#packages.get(id);
    if (!p) this.#packages.set(id, (p = { holders: new Map(), leases: new Map(), bad: new Set(), excludedBy: new Map(), falseAnnounces: new Map(), total: 0, assignments: new Map(), fallbacks: 0, fetchers: new Map(), lastUsed: now }));
    p.lastUsed = now;
    return p;
  }

  /** `host` now holds `indexes` (null: everything it holds): its leases on them end, and the
   * assignments of those pieces to it stop counting as load on their sources. A fetcher's arrived
   * pieces count as from the origin (its own lease) or from peers (an assignment). */
  #arrived(p: PackageSwarm, host: string, indexes: number[] | null, now: number): void {
    const holds = (i: number): boolean => {
      if (indexes !== null) return indexes.includes(i);
      const h = p.holders.get(host);
      return h === "all" || (h?.has(i) ?? false);
    };
    const f = p.fetchers.get(host);
    const fromOrigin = new Set<number>();
    for (const [i, l] of p.leases) {
      if (!holds(i)) continue;
      if (l.host === host) fromOrigin.add(i);
      p.leases.delete(i);
    }
    const mine = p.assignments.get(host);
    let fromPeers = 0;
    if (mine) {
      for (const i of mine.keys()) {
        if (!holds(i)) continue;
        if (!fromOrigin.has(i)) fromPeers++;
        mine.delete(i);
      }
    }
    if (!f) return;
    f.fromOrigin += fromOrigin.size;
    f.fromPeers += fromPeers;
    // Complete when the plan says nothing is missing, or announces added up to every piece.
    const held = p.holders.get(host);
    if (held === "all" || (p.total > 0 && (held?.size ?? 0) >= p.total)) f.finishedAt ??= now;
  }

  #holdersOf(p: PackageSwarm, fetcher: string, want: number[], now: number): Map<number, string[]> {
    const out = new Map<number, string[]>();
    const forgetMs = 3 * this.announceMs;
    for (const [h, held] of p.holders) {
      const peer = this.#peers.get(h);
      if (h === fetcher || !peer || p.bad.has(h) || p.excludedBy.get(h)?.has(fetcher) || now - peer.lastSeen > forgetMs || this.#down(h, peer, now)) continue;
      for (const i of want) {
        if (held !== "all" && !held.has(i)) continue;
        let list = out.get(i);
        if (!list) out.set(i, (list = []));
        list.push(h);
      }
    }
    return out;
  }

  /** Down for the tracker: down by liveness and silent here for SeenRecentlyMs. */
  #down(h: string, peer: Peer, now: number): boolean {
    return now - peer.lastSeen > SeenRecentlyMs && this.#o.isDown(h);
  }

  #load(now: number): Map<string, number> {
    const load = new Map<string, number>();
    for (const p of this.#packages.values()) {
      for (const mine of p.assignments.values()) {
        for (const a of mine.values()) if (a.until > now) load.set(a.host, (load.get(a.host) ?? 0) + 1);
      }
    }
    return load;
  }

  /** Forgets, at most once a second, agents that are down or silent and packages nobody touches. */
  #prune(now: number): void {
    if (now - this.#prunedAt < 1000) return;
    this.#prunedAt = now;
    const forgetMs = 3 * this.announceMs;
    for (const [h, peer] of this.#peers) {
      if (now - peer.lastSeen <= forgetMs && !this.#down(h, peer, now)) continue;
      this.#peers.delete(h);
      for (const p of this.#packages.values()) {
        p.holders.delete(h);
        p.assignments.delete(h);
        p.fetchers.delete(h);
        for (const [i, l] of p.leases) if (l.host === h) p.leases.delete(i);
      }
    }
    for (const [id, p] of this.#packages) {
      for (const mine of p.assignments.values()) for (const [i, a] of mine) if (a.until <= now) mine.delete(i);
      for (const [h, f] of p.fetchers) if (f.finishedAt !== null && now - f.finishedAt > (this.#o.keepFinishedMs ?? 60_000)) p.fetchers.delete(h);
      if (p.holders.size === 0 && now - p.lastUsed > forgetMs) this.#packages.delete(id);
    }
  }
}
