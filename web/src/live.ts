// The tab's live connections, through `ApiClient.watch`, over every namespace the token may read
// (`namespace=*`: the maps are keyed by the watch's names, job ids such as `web.team-a`). Two streams, so a big cluster's page is
// drawn from a small list: the base stream lists and follows hosts, their liveness, jobs, versions,
// rollouts, batch runs and maintenance windows (what the fleet map and the job list need); the changes stream follows tasks, attempts
// and endpoints from the base's first bookmark on, without listing them (100,000 tasks and their
// attempts are megabytes a tab would fetch and check before drawing anything). The changes are the
// pages' cue to read the server's own figures again (jobs, a job's status, the hosts' failing
// tasks) and the events feed; a page that shows tasks (a host's panel) opens its own narrow watch
// (`ScopedWatch`: `host=`, `job=`). Pages re-render at most once a frame, so a burst of a thousand
// events costs one render.

import { AllNamespaces, ErrorCodes, TiffinError, WatchExpiredError } from "../../src/api/index.ts";
import type { AliveValue, ApiClient, Host, JobRecord, JobVersion, MaintenanceWindow, Rollout, Run, Task, WatchKind, WatchMessage } from "../../src/api/index.ts";
import { describe, UnplacedFrom } from "./feed.ts";
import type { FeedEntry } from "./feed.ts";

/** Lines the feed keeps. */
export const FeedLimit = 1000;

/** Why the watch stopped for good. */
export type LiveEnd = { kind: "unauthorized" } | { kind: "failed"; message: string };

/** Objects the changes stream remembers (the previous object of a change, for the feed): the
 * newest this many. */
export const RememberLimit = 40_000;

/** The kinds the base stream lists and follows. */
export const BaseKinds: WatchKind[] = ["host", "alive", "job", "version", "rollout", "run", "maintenance"];

/** The kinds the changes stream follows without listing. */
export const ChangeKinds: WatchKind[] = ["task", "attempt", "endpoint"];

/** The objects the base stream reported, by their watch name, the cues, and the feed. */
export class Live {
  readonly jobs = new Map<string, JobRecord>();
  readonly versions = new Map<string, JobVersion>();
  readonly hosts = new Map<string, Host>();
  readonly alive = new Map<string, AliveValue>();
  readonly rollouts = new Map<string, Rollout>();
  /** Tasks and attempts as the changes stream last reported them (only those that changed since
   * the page opened, at most RememberLimit of each): the feed's previous objects, not the state. */
  readonly #seen = new Map<string, unknown>();
  /** Where unplaced tasks were: the feed says where a task moved from (feed.ts). */
  readonly #moves = new UnplacedFrom();
  /** Batch runs (their items come from GET /v1/jobs/:name/runs/:id). */
  readonly runs = new Map<string, Run>();
  /** Maintenance windows by id. */
  readonly maintenance = new Map<string, MaintenanceWindow>();
  /** Newest first. */
  feed: FeedEntry[] = [];
  /** True once the base list is complete (its first bookmark). */
  synced = false;
  /** Whether the base stream is connected now. */
  connected = false;
  /** The newest revision the base stream reported (where the changes stream starts). */
  revision = 0;
  /** Moves on every change; pages compare it. */
  version = 0;
  /** Moves on every change of a job's objects (job, version, rollout, task, attempt, endpoint): the
   * jobs page's cue. */
  jobsVersion = 0;
  /** Moves when what the fleet map shows may change: a host, its liveness, or an attempt turning
   * unhealthy or back (a failing check colours its host). Task events alone leave the map as it is. */
  fleetVersion = 0;
  /** Per job, moves on every change of its objects: a job page reads its status again only then. */
  readonly jobVersions = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  #scheduled = false;
  #changesStarted = false;
  readonly #abort = new AbortController();

