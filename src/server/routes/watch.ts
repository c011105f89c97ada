// `GET /v1/watch`: typed store changes of allow-listed kinds over SSE (the wire is described in
// src/api/watch-types.ts). Built on the store's own watch, not on the mirror: a watcher resumes from
// any revision the store still keeps, on any server of the cluster.

import type { IncomingMessage, ServerResponse } from "node:http";
import { parseWatchKinds, WatchExpiredCode } from "../../api/watch-types.ts";
import type { WatchBookmark, WatchEvent, WatchExpired, WatchKind } from "../../api/watch-types.ts";
import type { ApiErrorBody } from "../../api/types.ts";
import { AllNamespaces, ErrorCodes, jobId, TiffinError } from "../../model/index.ts";
import { namespaceFilter } from "../http/namespaces.ts";
import { CompactedError } from "../../state/store.ts";
import type { Store, WatchEvent as StoreWatchEvent } from "../../state/store.ts";
import type { ServerContext } from "../context.ts";
import { sendJson, sseFrame, startSse } from "../http/io.ts";
import type { SseStream } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { classifyKey, filteredWatchEvent, listPrefixes, matchesFilter, NoFilter, toWatchEvent, watchKindTable } from "../watch-kinds.ts";
import type { WatchFilter } from "../watch-kinds.ts";
import { findHost } from "../views.ts";

/** How often a watch whose kinds did not change sends a bookmark of the revision the store reached. */
export const WatchBookmarkMs = 5_000;

/** A watcher with more than this unsent that did not take any of it for WatchStallMs is cut off (it
 * resumes from its last id and the store replays the rest): a stalled client must not grow the
 * server's memory without bound, while a slow one catching up keeps its stream. */
export const WatchMaxBufferedBytes = 16 * 1024 * 1024;
/** See WatchMaxBufferedBytes. */
export const WatchStallMs = 10_000;

/** Options of the watch routes (tests shorten them). */
export interface WatchRouteOptions {
  bookmarkMs?: number;
  maxBufferedBytes?: number;
  stallMs?: number;
}

/** Registers `GET /v1/watch` (admin), and `GET /v1/agent/endpoints` (host token): the same stream of
 * the endpoint kind only, of the services named by `service=`, which an agent's local proxies and
 * start gate follow (src/agent/services/). */
export function watchRoutes(r: Router, ctx: ServerContext, opts: WatchRouteOptions = {}): void {
  r.add("GET", "/v1/watch", "admin", async ({ req, res, url, principal, namespace }) => {
    const parsed = parseWatchKinds(url.searchParams.get("kinds"));
    if (!parsed.ok) throw new TiffinError(ErrorCodes.BadRequest, `watch: ${parsed.problem}`, { hint: "ask for kinds=task,host (or leave kinds out for every kind)" });
    const kinds = parsed.kinds;
    // `job=` names jobs of the request's namespace; a watch shows only the namespaces the caller may read.
    const jobs = url.searchParams.getAll("job").map((v) => (namespace === AllNamespaces ? v : v.split(",").map((j) => (j.trim() === "" ? j : jobId(namespace, j.trim()))).join(",")));
    const filter = { ...watchFilter(jobs, url.searchParams.getAll("host").map((h) => findHost(ctx.mirror, h)?.id ?? h), kinds), visible: namespaceFilter(principal, namespace) };
    await serveWatch(ctx, opts, { req, res, url }, kinds, filter);
  });
  r.add("GET", "/v1/agent/endpoints", "host", async ({ req, res, url }) => {
    const kinds: WatchKind[] = ["endpoint"];
    const filter = watchFilter(url.searchParams.getAll("service"), [], kinds);
    if (filter.jobs.length === 0) throw new TiffinError(ErrorCodes.BadRequest, "agent endpoints watch: name at least one service", { hint: "ask for service=cache (repeatable or comma-separated)" });
    await serveWatch(ctx, opts, { req, res, url }, kinds, filter);
  });
}

