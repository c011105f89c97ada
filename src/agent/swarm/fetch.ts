// One package's pieces through the swarm: ask the tracker for a plan, fetch up to `parallel` pieces at
// once from the sources it names (peers; the origin for pieces no peer holds, under the tracker's
// lease), verify each by sha256 before it is stored (and so before it can be served), announce it,
// and ask again as the plan runs out.
//   - a peer that sends a bad piece is dropped for this package and reported; the piece comes from
//     the next source; a peer that answers 404 for a piece the tracker said it holds is reported too
//     (the tracker forgets the piece there, and stops handing a peer that keeps doing it out to this
//     agent; to every agent once a second one excluded it too);
//   - a peer that refuses the peer token (401) is asked again with the other token in force: it may
//     not have heard of the newest one yet, or the caller may hold an old one;
//   - a busy (503), slow or failing peer makes the piece wait for a later plan; after several such
//     waits the fetcher asks the tracker for the origin, which grants it within the package's budget;
//   - pieces already in the store are never fetched again, so a fetch interrupted in any way (even
//     kill -9) resumes with the missing ones;
//   - without a tracker (three plans in a row failed: an old server, or it is gone) pieces come from
//     the origin, `parallel` at a time; one lost plan is asked again;
//   - endgame: once every missing piece is in flight, one asked EndgameAfterMs ago is asked of another
//     holder too; the first intact copy wins and the other request is aborted.

import type { Logger } from "pino";
import type { SwarmAnnounceResponse, SwarmSource } from "../../api/types.ts";
import type { Manifest, PieceStore } from "../../pkg/index.ts";
import { decodePiece, piecesOf, PieceSize } from "../../pkg/index.ts";
import type { GetResult } from "./http-get.ts";
import type { TrackerClient } from "./tracker-client.ts";

/** Deferrals (every peer busy, slow or wrong) after which the fetcher asks the tracker for the origin. */
const MaxDeferrals = 5;
/** Deferrals with a peer failing (not only busy), about 10 s of them, after which the origin is asked
 * for whatever the package's budget: a holder that answers but never serves must not stall a fetch. */
const StuckDeferrals = 30;
/** Deferrals with every peer only busy (503) after which the same holds: busy peers are serving others,
 * so they are waited for much longer (in a big swarm under load, counting them as stuck sent every
 * fetcher to the origin at the end, whose one link then took a minute per piece). */
const BusyStuckDeferrals = 150;
/** Tracker calls failing in a row before pieces come from the origin without a plan: a plan lost to
 * a busy link or a closed connection is asked again, not answered by the origin for every missing piece. */
const MaxTrackerErrors = 3;
/** Hard failures of one piece (every source failed) before the fetch gives up. */
const MaxFailures = 3;
/** A fetch that makes no progress this long gives up (a lease held by a dead agent lasts 30 s). */
const StallMs = 120_000;
/** Endgame: once every missing piece is in flight, a piece whose request has run this long is asked
 * of another peer that holds it as well, and the first intact copy wins (BitTorrent's endgame): the
 * last pieces of a fetch no longer wait on one slow or stalled link (PeerIdleMs gives up on a silent
 * one only after 5 s). 1.5 s asked twice as often for no gain in the 32-agent fan-out, where a piece
 * on a shared link takes 1-2 s. */
export const EndgameAfterMs = 3000;

/** Download counters. */
export interface DownloadStats {
  bytesFromOrigin: number;
  bytesFromPeers: number;
  /** Pieces from peers that failed their hash. */
  badPieces: number;
  /** Peer answers: 503 (busy), and failures (no answer, other statuses); pieces asked of the tracker
   * as origin fallbacks, and as stuck. (Why a fetch leaned on the origin, when it did.) */
  peerBusy: number;
  peerFailed: number;
  /** Failures by kind ("status 404", or the error without its URL). */
  failures: Record<string, number>;
  fallbackAsks: number;
  stuckAsks: number;
  /** Tracker calls for a plan that failed. */
  trackerErrors: number;
  /** Endgame requests: a second peer asked for a piece already in flight, and how often it was first. */
  endgameAsks: number;
  endgameWins: number;
}

