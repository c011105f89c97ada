// In-process watches over an event log. A watcher first catches up from the log in pages, then
// turns live and takes committed batches from memory. The switch happens inside one synchronous
// step (read the log up to the current revision, mark live) and commits publish synchronously after
// they land, so nothing is missed or seen twice. Delivery always happens on a later turn of the event
// loop, in revision order, never inside a writer's call stack.
import { CompactedError } from "./store.ts";
import type { Watch, WatchEvent } from "./store.ts";

/** What the hub reads history from. */
export interface EventLog {
  /** The last committed revision. */
  revision(): number;
  /** The lowest revision still in the log. */
  floor(): number;
  /** Events under `prefix` with from <= revision <= to, in order, at most `limit` (-1: all); a
   * CompactedError when `from` is no longer in the log. */
  events(prefix: string, from: number, to: number, limit: number): WatchEvent[] | CompactedError;
}

/** Revisions and events read from the log per catch-up step, so a long replay yields to other work. */
const PAGE_REVISIONS = 1000;
const PAGE_EVENTS = 5000;

class Watcher implements Watch {
  readonly prefix: string;
  /** The next revision this watcher has not yet taken (from the log or from a publish). */
  next: number;
  live = false;
  cancelled = false;
  readonly #hub: WatchHub;
  readonly #onEvents: (events: WatchEvent[]) => void;
  readonly #onError: ((err: Error) => void) | null;
  #pending: WatchEvent[] = [];
  #scheduled = false;

  constructor(hub: WatchHub, prefix: string, next: number, onEvents: (events: WatchEvent[]) => void, onError: ((err: Error) => void) | null) {
    this.#hub = hub;
    this.prefix = prefix;
    this.next = next;
    this.#onEvents = onEvents;
    this.#onError = onError;
  }

  cancel(): void {
    this.cancelled = true;
    this.#pending = [];
    this.#hub.remove(this);
  }

  /** Queues live events for delivery on a later turn. */
  push(events: WatchEvent[]): void {
    for (const e of events) this.#pending.push(e);
    this.schedule();
  }

  schedule(): void {
    if (this.#scheduled || this.cancelled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.cancelled) return;
      if (!this.live) this.#catchUp();
      const batch = this.#pending;
      this.#pending = [];
      if (batch.length > 0) this.#onEvents(batch);
      if (!this.live) this.schedule();
    });
  }

  /** Reads one page of history into the pending batch; turns live once at the current revision. */
  #catchUp(): void {
    const log = this.#hub.log;
    if (this.next < log.floor()) {
      this.fail(new CompactedError(log.floor()));
      return;
    }
    const current = log.revision();
    let to = Math.min(current, this.next + PAGE_REVISIONS - 1);
    const read = to >= this.next ? log.events(this.prefix, this.next, to, PAGE_EVENTS + 1) : [];
    if (read instanceof CompactedError) {
      this.fail(read);
      return;
    }
    let page = read;
    const cut = page[PAGE_EVENTS];
    if (cut) {
      // Too many events: stop before the revision the page cut through, so no revision is split;
      // a single revision bigger than a page is read whole.
      page = page.filter((e) => e.revision < cut.revision);
      to = cut.revision - 1;
      if (page.length === 0) {
        const whole = log.events(this.prefix, cut.revision, cut.revision, -1);
        if (whole instanceof CompactedError) {
          this.fail(whole);
          return;
        }
        page = whole;
        to = cut.revision;
      }
    }
    this.#pending = this.#pending.concat(page);
    this.next = to + 1;
    if (this.next > current) this.live = true;
  }

  /** Ends the watch with an error. Without an error handler the error is reported as a process
   * warning rather than thrown, so a forgotten handler cannot crash the server. */
  fail(err: Error): void {
    this.cancel();
    if (this.#onError) this.#onError(err);
    else process.emitWarning(err);
  }
}

/** The watchers of one store, indexed by prefix: publishing looks up each event key's prefixes of
 * the lengths in use, so thousands of per-host watchers cost a few map lookups per event rather
 * than a scan of every watcher. */
export class WatchHub {
  readonly log: EventLog;
  readonly #byPrefix = new Map<string, Set<Watcher>>();
  /** Prefix length -> number of watchers with a prefix of that length. */
  readonly #lengths = new Map<number, number>();

  constructor(log: EventLog) {
    this.log = log;
  }

  /** Starts a watch (see Store.watch). `fromRevision` <= 0 means "after the current revision". */
  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void, onError?: (err: Error) => void): Watch {
    const current = this.log.revision();
    const from = fromRevision <= 0 ? current + 1 : fromRevision;
    const w = new Watcher(this, prefix, from, onEvents, onError ?? null);
    if (from <= current && from < this.log.floor()) {
      const err = new CompactedError(this.log.floor());
      setImmediate(() => w.fail(err));
      return w;
    }
    let set = this.#byPrefix.get(prefix);
    if (!set) this.#byPrefix.set(prefix, (set = new Set()));
    set.add(w);
    this.#lengths.set(prefix.length, (this.#lengths.get(prefix.length) ?? 0) + 1);
    if (from > current) w.live = true;
    else w.schedule();
    return w;
  }

  /** Hands the events of newly committed revisions (in order) to live watchers. */
  publish(events: WatchEvent[]): void {
    const last = events.at(-1);
    if (!last) return;
    const out = new Map<Watcher, WatchEvent[]>();
    for (const e of events) {
      for (const len of this.#lengths.keys()) {
        if (len > e.kv.key.length) continue;
        const set = this.#byPrefix.get(len === e.kv.key.length ? e.kv.key : e.kv.key.slice(0, len));
        if (!set) continue;
        for (const w of set) {
          // A watcher still catching up reads these from the log; one starting later skips them.
          if (!w.live || e.revision < w.next) continue;
          const mine = out.get(w);
          if (mine) mine.push(e);
          else out.set(w, [e]);
        }
      }
    }
    for (const set of this.#byPrefix.values()) for (const w of set) if (w.live) w.next = Math.max(w.next, last.revision + 1);
    for (const [w, mine] of out) w.push(mine);
  }

  remove(w: Watcher): void {
    const set = this.#byPrefix.get(w.prefix);
    if (!set?.delete(w)) return;
    if (set.size === 0) this.#byPrefix.delete(w.prefix);
    const n = (this.#lengths.get(w.prefix.length) ?? 1) - 1;
    if (n === 0) this.#lengths.delete(w.prefix.length);
    else this.#lengths.set(w.prefix.length, n);
  }

  /** Cancels every watch (the store is closing). */
  closeAll(): void {
    for (const set of [...this.#byPrefix.values()]) for (const w of [...set]) w.cancel();
  }
}