/** Streams the typed changes of `kinds` through `filter`: a list then changes, or changes from `from`. */
async function serveWatch(ctx: ServerContext, opts: WatchRouteOptions, { req, res, url }: { req: IncomingMessage; res: ServerResponse; url: URL }, kinds: readonly WatchKind[], filter: WatchFilter): Promise<void> {
  const maxBuffered = opts.maxBufferedBytes ?? WatchMaxBufferedBytes;
  const from = startRevision(url.searchParams.get("from"), req.headers["last-event-id"]);
  if (from !== null) {
    const gone = await compactedAt(ctx.store, from);
    if (gone !== null) return void sendJson(res, 410, expiredBody(from, gone));
  }
  const list = from === null ? await listAll(ctx.store, kinds, filter) : null;
  const sse = startSse(req, res);
  ctx.streams.add(sse);
  let sentThrough = 0;
  let seenThrough = 0;
  if (list) {
    for (const ev of list.events) sse.send(ev.type, ev);
    sse.send("bookmark", { type: "bookmark", revision: list.revision } satisfies WatchBookmark, list.revision);
    sentThrough = seenThrough = list.revision;
  } else if (from !== null) sentThrough = seenThrough = from - 1;
  // A watch from a revision: once its replay reaches the store's head at the start, a bookmark there
  // at once (if the filter held back the last events), so a reader of history (`tiffin events`) knows
  // it has it all without waiting for the periodic bookmark.
  let replayedTo = from !== null ? await ctx.store.revision() : 0;
  const watch = ctx.store.watch("", (from ?? sentThrough + 1) || 1, (events) => {
    const out = typedEvents(events, kinds, filter);
    // One write per batch, of frames serialized once for every watcher (a host's endpoints going at
    // once are thousands of events times every watcher: each decoded, serialized and written per
    // watcher used to take seconds of the server's CPU).
    let frames = "";
    out.forEach((ev, i) => {
      // The id goes on a revision's last event only: resuming after it never skips part of a revision.
      const last = i === out.length - 1 || out[i + 1]?.revision !== ev.revision;
      frames += sseFrame(ev.type, jsonOf(ev), last ? ev.revision : undefined);
    });
    sse.write(frames);
    const top = events.at(-1)?.revision ?? 0;
    seenThrough = Math.max(seenThrough, top);
    if (out.length > 0) sentThrough = Math.max(sentThrough, out.at(-1)?.revision ?? 0);
    if (replayedTo > 0 && seenThrough >= replayedTo) {
      replayedTo = 0;
      if (seenThrough > sentThrough) {
        sentThrough = seenThrough;
        sse.send("bookmark", { type: "bookmark", revision: seenThrough } satisfies WatchBookmark, seenThrough);
      }
    }
  }, (err) => failed(sse, err, from), { prevKv: true });
  const timer = setInterval(() => {
    if (seenThrough <= sentThrough) return;
    sentThrough = seenThrough;
    sse.send("bookmark", { type: "bookmark", revision: seenThrough } satisfies WatchBookmark, seenThrough);
  }, opts.bookmarkMs ?? WatchBookmarkMs);
  timer.unref();
  // Unsent bytes that did not go down between two looks: the client stopped reading.
  let unsent = 0;
  const stall = setInterval(() => {
    const now = res.writableLength;
    if (now > maxBuffered && unsent > maxBuffered && now >= unsent) {
      ctx.log.warn({ unsent: now, kinds, remote: req.socket.remoteAddress }, "watch cut off: the client stopped reading");
      res.destroy();
    }
    unsent = now;
  }, opts.stallMs ?? WatchStallMs);
  stall.unref();
  sse.onClose(() => {
    clearInterval(stall);
    clearInterval(timer);
    watch.cancel();
    ctx.streams.delete(sse);
  });
}

/** The first revision to send: `from` (inclusive), else the one after Last-Event-ID, else null (list first). */
export function startRevision(fromText: string | null, lastEventId: string | string[] | undefined): number | null {
  if (fromText !== null) {
    const from = Number(fromText);
    if (!Number.isSafeInteger(from) || from < 1) throw new TiffinError(ErrorCodes.BadRequest, `watch: from must be a store revision (an integer >= 1), got ${JSON.stringify(fromText)}`, { hint: "use the revision of a bookmark or an event plus one, or leave from out to list first" });
    return from;
  }
  const id = Array.isArray(lastEventId) ? lastEventId[0] : lastEventId;
  if (id === undefined || id === "") return null;
  const last = Number(id);
  if (!Number.isSafeInteger(last) || last < 0) throw new TiffinError(ErrorCodes.BadRequest, `watch: Last-Event-ID must be a store revision, got ${JSON.stringify(id)}`, { hint: "send back the id of the last event received" });
  return last + 1;
}

/** The typed events of a batch of store changes that `filter` lets through, in order; keys of other
 * kinds dropped. */
export function typedEvents(events: readonly StoreWatchEvent[], kinds: readonly WatchKind[], filter: WatchFilter = NoFilter): WatchEvent[] {
  const out: WatchEvent[] = [];
  for (const ev of events) {
    const typed = filteredWatchEvent(ev, kinds, filter, sharedTypedEvent(ev, kinds));
    if (typed) out.push(typed);
  }
  return out;
}

/** Typed events by the store's event object and kind: a store hands every watcher of a change the same
 * event object (the SQLite store's hub does), so each change is decoded once, not once per watcher.
 * The typed events are shared, hence never changed after they are made. */
const typedCache = new WeakMap<StoreWatchEvent, Map<WatchKind, WatchEvent | null>>();
/** Serialized typed events (see typedCache). */
const jsonCache = new WeakMap<WatchEvent, string>();

/** `toWatchEvent(ev, kinds)`, decoded once per store event and kind. */
function sharedTypedEvent(ev: StoreWatchEvent, kinds: readonly WatchKind[]): WatchEvent | null {
  const at = classifyKey(ev.kv.key, kinds);
  if (!at) return null;
  let byKind = typedCache.get(ev);
  if (!byKind) typedCache.set(ev, (byKind = new Map()));
  let typed = byKind.get(at.kind);
  if (typed === undefined) byKind.set(at.kind, (typed = toWatchEvent(ev, [at.kind])));
  return typed;
}

