// One GET of a piece over node:http (not fetch: we want the bytes as sent, zstd or not, counted on
// the wire, and the download rate limit applied as they arrive).

import http from "node:http";
import https from "node:https";
import type { TokenBucket } from "./rate.ts";

/** A response: its status, body and Content-Encoding. */
export interface GetResult {
  status: number;
  body: Buffer;
  encoding: string | undefined;
}

/** What one GET needs. */
export interface GetOptions {
  headers: Record<string, string>;
  /** For an https URL, an https.Agent (the agent's TLS: cluster CA, host certificate). */
  agent: http.Agent;
  /** Socket idle time before giving up (a slow, rate-limited body is fine as long as bytes move). */
  idleMs: number;
  /** Largest body accepted. */
  maxBytes: number;
  bucket: TokenBucket | null;
  /** Gives the request up (a peer's, the loser of an endgame race). @default none */
  signal?: AbortSignal;
}

/** GETs `url`; network failures and oversized bodies are values. */
export function httpGet(url: string, o: GetOptions): Promise<GetResult | { error: string }> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: GetResult | { error: string }): void => {
      if (!settled) resolve(r);
      settled = true;
    };
    const get = url.startsWith("https:") ? https.get : http.get;
    const req = get(url, { headers: o.headers, agent: o.agent, ...(o.signal ? { signal: o.signal } : {}) }, (res) => {
      void (async () => {
        const chunks: Buffer[] = [];
        let size = 0;
        // With a Content-Length, the body is copied into one buffer as it comes (no list, no concat:
        // at 4 MiB a piece, the copies and the garbage are what a busy agent spends its CPU on).
        const declared = Number(res.headers["content-length"] ?? Number.NaN);
        const whole = Number.isSafeInteger(declared) && declared >= 0 && declared <= o.maxBytes ? Buffer.allocUnsafe(declared) : null;
        try {
          for await (const chunk of res as AsyncIterable<Buffer>) {
            if (size + chunk.length > o.maxBytes || (whole && size + chunk.length > whole.length)) {
              req.destroy();
              return done({ error: `${url}: body over ${whole ? `its Content-Length ${whole.length}` : `${o.maxBytes} bytes`}` });
            }
            if (whole) chunk.copy(whole, size);
            else chunks.push(chunk);
            size += chunk.length;
            // Awaiting here pauses the stream: TCP backpressure slows the sender to the limit.
            if (o.bucket) await o.bucket.take(chunk.length);
          }
          if (!res.complete) return done({ error: `${url}: connection closed mid-body` });
          const enc = res.headers["content-encoding"];
          if (whole && size !== whole.length) return done({ error: `${url}: body of ${size} bytes, Content-Length ${whole.length}` });
          done({ status: res.statusCode ?? 0, body: whole ?? Buffer.concat(chunks), encoding: enc });
        } catch (err) {
          done({ error: `${url}: ${err instanceof Error ? err.message : String(err)}` });
        }
      })();
    });
    req.setTimeout(o.idleMs, () => req.destroy(new Error(`no data for ${o.idleMs} ms`)));
    req.on("error", (err) => done({ error: `${url}: ${err.message}` }));
  });
}
