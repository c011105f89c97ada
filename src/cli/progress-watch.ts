// What tells a rollout wait to look again: changes of the jobs waited for, from the server's typed
// watch (GET /v1/watch), so progress shows as it happens instead of at the next poll. When the watch
// cannot be had (an older server, a dropped connection), the wait polls as before.

import type { ApiClient } from "../api/client.ts";
import { jobId } from "../model/namespace.ts";
import type { WatchMessage } from "../api/watch-types.ts";

/** True when `m` concerns one of `jobs` (or may: a reset, after which everything is new). */
export function concernsJobs(m: WatchMessage, jobs: ReadonlySet<string>): boolean {
  switch (m.type) {
    case "bookmark":
      return false;
    case "reset":
      return true;
    default:
      break;
  }
  if (m.kind === "job") return jobs.has(m.name);
  if (m.kind === "task" || m.kind === "version") return jobs.has(m.name.slice(0, m.name.lastIndexOf("/")));
  if (m.kind === "attempt") return m.object === null || jobs.has(m.object.job);
  return false;
}

/** A background watch of some jobs' tasks and attempts, as a "something changed" flag. */
export class JobChanges {
  /** True while the watch is connected. */
  live = false;
  #dirty = false;
  #wake: (() => void) | null = null;
  readonly #abort = new AbortController();

  /** Watches `jobs` from `from` (their apply's revision; null: list first). */
  constructor(client: ApiClient, jobs: readonly string[], from: number | null) {
    // The watch carries jobs by id (NAME.NS outside "default", model/namespace.ts).
    const names = new Set(jobs.map((j) => jobId(client.namespace, j)));
    void (async () => {
      try {
        const opts = { kinds: ["job", "task", "attempt"] as const, jobs, signal: this.#abort.signal, onOpen: () => (this.live = true), ...(from === null ? {} : { from }) };
        for await (const m of client.watch(opts)) if (concernsJobs(m, names)) this.#mark();
      } catch {
        // No watch (an older server, refused): the caller polls.
      }
      this.live = false;
    })();
  }

  /** Clears the flag: changes from now on count. */
  take(): void {
    this.#dirty = false;
  }

  /** Resolves at the first change since `take()` (at once if there was one), or after `ms`. */
  next(ms: number): Promise<void> {
    if (this.#dirty) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }

  /** Stops watching. */
  close(): void {
    this.#abort.abort();
    this.#wake?.();
  }

  #mark(): void {
    this.#dirty = true;
    this.#wake?.();
  }
}