/** What a fetch uses of its SwarmPeer. */
export interface FetchContext {
  store: PieceStore;
  tracker: TrackerClient;
  /** Where this agent serves pieces (announced with every plan request). */
  address: () => string;
  /** The origin's base URL (the server calls go to now). */
  originUrl: () => string;
  hostToken: () => string | null;
  /** The peer tokens in force, the one to fetch with first (empty until the tracker answered). */
  peerTokens: () => readonly string[];
  /** Learns the peer token and epoch from a tracker answer. */
  onAnswer: (a: SwarmAnnounceResponse) => void;
  /** GETs a piece from a peer (`peer`) or the origin. */
  /** `signal` (peers only): gives the request up, as the loser of an endgame race. */
  get: (url: string, headers: Record<string, string>, peer: boolean, signal?: AbortSignal) => Promise<GetResult | { error: string }>;
  /** How peers' endpoints are reached: https in a cluster with TLS. @default "http" */
  peerScheme?: "http" | "https";
  /** Announces newly stored pieces (batched by the caller). */
  announce: (packageId: string, indexes: number[]) => void;
  /** Learns from a stored piece's encoding on the wire whether serving it compressed pays (PieceEncoder.learn). */
  learn?: (hash: string, body: Buffer, encoding: string | null) => void;
  /** A fetched body is no longer used here; `kept`: something holds on to it (the encoder). */
  done?: (body: Buffer, kept: boolean) => void;
  stats: DownloadStats;
  parallel: number;
  /** @default EndgameAfterMs */
  endgameAfterMs?: number;
  log: Logger | null;
}

/** "busy": every peer tried was at its upload limit; "deferred": some peer failed otherwise. */
type Outcome = "done" | "busy" | "deferred" | { error: string };

