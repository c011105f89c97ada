// A page's own narrow watch: the tasks and attempts of one host (`host=`) or one job (`job=`), listed
// and followed while the page shows them, then closed. The tab's main streams (live.ts) never list
// tasks: a host's panel needs its few dozen, not the cluster's hundred thousand.

import { useEffect, useMemo, useState } from "preact/hooks";
import { AllNamespaces, ErrorCodes, TiffinError } from "../../src/api/index.ts";
import type { ApiClient, Attempt, Task, WatchMessage } from "../../src/api/index.ts";

/** What a scoped watch holds: the objects of its filter, by watch name. */
export class Scoped {
  readonly tasks = new Map<string, Task>();
  readonly attempts = new Map<string, Attempt>();
  /** True once the list is complete. */
  synced = false;

  /** Applies one message (exported for tests). */
  apply(msg: WatchMessage): void {
    if (msg.type === "reset") {
      this.tasks.clear();
      this.attempts.clear();
      this.synced = false;
    } else if (msg.type === "bookmark") this.synced = true;
    else if (msg.kind === "task") {
      if (msg.type === "removed" || msg.object === null) this.tasks.delete(msg.name);
      else this.tasks.set(msg.name, msg.object);
    } else if (msg.kind === "attempt") {
      if (msg.type === "removed" || msg.object === null) this.attempts.delete(msg.name);
      else this.attempts.set(msg.name, msg.object);
    }
  }
}

/** Which objects a scoped watch follows. */
export type ScopeFilter = { host: string } | { job: string };

/** Follows the tasks and attempts of `filter` while the component is shown; re-renders at most every
 * 100 ms. `onError` gets a refused token (the shell logs out). */
export function useScoped(client: ApiClient, filter: ScopeFilter, onError: (err: unknown) => void): Scoped {
  const key = "host" in filter ? `host:${filter.host}` : `job:${filter.job}`;
  const scoped = useMemo(() => new Scoped(), [client, key]);
  const [, setTick] = useState(0);
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const changed = (): void => {
      if (timer !== null) return;
      timer = setTimeout(() => {
        timer = null;
        setTick((n) => n + 1);
      }, 100);
    };
    void (async () => {
      try {
        const opts = "host" in filter ? { hosts: [filter.host] } : { jobs: [filter.job] };
        // A host runs the tasks of every namespace: its watch lists those the token may read.
        const c = "host" in filter ? client.inNamespace(AllNamespaces) : client;
        for await (const msg of c.watch({ kinds: ["task", "attempt"], ...opts, signal: abort.signal })) {
          scoped.apply(msg);
          changed();
        }
      } catch (err) {
        if (!abort.signal.aborted && err instanceof TiffinError && err.code === ErrorCodes.Unauthorized) onError(err);
      }
    })();
    return () => {
      abort.abort();
      if (timer !== null) clearTimeout(timer);
    };
  }, [scoped]);
  return scoped;
}
