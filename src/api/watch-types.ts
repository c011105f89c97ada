// The typed watch on the wire (`GET /v1/watch`), shared by the server, the client and a web page.
//
//   GET /v1/watch?kinds=task,host&from=REV        (admin token)  -> text/event-stream
//   &job=web&job=api   only those jobs' objects (kinds job, version, task, attempt, endpoint; refused with host kinds)
//   &host=h1           only objects on those hosts, by id or name (kinds task, attempt, endpoint, host, alive;
//                      refused with job and version); a task moving off the host is sent once more
//   Last-Event-ID: REV   resumes after REV (what EventSource sends when it reconnects)
//
// Without `from` (nor Last-Event-ID) the stream opens with the current objects of the kinds asked,
// each as an "added" event, then a "bookmark" at the revision they were read at: list + watch in one
// call, as in Kubernetes. Then every change after that, in store revision order. Each SSE message is
// `event: <WatchEvent.type>` with the JSON of the event; the SSE `id` is the store revision, set on
// the last event of each revision (and on bookmarks), so a reconnect resumes without a gap on any
// server of the cluster (the revision is the store's, not the server's). Bookmarks also come every
// few seconds while the kinds asked for do not change, so a quiet watcher's revision stays fresh.
// A start the store has compacted is answered 410 with an ApiErrorBody of code TIFFIN_WATCH_EXPIRED
// and `compactRevision` (so EventSource stops instead of reconnecting); compacted while the watch
// starts, the stream ends with `event: expired` (WatchExpired). Either way: list again. Which kinds can be watched is an allow-list (WatchKinds): tokens, secrets and any key prefix
// added later are never streamed.

import { ErrorCodes } from "../model/index.ts";
import type { AliveValue, Attempt, Endpoint, Host, JobRecord, JobVersion, MaintenanceWindow, Rollout, Run, Task } from "../model/index.ts";

/** The kinds a watcher may see: the allow-list. A kind added here must be added to the server's table too. */
export const WatchKinds = ["job", "version", "task", "attempt", "host", "alive", "rollout", "endpoint", "run", "maintenance"] as const;
/** One of WatchKinds. */
export type WatchKind = (typeof WatchKinds)[number];

/** The object each kind carries. `alive` is a host's liveness record (gone: the host is down). */
export interface WatchObjects {
  job: JobRecord;
  version: JobVersion;
  task: Task;
  attempt: Attempt;
  host: Host;
  alive: AliveValue;
  /** A job's rollout, named `job/n` (n: the job's n-th rollout). */
  rollout: Rollout;
  /** A serving task of a service (the service is the job, so `job=` filters it; `host=` too). */
  endpoint: Endpoint;
  /** A run of a batch job, named `job/id`: its own record (state, why, times; `items` empty: they are
   * stored apart, one record each, and come with `GET /v1/runs/:job/:id`; `progress` counts them by state). */
  run: Run;
  /** A maintenance window, named by its id (no job or host: `job=` and `host=` leave it out). */
  maintenance: MaintenanceWindow;
}

/** What happened to an object. */
export type WatchChange = "added" | "updated" | "removed";

/** One change of one object. `name` identifies it within its kind: a job's or host id's name, `job/v`
 * for a version, `job/index` for a task, the attempt id. When removed, `object` is the last one
 * stored (null only from a server that could not say: one before removals carried it). */
export type WatchEvent = {
  [K in WatchKind]: { type: WatchChange; kind: K; name: string; revision: number; object: WatchObjects[K] | null };
}[WatchKind];

/** Everything up to `revision` was sent; after a list, the list is complete. */
export interface WatchBookmark {
  type: "bookmark";
  revision: number;
}

/** The client lost its place (the revision was compacted) and lists again: forget every object; the
 * list follows as "added" events, then a bookmark. Sent by `ApiClient.watch`, never by the server. */
export interface WatchReset {
  type: "reset";
  reason: string;
}

/** What `ApiClient.watch` yields. */
export type WatchMessage = WatchEvent | WatchBookmark | WatchReset;

/** The stable code of a watch from a revision that is no longer kept (HTTP 410 in spirit, as in
 * Kubernetes: "too old resource version"). */
export const WatchExpiredCode = ErrorCodes.WatchExpired;

/** The data of `event: expired`, the last message of a stream that started below the store's history. */
export interface WatchExpired {
  code: typeof WatchExpiredCode;
  message: string;
  hint: string;
  /** The oldest revision the store still has. */
  compactRevision: number;
}

/** Parses the `kinds` query (`task,host`); absent or empty means every kind. */
export function parseWatchKinds(text: string | null): { ok: true; kinds: WatchKind[] } | { ok: false; problem: string } {
  if (text === null || text.trim() === "") return { ok: true, kinds: [...WatchKinds] };
  const out: WatchKind[] = [];
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const kind = WatchKinds.find((k) => k === part);
    if (!kind) return { ok: false, problem: `unknown kind "${part}"; the kinds are ${WatchKinds.join(", ")}` };
    if (!out.includes(kind)) out.push(kind);
  }
  return { ok: true, kinds: out };
}

/** `ApiClient.watch` with `relist: false` met a compacted revision (WatchExpired on the wire). A plain
 * Error with a stable `code`: the model's TiffinError codes are a closed list the API does not extend. */
export class WatchExpiredError extends Error {
  readonly code = WatchExpiredCode;
  readonly hint: string;
  readonly compactRevision: number;
  constructor(body: WatchExpired) {
    super(body.message);
    this.name = "WatchExpiredError";
    this.hint = body.hint;
    this.compactRevision = body.compactRevision;
  }
}