/** Fetches every missing piece of `m` into the store. */
export async function fetchPieces(c: FetchContext, id: string, m: Manifest, onProgress?: (done: number, total: number) => void): Promise<{ ok: true } | { error: string }> {
  const hashes = piecesOf(m);
  const sizes = pieceSizes(m);
  const total = hashes.reduce((n, h) => n + (sizes.get(h) ?? 0), 0);
  const have = new Set<number>();
  hashes.forEach((h, i) => c.store.has(h) && have.add(i));
  let done = [...have].reduce((n, i) => n + (sizes.get(hashes[i]!) ?? 0), 0);
  onProgress?.(done, total);
  const inflight = new Map<number, Promise<void>>();
  const bad = new Set<string>();
  const deferrals = new Map<number, number>();
  const failedDeferrals = new Map<number, number>();
  const notBefore = new Map<number, number>();
  const failures = new Map<number, number>();
  let fatal: string | null = null;
  let queue: { index: number; sources: SwarmSource[] }[] = [];
  let trackerErrors = 0;
  let progressAt = Date.now();

  // Requests in flight: when each began and its sources (for endgame duplicates), and the duplicates.
  const started = new Map<number, { at: number; sources: SwarmSource[]; abort: AbortController; asking: { host: string } }>();
  const doubles = new Map<number, { promise: Promise<void>; abort: AbortController }>();

  const arrived = (index: number): void => {
    have.add(index);
    done += sizes.get(hashes[index]!) ?? 0;
    progressAt = Date.now();
    c.announce(id, [index]);
    onProgress?.(done, total);
  };

  const run = async (p: { index: number; sources: SwarmSource[] }): Promise<void> => {
    const hash = hashes[p.index]!;
    const abort = new AbortController();
    const asking = { host: "" };
    started.set(p.index, { at: Date.now(), sources: p.sources, abort, asking });
    const r = await fetchOne(c, id, p.index, hash, p.sources, bad, deferrals.get(p.index) ?? 0, abort.signal, asking).finally(() => started.delete(p.index));
    // The endgame duplicate was first: nothing left to do for this piece.
    if (have.has(p.index)) return;
    if (r === "done") {
      doubles.get(p.index)?.abort.abort();
      arrived(p.index);
    } else if (r === "deferred" || r === "busy") {
      deferrals.set(p.index, (deferrals.get(p.index) ?? 0) + 1);
      if (r === "deferred") failedDeferrals.set(p.index, (failedDeferrals.get(p.index) ?? 0) + 1);
      notBefore.set(p.index, Date.now() + 200);
    } else {
      const n = (failures.get(p.index) ?? 0) + 1;
      failures.set(p.index, n);
      notBefore.set(p.index, Date.now() + 250 * n);
      if (n >= MaxFailures) fatal = `fetching piece ${hash}: ${r.error}`;
    }
  };

  // Every missing piece is in flight: the ones asked longest ago get a second peer, within `parallel`.
  // Returns how long until the next request becomes old enough (null: none will).
  const endgame = (): number | null => {
    const now = Date.now();
    let next: number | null = null;
    for (const [index, r] of started) {
      if (inflight.size + doubles.size >= 2 * c.parallel) break;
      if (doubles.has(index)) continue;
      // Every other holder the plan named, but not the one the first request waits on now.
      const others = r.sources.filter((x) => x.kind === "peer" && !bad.has(x.host) && x.host !== r.asking.host);
      if (others.length === 0) continue;
      const after = c.endgameAfterMs ?? EndgameAfterMs;
      if (now - r.at < after) {
        next = Math.min(next ?? Infinity, r.at + after - now);
        continue;
      }
      c.stats.endgameAsks++;
      const hash = hashes[index]!;
      const abort = new AbortController();
      const second = fetchOne(c, id, index, hash, others, bad, 0, abort.signal).then((out) => {
        if (out !== "done" || have.has(index)) return;
        r.abort.abort();
        c.stats.endgameWins++;
        arrived(index);
      });
      doubles.set(index, { promise: second.finally(() => doubles.delete(index)), abort });
    }
    return next;
  };

  while (have.size < hashes.length && fatal === null) {
    if (Date.now() - progressAt > StallMs) {
      fatal = `no piece arrived for ${StallMs / 1000} s (${hashes.length - have.size} of ${hashes.length} missing)`;
      break;
    }
    let retryMs = 300;
    if (queue.length === 0) {
      const missing = hashes.map((_, i) => i).filter((i) => !have.has(i));
      const fallback = missing.filter((i) => !inflight.has(i) && (deferrals.get(i) ?? 0) >= MaxDeferrals);
      const stuck = fallback.filter((i) => (failedDeferrals.get(i) ?? 0) >= StuckDeferrals || (deferrals.get(i) ?? 0) >= BusyStuckDeferrals);
      c.stats.fallbackAsks += fallback.length;
      c.stats.stuckAsks += stuck.length;
      const plan = await c.tracker.plan({ packageId: id, address: c.address(), total: hashes.length, missing, inflight: [...inflight.keys()], ...(fallback.length > 0 ? { fallback } : {}), ...(stuck.length > 0 ? { stuck } : {}) });
      const now = Date.now();
      const ready = (i: number): boolean => !have.has(i) && !inflight.has(i) && (notBefore.get(i) ?? 0) <= now;
      if ("error" in plan) {
        c.stats.trackerErrors++;
        trackerErrors++;
        // Without a tracker for a while (an old server, or it is gone): the origin, a few pieces at a time.
        queue = trackerErrors < MaxTrackerErrors ? [] : missing.filter(ready).slice(0, c.parallel).map((index) => ({ index, sources: [{ kind: "origin" }] }));
        c.log?.debug({ packageId: id, error: plan.error, inARow: trackerErrors }, queue.length > 0 ? "no tracker plan; fetching from the origin" : "no tracker plan; asking again");
        retryMs = trackerErrors < MaxTrackerErrors ? 250 * trackerErrors : 1000;
      } else {
        trackerErrors = 0;
        c.onAnswer(plan);
        queue = plan.pieces.filter((p) => ready(p.index));
        retryMs = plan.retryMs;
      }
      if (queue.length === 0 && inflight.size === 0) {
        await new Promise((r) => setTimeout(r, retryMs));
        continue;
      }
    }
    while (queue.length > 0 && inflight.size < c.parallel) {
      const p = queue.shift()!;
      if (have.has(p.index) || inflight.has(p.index)) continue;
      inflight.set(p.index, run(p).finally(() => inflight.delete(p.index)));
    }
    // Wake for the endgame's next second ask, or to plan pieces that wait (deferred after a busy
    // answer): not only when a request in flight ends, which on a stalled link is seconds away.
    const wake = queue.length > 0 ? null : hashes.length - have.size <= inflight.size ? endgame() : retryMs;
    if (inflight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const due = wake === null ? [] : [new Promise<void>((r) => (timer = setTimeout(r, wake + 10)))];
      await Promise.race([...inflight.values(), ...[...doubles.values()].map((d) => d.promise), ...due]);
      clearTimeout(timer);
    }
  }
  // Complete: the losers of endgame races were given up (their connections closed).
  if (fatal !== null) await Promise.allSettled([...inflight.values(), ...[...doubles.values()].map((d) => d.promise)]);
  return fatal !== null ? { error: fatal } : { ok: true };
}

