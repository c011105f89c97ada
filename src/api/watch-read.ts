// Reading `GET /v1/watch` (see ./watch-types.ts): what one SSE message means, and the pause between
// reconnects. Browser-safe.

import type { ApiErrorBody } from "./types.ts";
import type { SseEvent } from "./sse.ts";
import type { WatchBookmark, WatchEvent, WatchExpired, WatchKind } from "./watch-types.ts";

/** One SSE message of a watch, decoded. */
export type WatchFrame = { kind: "message"; message: WatchEvent | WatchBookmark } | { kind: "expired"; body: WatchExpired } | { kind: "failed"; body: ApiErrorBody } | { kind: "other" };

/** Decodes one SSE message of a watch stream (unknown event names are "other": newer servers may add some). */
export function watchFrameOf(ev: SseEvent): WatchFrame {
  switch (ev.event) {
    case "added":
    case "updated":
    case "removed":
    case "bookmark":
      return { kind: "message", message: JSON.parse(ev.data) as WatchEvent | WatchBookmark };
    case "expired":
      return { kind: "expired", body: JSON.parse(ev.data) as WatchExpired };
    case "failed":
      return { kind: "failed", body: JSON.parse(ev.data) as ApiErrorBody };
    default:
      return { kind: "other" };
  }
}

/** Options of `ApiClient.watch`. */
export interface WatchOptions {
  /** The kinds to watch. @default every kind */
  kinds?: readonly WatchKind[];
  /** Only these jobs' objects (kinds job, version, task, attempt; the server refuses it with host kinds). @default every job */
  jobs?: readonly string[];
  /** Start at this store revision (inclusive), without a list first. @default list, then follow */
  from?: number;
  /** On a compacted revision, list again (yielding a "reset" first) rather than throw WatchExpiredError. @default true */
  relist?: boolean;
  signal?: AbortSignal;
  /** Called each time a connection is accepted (the first and every reconnect). */
  onOpen?: () => void;
  /** Longest pause between reconnects; pauses double from 250 ms. @default 5000 */
  maxRetryMs?: number;
}

/** The next pause before a reconnect: 250 ms, doubling up to `max`. */
export function nextRetryMs(prev: number | null, max: number): number {
  return prev === null ? Math.min(250, max) : Math.min(max, prev * 2);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal | null): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}
