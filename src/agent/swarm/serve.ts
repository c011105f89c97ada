// Serving pieces to peers: GET /v1/pieces/:sha256 with the cluster's peer token. Every piece is
// re-hashed as it is read (PieceStore.get), so a piece damaged on this disk is never sent. At most
// `maxUploads` at once (the next caller gets 503 and tries its next source) and, with a limit, no
// faster than the upload token bucket allows.

import type http from "node:http";
import type { ApiErrorBody } from "../../api/types.ts";
import { ErrorCodes } from "../../model/index.ts";
import type { ErrorCode } from "../../model/index.ts";
import type { PieceEncoder, PieceStore } from "../../pkg/index.ts";
import { acceptsZstd, piecePool } from "../../pkg/index.ts";
import type { TokenBucket } from "./rate.ts";
import { bearerOf, sameSecret } from "../bearer.ts";

/** Bytes written per take from the upload bucket. */
const Chunk = 64 * 1024;

/** What a PieceServer needs. */
export interface PieceServerOptions {
  store: PieceStore;
  /** The peer tokens in force (none until the tracker has answered once: everything is refused); a
   * caller bearing any of them is served (the previous token stays valid for a while after a rotation). */
  peerTokens: () => readonly string[];
  maxUploads: number;
  bucket: TokenBucket | null;
  /** Called when a caller's token was refused (this agent may have missed a rotation). */
  onRefused?: () => void;
  encoder: PieceEncoder;
}

/** Upload counters. */
export interface UploadStats {
  bytesUploaded: number;
  /** Requests answered 503 because `maxUploads` were running. */
  uploadsRefused: number;
  /** Most uploads running at once so far. */
  peakUploads: number;
}

/** The piece-serving side of an agent; mount `handle` on any node:http server. */
export class PieceServer {
  readonly #o: PieceServerOptions;
  readonly stats: UploadStats = { bytesUploaded: 0, uploadsRefused: 0, peakUploads: 0 };
  #active = 0;

  constructor(o: PieceServerOptions) {
    this.#o = o;
  }

  /** Serves GET /v1/pieces/:sha256; returns false (sending nothing) for any other request. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const m = /^\/v1\/pieces\/([0-9a-f]{64})$/.exec((req.url ?? "").split("?")[0] ?? "");
    if (req.method !== "GET" || !m) return false;
    void this.#serve(m[1]!, req, res).catch(() => res.destroy());
    return true;
  }

  async #serve(hash: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const tokens = this.#o.peerTokens();
    const given = bearerOf(req.headers.authorization) ?? undefined;
    if (tokens.length === 0) return fail(res, 503, ErrorCodes.Unavailable, "this agent has no peer token yet", "try the next source");
    // Every token compared, so the time taken does not tell which one matched.
    const matches = given === undefined ? 0 : tokens.reduce((n, t) => n + (sameSecret(given, t) ? 1 : 0), 0);
    if (matches === 0) {
      this.#o.onRefused?.();
      return fail(res, 401, ErrorCodes.Unauthorized, "pieces: missing or wrong peer token", "agents get the peer tokens from the server's tracker; a token two rotations old is refused");
    }
    if (this.#active >= this.#o.maxUploads) {
      this.stats.uploadsRefused++;
      res.setHeader("retry-after", "1");
      return fail(res, 503, ErrorCodes.Unavailable, `busy: ${this.#active} uploads running (limit ${this.#o.maxUploads})`, "try the next source");
    }
    this.#active++;
    this.stats.peakUploads = Math.max(this.stats.peakUploads, this.#active);
    try {
      const data = await this.#o.store.get(hash, { pooled: true });
      if (!data) return fail(res, 404, ErrorCodes.NotFound, `piece ${hash} is not on this agent`, "ask the tracker again");
      const { body, encoding } = this.#o.encoder.encode(hash, data, acceptsZstd(req.headers["accept-encoding"]));
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length, ...(encoding ? { "content-encoding": encoding } : {}) });
      if (!this.#o.bucket) {
        // Unlimited: the whole body in one write; the upload slot is held until it is sent or the
        // caller is gone (64 KiB writes cost a callback and a drain wait each, for nothing here).
        const before = res.socket?.bytesWritten ?? 0;
        const sent = await new Promise<boolean>((resolve) => {
          res.once("finish", () => resolve(true)).once("close", () => resolve(false));
          res.end(body);
        });
        this.stats.bytesUploaded += sent ? body.length : Math.max(0, Math.min(body.length, (res.socket?.bytesWritten ?? before) - before));
        // Sent: the socket holds no reference any more. Closed early, a write may still hold it: left to GC.
        if (sent) piecePool.give(data);
        return;
      }
      for (let off = 0; off < body.length && !res.destroyed; off += Chunk) {
        const part = body.subarray(off, off + Chunk);
        await this.#o.bucket.take(part.length);
        this.stats.bytesUploaded += part.length;
        if (!res.write(part)) await drained(res);
      }
      res.end();
    } finally {
      this.#active--;
    }
  }
}

/** Resolves when the response can take more, or is gone (both listeners removed either way). */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done).off("close", done);
      resolve();
    };
    res.on("drain", done).on("close", done);
  });
}

function fail(res: http.ServerResponse, status: number, code: ErrorCode, message: string, hint: string): void {
  const body: ApiErrorBody = { error: { code, message, hint, problems: [] } };
  // With its length, so the caller keeps the connection (a busy peer's 503 is common in a big swarm,
  // and a chunked answer made PieceClient close the connection and open a new one for the next try).
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
