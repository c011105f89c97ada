// Store watches on etcd watch streams. One gRPC stream per watch, so a reconnect concerns one watch
// only: it resumes from the revision after the last event delivered (etcd3's own Watcher resumes
// from the last response header's revision, which skips events when a replay is cut short). etcd
// never splits one revision's events across responses (its replay batches whole revisions), so
// dropping events below that revision after a reconnect removes exactly the duplicates.
import type { Etcd3, IDuplexStream, IWatchRequest, IWatchResponse } from "etcd3";
import type { Namespace } from "./etcd-codec.ts";
import { CompactedError } from "./store.ts";
import type { Watch, WatchEvent } from "./store.ts";

/** What a watch needs from its store. */
export interface WatchDeps {
  client: Etcd3;
  ns: Namespace;
  closed: () => boolean;
}

/** Delay before a reconnect, doubling up to the max while the stream keeps failing. */
const BackoffMs = { first: 50, max: 2000 };

/** One store watch, kept alive across stream failures until cancelled or failed for good. */
export class EtcdWatch implements Watch {
  readonly #deps: WatchDeps;
  readonly #prefix: string;
  readonly #onEvents: (events: WatchEvent[]) => void;
  readonly #onError: ((err: Error) => void) | null;
  /** The first revision not yet delivered. */
  #next: number;
  #stream: IDuplexStream<IWatchRequest, IWatchResponse> | null = null;
  #cancelled = false;
  #backoff = BackoffMs.first;
  #timer: NodeJS.Timeout | null = null;
  /** Events carry the key as it was before them (more bytes per event: only when asked). */
  readonly #prevKv: boolean;

  /** Watches from `fromRevision` (the store resolves "from now" before). */
  constructor(deps: WatchDeps, prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError: ((err: Error) => void) | null, prevKv = false) {
    this.#deps = deps;
    this.#prevKv = prevKv;
    this.#prefix = prefix;
    this.#next = Math.max(1, fromRevision);
    this.#onEvents = onEvents;
    this.#onError = onError;
    void this.#connect();
  }

  cancel(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#stream?.cancel();
    this.#stream = null;
  }

  /** The first revision this watch has not delivered (for tests and diagnostics). */
  get next(): number {
    return this.#next;
  }

  async #connect(): Promise<void> {
    if (this.#stopped()) return;
    try {
      const stream = await this.#deps.client.watchClient.watch();
      if (this.#stopped()) {
        stream.on("error", () => undefined);
        stream.cancel();
        return;
      }
      this.#stream = stream;
      stream.on("data", (res) => this.#onResponse(stream, res));
      stream.on("error", (err) => this.#lost(stream, err));
      stream.on("end", () => this.#lost(stream, new Error("etcd watch stream ended")));
      const { key, range_end } = this.#deps.ns.range(this.#prefix);
      stream.write({ create_request: { key, range_end, start_revision: this.#next, progress_notify: true, prev_kv: this.#prevKv } });
    } catch {
      this.#retry();
    }
  }

  #stopped(): boolean {
    return this.#cancelled || this.#deps.closed();
  }

  #onResponse(stream: IDuplexStream<IWatchRequest, IWatchResponse>, res: IWatchResponse): void {
    if (stream !== this.#stream || this.#stopped()) return;
    this.#backoff = BackoffMs.first;
    if (res.canceled) {
      this.#fail(stream, Number(res.compact_revision) > 0 ? new CompactedError(Number(res.compact_revision)) : new Error(`etcd cancelled the watch on ${this.#prefix}: ${res.cancel_reason}`));
      return;
    }
    if (res.events.length === 0) {
      // A progress notification goes only to a watcher that has been sent everything up to the
      // header revision, so resuming after it misses nothing (and keeps an idle watch clear of
      // compaction). The created response carries the current revision too, but promises nothing.
      if (!res.created && Number(res.header.revision) >= this.#next) this.#next = Number(res.header.revision) + 1;
      return;
    }
    const events: WatchEvent[] = [];
    for (const ev of res.events) {
      const revision = Number(ev.kv.mod_revision);
      if (revision < this.#next) continue; // seen before a reconnect
      const type = ev.type === "Put" ? "put" : "delete";
      const kv = this.#deps.ns.kv(ev.kv);
      events.push(this.#prevKv && ev.prev_kv ? { type, kv, revision, prevKv: this.#deps.ns.kv(ev.prev_kv) } : { type, kv, revision });
    }
    const last = events[events.length - 1];
    if (!last) return;
    this.#next = last.revision + 1;
    try {
      this.#onEvents(events);
    } catch (err) {
      // A bug in the caller's handler must not look like a stream failure (and be retried).
      setImmediate(() => {
        throw err;
      });
    }
  }

  #lost(stream: IDuplexStream<IWatchRequest, IWatchResponse>, _err: Error): void {
    if (stream !== this.#stream) return;
    this.#stream = null;
    stream.cancel();
    this.#retry();
  }

  #retry(): void {
    if (this.#stopped()) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect();
    }, this.#backoff);
    this.#backoff = Math.min(this.#backoff * 2, BackoffMs.max);
  }

  #fail(stream: IDuplexStream<IWatchRequest, IWatchResponse>, err: Error): void {
    this.#stream = null;
    this.#cancelled = true;
    stream.cancel();
    this.#onError?.(err);
  }
}

/** The compacted revision etcd reports for a watch from `revision` (a read below it failed with
 * "compacted" but etcd's read error does not say where history starts). */
export async function probeCompactRevision(client: Etcd3, key: Buffer, revision: number, timeoutMs: number): Promise<number> {
  const stream = await client.watchClient.watch();
  try {
    return await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no answer")), timeoutMs);
      stream.on("data", (res) => {
        clearTimeout(timer);
        resolve(Number(res.compact_revision));
      });
      stream.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      stream.write({ create_request: { key, start_revision: revision } });
    });
  } finally {
    stream.cancel();
  }
}