/** One piece from the first source that sends it intact. */
async function fetchOne(c: FetchContext, id: string, index: number, hash: string, sources: SwarmSource[], bad: Set<string>, deferrals: number, signal?: AbortSignal, asking?: { host: string }): Promise<Outcome> {
  let busy = false;
  let failed = false;
  let lastError = "no source to fetch it from";
  for (const s of sources) {
    if (s.kind === "peer") {
      if (bad.has(s.host)) continue;
      let r: GetResult | { error: string } = { error: "no peer token yet" };
      if (asking) asking.host = s.host;
      for (const token of c.peerTokens()) {
        if (signal?.aborted) return "deferred"; // the other copy of an endgame race came first
        r = await c.get(`${c.peerScheme ?? "http"}://${s.address}/v1/pieces/${hash}`, { authorization: `Bearer ${token}`, "accept-encoding": "zstd" }, true, signal);
        if ("error" in r || r.status !== 401) break;
      }
      if (signal?.aborted) {
        if (!("error" in r)) c.done?.(r.body, false);
        return "deferred";
      }
      if ("error" in r) {
        lastError = r.error;
        failed = true;
        c.stats.peerFailed++;
        countFailure(c.stats, r.error.replace(/^\S+: /, "").slice(0, 60));
        continue;
      }
      if (r.status === 503) {
        busy = true;
        c.stats.peerBusy++;
        continue;
      }
      if (r.status === 404) {
        // The tracker listed the piece there: a false announce (or a piece deleted since), to report.
        void c.tracker.report({ packageId: id, peer: s.host, piece: hash, reason: "404 for an announced piece", kind: "missing", index });
      }
      if (r.status !== 200) {
        lastError = `peer ${s.host} answered ${r.status}`;
        failed = true;
        c.stats.peerFailed++;
        countFailure(c.stats, `status ${r.status}`);
        continue;
      }
      const stored = await store(c, hash, r);
      if (stored !== null) {
        bad.add(s.host);
        c.stats.badPieces++;
        c.log?.warn({ packageId: id, peer: s.host, address: s.address, piece: hash, reason: stored }, "peer sent a bad piece; dropped for this package");
        void c.tracker.report({ packageId: id, peer: s.host, piece: hash, reason: stored });
        lastError = `peer ${s.host}: ${stored}`;
        failed = true;
        continue;
      }
      c.stats.bytesFromPeers += r.body.length;
      return "done";
    }
    if (busy && deferrals < MaxDeferrals) return failed ? "deferred" : "busy";
    const token = c.hostToken();
    if (token === null) return { error: "the agent is not registered yet" };
    const r = await c.get(`${c.originUrl()}/v1/agent/packages/pieces/${hash}`, { authorization: `Bearer ${token}`, "accept-encoding": "zstd" }, false);
    if ("error" in r) {
      lastError = r.error;
      continue;
    }
    if (r.status !== 200) {
      lastError = `the origin answered ${r.status}: ${r.body.toString("utf8").slice(0, 200)}`;
      continue;
    }
    const stored = await store(c, hash, r);
    if (stored !== null) {
      lastError = `the origin sent a corrupt piece: ${stored}`;
      continue;
    }
    c.stats.bytesFromOrigin += r.body.length;
    return "done";
  }
  // Peers only (the tracker lists the origin for a piece peers hold only when asked): a peer that was
  // busy, slow or wrong is a reason to wait for the next plan, not a failure of the fetch.
  if (busy || !sources.some((s) => s.kind === "origin")) return busy && !failed ? "busy" : "deferred";
  return { error: lastError };
}

function countFailure(s: DownloadStats, kind: string): void {
  s.failures[kind] = (s.failures[kind] ?? 0) + 1;
}

/** Decodes, verifies and stores a piece; null when stored, else what was wrong with it. */
async function store(c: FetchContext, hash: string, r: GetResult): Promise<string | null> {
  const data = decodePiece(r.body, r.encoding);
  if (!Buffer.isBuffer(data)) return data.error;
  const put = await c.store.put(data, hash);
  const enc = (r.encoding ?? "").trim().toLowerCase();
  const raw = enc === "" || enc === "identity";
  if (!("error" in put)) c.learn?.(hash, r.body, raw ? null : enc);
  c.done?.(r.body, !("error" in put) && !raw);
  return "error" in put ? put.error : null;
}

/** Size of each distinct piece (the last piece of a file is short). */
function pieceSizes(m: Manifest): Map<string, number> {
  const out = new Map<string, number>();
  for (const f of m.files) f.pieces.forEach((h, i) => out.set(h, Math.min(PieceSize, f.size - i * PieceSize)));
  return out;
}
