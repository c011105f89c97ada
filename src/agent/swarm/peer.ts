// An agent's place in the swarm: it serves the pieces it holds to peers (serve.ts), fetches packages'
// pieces as the tracker plans (fetch.ts), and keeps the tracker told what it holds: in full at start,
// every `announceMs` and whenever the tracker's epoch changes (its memory is soft, see
// server/tracker/tracker.ts), and piece by piece while fetching (batched over a short delay).

import fs from "node:fs";
import http from "node:http";
import type https from "node:https";
import path from "node:path";
import type { Logger } from "pino";
import type { SwarmAnnounceResponse, SwarmHolding } from "../../api/types.ts";
import type { Manifest } from "../../pkg/index.ts";
import { manifestSchema, PieceEncoder, PieceSize, PieceStore, piecePool, piecesOf } from "../../pkg/index.ts";
import { readJsonAs } from "../../model/index.ts";
import type { PieceSource } from "../packages.ts";
import type { DownloadStats } from "./fetch.ts";
import { fetchPieces } from "./fetch.ts";
import { httpGet } from "./http-get.ts";
import { PieceClient } from "./piece-client.ts";
import { bucketOf } from "./rate.ts";
import type { UploadStats } from "./serve.ts";
import { PieceServer } from "./serve.ts";
import { TrackerClient } from "./tracker-client.ts";

/** A peer that sends nothing for this long (connecting included) is given up on, and the piece goes
 * to its next source: a peer serves at link speed or answers 503, so silence means a lost connection
 * (the fan-out saw pieces wait out a 30 s timeout at the end of a fetch). The origin keeps 30 s: it
 * serves many fetchers at once. */
export const PeerIdleMs = 5000;

/** Options of a SwarmPeer. */
export interface SwarmPeerOptions {
  /** The server (origin and tracker) calls go to now. */
  serverUrl: () => string;
  /** The host token (null before registration). */
  token: () => string | null;
  /** The agent's data directory: pieces are under DATA/packages/pieces, manifests under DATA/packages/manifests. */
  dataDir: string;
  /** host:port where this agent serves pieces, as peers reach it. */
  address: () => string;
  /** Upload rate limit over all peers, bytes/s. @default none */
  uploadLimitBytesPerSec?: number | null;
  /** Download rate limit over all sources, bytes/s. @default none */
  downloadLimitBytesPerSec?: number | null;
  /** Concurrent uploads; more get 503. @default 4 */
  maxUploads?: number;
  /** Pieces fetched at once. @default 6 */
  parallel?: number;
  /** How long a request runs before the endgame asks a second holder. @default EndgameAfterMs (fetch.ts) */
  endgameAfterMs?: number;
  /** Bytes of recently fetched or served pieces kept in memory (PieceStore). With none, pieces
   * travel in pooled buffers instead (piecePool), which cost less CPU than either. @default 0 */
  memoryBytes?: number;
  log?: Logger | null;
  /** For an https server (tracker and origin) and peers (their endpoints then speak https only):
   * the agent's TLS, current (tls.ts). @default none */
  httpsAgent?: () => https.Agent;
}


/** Counters of a SwarmPeer. */
export type SwarmStats = DownloadStats & UploadStats;

