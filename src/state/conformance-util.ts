// Helpers for the store conformance suite: how a suite opens stores, and a watch event collector.
import { setTimeout as sleep } from "node:timers/promises";
import type { ManualClock } from "../model/index.ts";
import type { Store, WatchEvent } from "./store.ts";

/** A store opened for one conformance test. */
export interface OpenedStore {
  store: Store;
  /** Opens the same data again; the suite closes the previous store first. Omit if unsupported. */
  reopen?: () => Promise<Store>;
  /** Drops history below `revision`, as the implementation's compaction would. Without it the
   * compaction tests are skipped. */
  compact?: (revision: number) => Promise<void>;
  /** Closes whatever store is open and removes its data. */
  cleanup: () => Promise<void>;
}

/** Opens a fresh, empty store. */
export type OpenStore = () => Promise<OpenedStore>;

/** Options of the conformance suite. */
export interface ConformanceOptions {
  /** The clock the opened stores use for leases; without it lease tests wait in real time. */
  clock?: ManualClock;
  /** Why this implementation cannot be tested here (etcd not installed): every test of the suite is
   * then reported as skipped with this reason, rather than the suite not being registered at all. */
  skip?: string | false;
}

/** Opens a store, runs `fn`, and always cleans up. */
export async function withStore(open: OpenStore, fn: (o: OpenedStore) => Promise<void>): Promise<void> {
  const o = await open();
  try {
    await fn(o);
  } finally {
    await o.cleanup();
  }
}

/** Moves time for leases: the manual clock if there is one, else real time. */
export async function passTime(clock: ManualClock | null, ms: number): Promise<void> {
  if (clock) clock.advance(ms);
  else await sleep(ms);
}

/** Records what a watch delivers and lets a test wait for it. */
export class Collector {
  readonly events: WatchEvent[] = [];
  readonly errors: Error[] = [];
  /** Set while a test is inside a store call, to prove delivery never happens in the caller's stack. */
  inCall = false;
  calledInCall = false;
  #wake: (() => void) | null = null;

  readonly onEvents = (events: WatchEvent[]): void => {
    if (this.inCall) this.calledInCall = true;
    this.events.push(...events);
    this.#wake?.();
  };
  readonly onError = (err: Error): void => {
    this.errors.push(err);
    this.#wake?.();
  };

  /** Waits until `pred` holds, failing after `timeoutMs` with `what` and what was seen. */
  async until(what: string, pred: () => boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; saw ${this.events.length} events, errors: ${this.errors.map((e) => e.message).join("; ") || "none"}`);
      }
      await Promise.race([new Promise<void>((r) => (this.#wake = r)), sleep(50)]);
    }
  }

  /** `type key@revision` for each event, for readable assertions. */
  summary(): string[] {
    return this.events.map((e) => `${e.type} ${e.kv.key}@${e.revision}`);
  }
}

/** Waits a little in real time, long enough for stray deliveries to show up. */
export function settle(ms = 150): Promise<void> {
  return sleep(ms);
}
