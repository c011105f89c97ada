// The tab's one live connection: `ApiClient.watch` over every kind, kept as maps of the current
// objects, plus the events feed. Pages read the maps and re-render when `version` moves (at most
// once a frame, so a burst of a thousand events costs one render).

import { ErrorCodes, TiffinError } from "../../src/api/index.ts";
import type { AliveValue, ApiClient, Attempt, Host, JobRecord, JobVersion, Endpoint, MaintenanceWindow, Rollout, Task, WatchMessage } from "../../src/api/index.ts";
import { describe } from "./feed.ts";
import type { FeedEntry } from "./feed.ts";

/** Lines the feed keeps. */
export const FeedLimit = 1000;

/** Why the watch stopped for good. */
export type LiveEnd = { kind: "unauthorized" } | { kind: "failed"; message: string };

/** The objects the watch reported, by their watch name, and the feed. */
export class Live {
  readonly jobs = new Map<string, JobRecord>();
  readonly versions = new Map<string, JobVersion>();
  readonly tasks = new Map<string, Task>();
  readonly attempts = new Map<string, Attempt>();
  readonly hosts = new Map<string, Host>();
  readonly alive = new Map<string, AliveValue>();
  readonly rollouts = new Map<string, Rollout>();
  readonly endpoints = new Map<string, Endpoint>();
  readonly maintenance = new Map<string, MaintenanceWindow>();
  /** Newest first. */
  feed: FeedEntry[] = [];
  /** True once the first list is complete (the first bookmark). */
  synced = false;
  /** Whether the stream is connected now. */
  connected = false;
  /** Moves on every change; pages compare it. */
  version = 0;
  /** Moves on every change of a job's objects (job, version, task, attempt): the jobs page's cue. */
  jobsVersion = 0;
  /** Moves when what the fleet map shows may change: a host, its liveness, or an attempt turning
   * unhealthy or back (a failing check colours its host). Task events alone leave the map as it is. */
  fleetVersion = 0;
  /** Per job, moves on every change of its objects: a job page reads its status again only then. */
  readonly jobVersions = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  #scheduled = false;
  readonly #abort = new AbortController();

  /** Starts following; `onEnd` is called when the server refuses the token or the watch cannot go on. */
  start(client: ApiClient, onEnd: (end: LiveEnd) => void): void {
    void (async () => {
      try {
        // Hosts first: the fleet map needs them, and the server lists the kinds in the order asked.
        for await (const msg of client.watch({ kinds: ["host", "alive", "job", "version", "task", "attempt"], signal: this.#abort.signal, onOpen: () => this.#setConnected(true) })) this.apply(msg);
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#setConnected(false);
        if (err instanceof TiffinError && err.code === ErrorCodes.Unauthorized) onEnd({ kind: "unauthorized" });
        else onEnd({ kind: "failed", message: err instanceof Error ? err.message : String(err) });
      }
    })();
  }

  /** Stops the stream. */
  stop(): void {
    this.#abort.abort();
  }

  /** Calls `fn` after changes (batched to one call per animation frame); returns the unsubscribe. */
  subscribe(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Applies one watch message (exported for tests and the bench). */
  apply(msg: WatchMessage): void {
    if (msg.type === "reset") {
      for (const m of [this.jobs, this.versions, this.tasks, this.attempts, this.hosts, this.alive]) m.clear();
      this.synced = false;
    } else if (msg.type === "bookmark") {
      if (this.synced) return;
      this.synced = true;
    } else {
      const map = this.#mapOf(msg.kind);
      const prev = map.get(msg.name) ?? null;
      if (this.synced) {
        const entry = describe(msg, prev, (id) => (id === null ? "?" : (this.hosts.get(id)?.name ?? id)), Date.now());
        if (entry !== null) this.feed = [entry, ...this.feed].slice(0, FeedLimit);
      }
      if (msg.type === "removed" || msg.object === null) map.delete(msg.name);
      else map.set(msg.name, msg.object);
      if (msg.kind === "host" || msg.kind === "alive") this.fleetVersion++;
      else if (msg.kind === "attempt" && ((prev as { state?: string } | null)?.state === "unhealthy") !== (msg.object?.state === "unhealthy")) this.fleetVersion++;
      const job = msg.kind === "attempt" ? (msg.object?.job ?? (prev as { job?: string } | null)?.job) : msg.kind === "host" || msg.kind === "alive" ? undefined : msg.name.split("/")[0];
      if (job !== undefined) {
        this.jobsVersion++;
        this.jobVersions.set(job, (this.jobVersions.get(job) ?? 0) + 1);
      }
    }
    this.#changed();
  }

  #mapOf(kind: WatchMessage extends infer M ? (M extends { kind: infer K } ? K : never) : never): Map<string, unknown> {
    switch (kind) {
      case "job":
        return this.jobs;
      case "version":
        return this.versions;
      case "task":
        return this.tasks;
      case "attempt":
        return this.attempts;
      case "host":
        return this.hosts;
      case "alive":
        return this.alive;
      case "rollout":
        return this.rollouts;
      case "endpoint":
        return this.endpoints;
      case "maintenance":
        return this.maintenance;
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