  /** Starts following; `onEnd` is called when the server refuses the token or the watch cannot go on. */
  start(client: ApiClient, onEnd: (end: LiveEnd) => void): void {
    const failed = (err: unknown): void => {
      if (this.#abort.signal.aborted) return;
      this.#setConnected(false);
      if (err instanceof TiffinError && err.code === ErrorCodes.Unauthorized) onEnd({ kind: "unauthorized" });
      else onEnd({ kind: "failed", message: err instanceof Error ? err.message : String(err) });
    };
    void (async () => {
      try {
        // Hosts first: the fleet map needs them, and the server lists the kinds in the order asked.
        for await (const msg of client.inNamespace(AllNamespaces).watch({ kinds: BaseKinds, signal: this.#abort.signal, onOpen: () => this.#setConnected(true) })) {
          this.apply(msg);
          if (this.synced && !this.#changesStarted) {
            this.#changesStarted = true;
            void this.#followChanges(client).catch(failed);
          }
        }
      } catch (err) {
        failed(err);
      }
    })();
  }

  /** The changes stream, from the base's revision on; when the store no longer has that revision, it
   * starts again from the base's newest (the changes in between are lost to the feed only: the pages
   * read their figures from the API). */
  async #followChanges(client: ApiClient): Promise<void> {
    for (;;) {
      try {
        for await (const msg of client.inNamespace(AllNamespaces).watch({ kinds: ChangeKinds, from: this.revision + 1, relist: false, signal: this.#abort.signal })) this.apply(msg);
        return;
      } catch (err) {
        if (!(err instanceof WatchExpiredError) || this.#abort.signal.aborted) throw err;
        this.#seen.clear();
      }
    }
  }

  /** Stops the streams. */
  stop(): void {
    this.#abort.abort();
  }

  /** Calls `fn` after changes (batched to one call per animation frame); returns the unsubscribe. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Applies one watch message of either stream (exported for tests and the bench). */
  apply(msg: WatchMessage): void {
    if (msg.type === "reset") {
      for (const m of [this.jobs, this.versions, this.hosts, this.alive, this.rollouts, this.runs, this.maintenance]) m.clear();
      this.synced = false;
    } else if (msg.type === "bookmark") {
      this.revision = Math.max(this.revision, msg.revision);
      if (this.synced) return;
      this.synced = true;
    } else {
      if (BaseKinds.includes(msg.kind)) this.revision = Math.max(this.revision, msg.revision);
      const map = this.#mapOf(msg.kind);
      const key = `${msg.kind}:${msg.name}`;
      const prev = map === null ? (this.#seen.get(key) ?? null) : (map.get(msg.name) ?? null);
      const was = msg.kind === "task" ? this.#moves.before(msg.name, prev as Task | null, msg.type === "removed" ? null : msg.object) : prev;
      if (this.synced) {
        const entry = describe(msg, was, (id) => (id === null ? "?" : (this.hosts.get(id)?.name ?? id)), Date.now());
        if (entry !== null) this.feed = [entry, ...this.feed].slice(0, FeedLimit);
      }
      if (map === null) {
        this.#seen.delete(key);
        if (msg.type !== "removed" && msg.object !== null && msg.kind !== "endpoint") {
          this.#seen.set(key, msg.object);
          if (this.#seen.size > RememberLimit) this.#seen.delete(this.#seen.keys().next().value ?? "");
        }
      } else if (msg.type === "removed" || msg.object === null) map.delete(msg.name);
      else map.set(msg.name, msg.object);
      if (msg.kind === "host" || msg.kind === "alive" || msg.kind === "maintenance") this.fleetVersion++;
      else if (msg.kind === "attempt" && (prev === null || ((prev as { state?: string }).state === "unhealthy") !== (msg.object?.state === "unhealthy"))) this.fleetVersion++;
      const job = msg.kind === "attempt" ? (msg.object?.job ?? (prev as { job?: string } | null)?.job) : msg.kind === "host" || msg.kind === "alive" || msg.kind === "maintenance" ? undefined : msg.name.split("/")[0];
      if (job !== undefined) {
        this.jobsVersion++;
        this.jobVersions.set(job, (this.jobVersions.get(job) ?? 0) + 1);
      }
    }
    this.#changed();
  }

  /** The base map of a kind; null for the kinds of the changes stream. */
  #mapOf(kind: WatchKind): Map<string, unknown> | null {
    switch (kind) {
      case "job":
        return this.jobs;
      case "version":
        return this.versions;
      case "host":
        return this.hosts;
      case "alive":
        return this.alive;
      case "rollout":
        return this.rollouts;
      case "run":
        return this.runs;
      case "maintenance":
        return this.maintenance;
      case "task":
      case "attempt":
      case "endpoint":
        return null;
    }
  }

  #setConnected(on: boolean): void {
    this.connected = on;
    this.#changed();
  }

  #changed(): void {
    this.version++;
    if (this.#scheduled) return;
    this.#scheduled = true;
    const run = (): void => {
      this.#scheduled = false;
      for (const fn of this.#listeners) fn();
    };
    if (typeof requestAnimationFrame === "function" && document.visibilityState === "visible") requestAnimationFrame(run);
    else setTimeout(run, 100);
  }
}
