// A reconnecting server-sent-events watcher over fetch, on ./sse.ts's parser: the agent follows its
// assignments with it (src/agent), and the server's tests follow them the same way. Written here
// rather than taken from a library because the watcher needs control over back-off, headers that
// change on re-register, and what counts as server contact. Browser-safe (fetch only).

import { SseParser } from "./sse.ts";
import type { SseEvent } from "./sse.ts";

/** Doubles a back-off delay up to `max`; `prev` null starts at `initial`. */
export function nextBackoff(prev: number | null, initial: number, max: number): number {
  return prev === null ? initial : Math.min(max, prev * 2);
}

/** Options of `watchSse`. */
export interface WatchSseOptions {
  /** The stream's URL, or a function asked before each connection (the server may change). */
  url: string | (() => string);
  /** Called before each connection, so a new token is used after re-registering. */
  headers: () => Record<string, string>;
  onEvent: (ev: SseEvent) => void;
  /** Called when a connection is accepted (HTTP 200). */
  onOpen?: () => void;
  /** Called when a connection fails or ends; `status` is the HTTP status or null for network errors;
   * `url` the one that failed. */
  onError?: (info: { status: number | null; message: string; retryInMs: number; url: string }) => void;
  /** @default 250 */
  backoffInitialMs?: number;
  /** @default 5000 */
  backoffMaxMs?: number;
  /** Time allowed to receive the response headers. @default 10000 */
  connectTimeoutMs?: number;
  /** The fetch to use (an agent's over mTLS, src/api/tls.ts). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A running watch. */
export interface SseWatch {
  /** Drops the current connection and reconnects at once (e.g. with a new token). */
  restart(): void;
  /** Stops watching for good. */
  close(): void;
}

/** Watches an SSE endpoint, reconnecting with capped exponential back-off until closed. */
export function watchSse(opts: WatchSseOptions): SseWatch {
  const initial = opts.backoffInitialMs ?? 250;
  const max = opts.backoffMaxMs ?? 5000;
  let closed = false;
  let current: AbortController | null = null;
  let wake: (() => void) | null = null;
  let delay: number | null = null;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        wake = null;
        resolve();
      }, ms);
      wake = () => {
        clearTimeout(t);
        wake = null;
        resolve();
      };
    });

  const once = async (url: string): Promise<{ status: number | null; message: string; opened: boolean }> => {
    const ac = new AbortController();
    current = ac;
    const connectTimer = setTimeout(() => ac.abort(new Error("connect timeout")), opts.connectTimeoutMs ?? 10_000);
    try {
      const res = await (opts.fetch ?? fetch)(url, { headers: { accept: "text/event-stream", ...opts.headers() }, signal: ac.signal });
      clearTimeout(connectTimer);
      if (res.status !== 200 || !res.body) {
        const text = await res.text().catch(() => "");
        return { status: res.status, message: text.slice(0, 300) || `HTTP ${res.status}`, opened: false };
      }
      opts.onOpen?.();
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        for (const ev of parser.feed(decoder.decode(chunk, { stream: true }))) opts.onEvent(ev);
      }
      return { status: 200, message: "stream ended", opened: true };
    } catch (err) {
      return { status: null, message: err instanceof Error ? err.message : String(err), opened: false };
    } finally {
      clearTimeout(connectTimer);
      current = null;
    }
  };

  let restarted = false;
  const loop = async () => {
    while (!closed) {
      const url = typeof opts.url === "function" ? opts.url() : opts.url;
      const r = await once(url);
      if (closed) break;
      if (restarted) {
        // Dropped on purpose (new token, new server): reconnect at once, nothing failed.
        restarted = false;
        continue;
      }
      delay = r.opened ? null : nextBackoff(delay, initial, max);
      const wait = delay ?? initial;
      opts.onError?.({ status: r.status, message: r.message, retryInMs: wait, url });
      await sleep(wait);
    }
  };
  void loop();

  return {
    restart() {
      delay = null;
      if (current) restarted = true;
      current?.abort(new Error("restart"));
      wake?.();
    },
    close() {
      closed = true;
      current?.abort(new Error("closed"));
      wake?.();
    },
  };
}
