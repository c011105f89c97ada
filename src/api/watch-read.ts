// Reading `GET /v1/watch` (see ./watch-types.ts): what one SSE message means, and the pause between
// reconnects. Browser-safe.

import { z } from "zod";
import { formatPath } from "../model/index.ts";
import type { ApiErrorBody } from "./types.ts";
import type { SseEvent } from "./sse.ts";
import { watchBookmarkSchema, watchEnvelopeSchema, watchExpiredSchema, watchObjectSchemas } from "./watch-schemas.ts";
import type { WatchBookmark, WatchEvent, WatchExpired, WatchKind } from "./watch-types.ts";

/** One SSE message of a watch, decoded; "invalid": not of the shape this client knows (`problem` says where). */
export type WatchFrame =
  | { kind: "message"; message: WatchEvent | WatchBookmark }
  | { kind: "expired"; body: WatchExpired }
  | { kind: "failed"; body: ApiErrorBody }
  | { kind: "invalid"; problem: string }
  | { kind: "other" };

const failedSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }).loose() });

/** Decodes one SSE message of a watch stream, checking it against the model's schemas (unknown event
 * names are "other": newer servers may add some). */
export function watchFrameOf(ev: SseEvent): WatchFrame {
  let data: unknown;
  try {
    data = JSON.parse(ev.data);
  } catch {
    return ev.event === "added" || ev.event === "updated" || ev.event === "removed" || ev.event === "bookmark" || ev.event === "expired" || ev.event === "failed"
      ? { kind: "invalid", problem: `event "${ev.event}": its data is not JSON` }
      : { kind: "other" };
  }
  switch (ev.event) {
    case "added":
    case "updated":
    case "removed": {
      const env = watchEnvelopeSchema.safeParse(data);
      if (!env.success) return invalid(ev.event, env.error);
      if (env.data.type === "removed" && env.data.object === null) return { kind: "message", message: { ...env.data, object: null } as WatchEvent }; // 3 types x 10 kinds: past TypeScript's 25 combinations for a literal
      const obj = watchObjectSchemas[env.data.kind].safeParse(env.data.object);
      if (!obj.success) return invalid(`${ev.event} ${env.data.kind} ${env.data.name}`, obj.error, "object");
      // The object was checked by its kind's schema just above; the union cannot follow the kind.
      return { kind: "message", message: { ...env.data, object: obj.data } as WatchEvent };
    }
    case "bookmark": {
      const b = watchBookmarkSchema.safeParse(data);
      return b.success ? { kind: "message", message: b.data } : invalid("bookmark", b.error);
    }
    case "expired": {
      const e = watchExpiredSchema.safeParse(data);
      return e.success ? { kind: "expired", body: e.data } : invalid("expired", e.error);
    }
    case "failed": {
      const f = failedSchema.safeParse(data);
      return f.success ? { kind: "failed", body: f.data as ApiErrorBody } : invalid("failed", f.error);
    }
    default:
      return { kind: "other" };
  }
}

function invalid(what: string, error: z.ZodError, under = ""): WatchFrame {
  const issue = error.issues[0];
  const path = formatPath(under === "" ? (issue?.path ?? []) : [under, ...(issue?.path ?? [])]);
  return { kind: "invalid", problem: `${what}: ${path === "" ? "" : `${path}: `}${issue?.message ?? "not of the expected shape"}` };
}

/** Options of `ApiClient.watch`. */
export interface WatchOptions {
  /** The kinds to watch. @default every kind */
  kinds?: readonly WatchKind[];
  /** Only these jobs' objects (kinds job, version, task, attempt; the server refuses it with host kinds). @default every job */
  jobs?: readonly string[];
  /** Only objects on these hosts, by id or name (kinds task, attempt, host, alive; the server refuses
   * it with job and version). A task that moves off a watched host comes once more, on its new one.
   * @default every host */
  hosts?: readonly string[];
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