/** The event's JSON, made once however many watchers send it. */
function jsonOf(ev: WatchEvent): string {
  let json = jsonCache.get(ev);
  if (json === undefined) jsonCache.set(ev, (json = JSON.stringify(ev)));
  return json;
}

/** The `job` and `host` queries (each repeated or comma-separated; hosts by id, names already
 * resolved by the caller): only those jobs' or hosts' objects. A kind the filter cannot apply to (a
 * host belongs to no job, a job version to no host) is refused rather than answered with objects the
 * filter does not cover. */
export function watchFilter(jobValues: readonly string[], hostValues: readonly string[], kinds: readonly WatchKind[]): WatchFilter {
  const list = (values: readonly string[]): string[] => [...new Set(values.flatMap((v) => v.split(",")).map((j) => j.trim()).filter((j) => j !== ""))];
  const jobs = list(jobValues);
  const hosts = list(hostValues);
  const noJob = kinds.filter((k) => !watchKindTable[k].jobScoped);
  if (jobs.length > 0 && noJob.length > 0) {
    throw new TiffinError(ErrorCodes.BadRequest, `watch: job filters job, version, task, attempt and endpoint; ${noJob.join(" and ")} belong to no job`, { hint: "watch those kinds in a watch of their own, without job=" });
  }
  const noHost = kinds.filter((k) => !watchKindTable[k].hostScoped);
  if (hosts.length > 0 && noHost.length > 0) {
    throw new TiffinError(ErrorCodes.BadRequest, `watch: host filters task, attempt, endpoint, host and alive; ${noHost.join(" and ")} belong to no host`, { hint: "ask for kinds=task,attempt,host,alive with host=, and watch the others without it" });
  }
  return { jobs, hosts };
}

/** Every object of `kinds` (of `jobs`, if any) at one revision, as "added" events (a consistent
 * snapshot: the later ranges read at the first one's revision). */
async function listAll(store: Store, kinds: readonly WatchKind[], filter: WatchFilter): Promise<{ events: WatchEvent[]; revision: number }> {
  for (let tries = 0; ; tries++) {
    try {
      let revision = 0;
      const events: WatchEvent[] = [];
      for (const kind of kinds) {
        for (const prefix of listPrefixes(kind, filter)) {
          const got = await store.range(prefix, revision > 0 ? { revision } : {});
          revision = got.revision;
          for (const kv of got.kvs) {
            // A job's key is its own prefix: "/jobs/web" also ranges "/jobs/web2".
            const typed = toWatchEvent({ type: "put", kv: { ...kv, createRevision: kv.modRevision }, revision: kv.modRevision }, [kind]);
            if (typed && matchesFilter(typed, filter)) events.push(typed);
          }
        }
      }
      return { events, revision: revision > 0 ? revision : await store.revision() };
    } catch (err) {
      // Compacted between two ranges (a very busy store): read again at the newest revision.
      if (!(err instanceof CompactedError) || tries >= 3) throw err;
    }
  }
}

/** A prefix nothing is written under (keys.ts has no such prefix). */
const ProbePrefix = "/watch-probe-nothing-here/";

/** The store's first kept revision when `from` is no longer kept, else null. A read at `from` fails
 * exactly when a watch from it would (history at and below the compacted revision is gone); the
 * probed prefix holds no keys, so the read costs nothing. */
async function compactedAt(store: Store, from: number): Promise<number | null> {
  if (from > (await store.revision())) return null;
  try {
    await store.range(ProbePrefix, { revision: from, limit: 1 });
    return null;
  } catch (err) {
    if (err instanceof CompactedError) return err.compactRevision;
    throw err;
  }
}

function expiredMessage(from: number | null, compactRevision: number): WatchExpired {
  return {
    code: WatchExpiredCode,
    message: `watch: revision ${from ?? "?"} is no longer kept: the store's history starts at ${compactRevision}`,
    hint: "list again (watch without from) and follow from the bookmark it ends with",
    compactRevision,
  };
}

/** The 410 answer: an ApiErrorBody whose code is the watch's own (not one of the model's codes), and
 * where history starts. */
function expiredBody(from: number, compactRevision: number): { error: { code: string; message: string; hint: string; problems: [] }; compactRevision: number } {
  const e = expiredMessage(from, compactRevision);
  return { error: { code: e.code, message: e.message, hint: e.hint, problems: [] }, compactRevision };
}

function failed(sse: SseStream, err: Error, from: number | null): void {
  // Compacted after the check at the start (or a store that only says so in the watch): in the stream.
  if (err instanceof CompactedError) sse.send("expired", expiredMessage(from, err.compactRevision));
  else {
    const body: ApiErrorBody = { error: { code: ErrorCodes.Unavailable, message: `watch: the store's change stream failed: ${err.message}`, hint: "watch again from the last revision received", problems: [] } };
    sse.send("failed", body);
  }
  sse.close();
}