/** Serves and fetches pieces; see the top of this file. */
export class SwarmPeer implements PieceSource {
  readonly #o: SwarmPeerOptions;
  readonly #store: PieceStore;
  readonly #tracker: TrackerClient;
  readonly #server: PieceServer;
  readonly #encoder = new PieceEncoder();
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  /** Peers' pieces (the origin's, with its error pages, go through node:http). */
  readonly #pieces = new PieceClient({ pool: piecePool });
  readonly #down: DownloadStats = { bytesFromOrigin: 0, bytesFromPeers: 0, badPieces: 0, peerBusy: 0, peerFailed: 0, failures: {}, fallbackAsks: 0, stuckAsks: 0, trackerErrors: 0, endgameAsks: 0, endgameWins: 0 };
  readonly #download;
  #peerTokens: readonly string[] = [];
  /** When a refused peer token last made this agent ask the tracker for the tokens. */
  #refreshedAt = 0;
  #epoch: string | null = null;
  #announceMs = 30_000;
  #timer: NodeJS.Timeout | null = null;
  #pending = new Map<string, Set<number>>();
  #flushTimer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(o: SwarmPeerOptions) {
    this.#o = o;
    this.#store = new PieceStore(path.join(o.dataDir, "packages", "pieces"), { memoryBytes: o.memoryBytes ?? 0 });
    this.#tracker = new TrackerClient({ serverUrl: o.serverUrl, token: o.token, ...(o.httpsAgent ? { httpsAgent: o.httpsAgent } : {}) });
    this.#download = bucketOf(o.downloadLimitBytesPerSec);
    this.#server = new PieceServer({
      store: this.#store,
      peerTokens: () => this.#peerTokens,
      // A caller with a token we do not know: we may have missed a rotation. Ask, at most every 5 s.
      onRefused: () => {
        if (Date.now() - this.#refreshedAt < 5000) return;
        this.#refreshedAt = Date.now();
        this.#schedule(0);
      },
      maxUploads: o.maxUploads ?? 4,
      bucket: bucketOf(o.uploadLimitBytesPerSec),
      encoder: this.#encoder,
    });
  }

  /** Serves GET /v1/pieces/:sha256; false for any other request (mount it on any node:http server). */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    return this.#server.handle(req, res);
  }

  /** Announces everything held, now and every announce interval. */
  async start(): Promise<void> {
    await this.#announceAll();
  }

  /** Counters since start. */
  stats(): SwarmStats {
    return { ...this.#down, ...this.#server.stats };
  }

  /** Fetches every missing piece of a package through the swarm (PieceSource). */
  fetchPieces(id: string, m: Manifest, onProgress?: (done: number, total: number) => void): Promise<{ ok: true } | { error: string }> {
    return fetchPieces(
      {
        store: this.#store,
        tracker: this.#tracker,
        address: this.#o.address,
        originUrl: this.#o.serverUrl,
        hostToken: this.#o.token,
        peerTokens: () => this.#peerTokens,
        onAnswer: (a) => this.#answered(a),
        // Under TLS (the agent has its host certificate) peers serve https only: fetched with node:https
        // and the host certificate (the keep-alive PieceClient speaks plain HTTP).
        peerScheme: this.#o.httpsAgent ? "https" : "http",
        get: (url, headers, peer, signal) => peer && !url.startsWith("https:")
          ? this.#pieces.get(url, { headers, idleMs: PeerIdleMs, maxBytes: PieceSize + 64 * 1024, bucket: this.#download, ...(signal ? { signal } : {}) })
          : httpGet(url, { headers, agent: url.startsWith("https:") && this.#o.httpsAgent ? this.#o.httpsAgent() : this.#agent, idleMs: peer ? PeerIdleMs : 30_000, maxBytes: PieceSize + 64 * 1024, bucket: this.#download, ...(signal ? { signal } : {}) }),
        announce: (pkg, indexes) => this.#queueAnnounce(pkg, indexes),
        learn: (hash, body, encoding) => this.#encoder.learn(hash, body, encoding),
        // A raw body nothing kept goes back to the pool (PieceStore never keeps pooled buffers).
        done: (body, kept) => {
          if (!kept) piecePool.give(body);
        },
        stats: this.#down,
        parallel: this.#o.parallel ?? 6,
        ...(this.#o.endgameAfterMs !== undefined ? { endgameAfterMs: this.#o.endgameAfterMs } : {}),
        log: this.#o.log ?? null,
      },
      id,
      m,
      onProgress,
    );
  }

  /** Stops announcing and closes idle connections (serving stops with the HTTP server it is mounted on). */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#agent.destroy();
    this.#pieces.close();
    this.#tracker.close();
  }

  #answered(a: SwarmAnnounceResponse): void {
    this.#peerTokens = a.peerTokens && a.peerTokens.length > 0 ? a.peerTokens : [a.peerToken];
    this.#announceMs = a.announceMs;
    const changed = this.#epoch !== null && this.#epoch !== a.epoch;
    this.#epoch = a.epoch;
    // A new tracker knows nothing of us: tell it everything at once.
    if (changed) this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#announceAll(), ms);
    this.#timer.unref();
  }

  async #announceAll(): Promise<void> {
    if (this.#closed) return;
    const r = await this.#tracker.announce({ address: this.#o.address(), full: true, packages: await this.#holdings() });
    if ("error" in r) {
      this.#o.log?.debug({ error: r.error }, "swarm announce failed; will retry");
      this.#schedule(Math.min(5000, this.#announceMs));
      return;
    }
    this.#answered(r);
    this.#schedule(this.#announceMs);
  }

  /** What the store holds of each package whose manifest this agent has. */
  async #holdings(): Promise<SwarmHolding[]> {
    const dir = path.join(this.#o.dataDir, "packages", "manifests");
    const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
    const out: SwarmHolding[] = [];
    for (const n of names) {
      const id = /^([0-9a-f]{64})\.json$/.exec(n)?.[1];
      if (!id) continue;
      try {
        const m = readJsonAs(manifestSchema, await fs.promises.readFile(path.join(dir, n), "utf8"));
        if (m === null) continue;
        const held = piecesOf(m).flatMap((h, i) => (this.#store.has(h) ? [i] : []));
        if (held.length === 0) continue;
        const complete = held.length === piecesOf(m).length;
        out.push({ id, complete, pieces: complete ? [] : held });
      } catch {
        // A manifest being written or removed (package GC): the next announce sees it.
      }
    }
    return out;
  }

  #queueAnnounce(pkg: string, indexes: number[]): void {
    let set = this.#pending.get(pkg);
    if (!set) this.#pending.set(pkg, (set = new Set()));
    for (const i of indexes) set.add(i);
    // Batched: peers learn of a piece within ~100 ms, at one request per batch rather than per piece.
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = null;
      const packages = [...this.#pending].map(([id, s]) => ({ id, complete: false, pieces: [...s] }));
      this.#pending = new Map();
      void this.#tracker.announce({ address: this.#o.address(), full: false, packages }).then((r) => {
        if (!("error" in r)) this.#answered(r);
      });
    }, 100);
  }
}
