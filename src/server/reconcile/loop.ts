// The reconcile loop: runs on relevant changes (debounced) and every second. One pass decides every
// job (decide.ts) and writes the changes, waits for the mirror to see them, then places what needs a
// host (place.ts). Passes never overlap; a trigger during a pass runs one more pass after it.

import type { Logger } from "pino";
import type { Clock } from "../../model/index.ts";
import type { Store } from "../../state/store.ts";
import type { Liveness } from "../liveness.ts";
import type { Metrics } from "../metrics.ts";
import type { Mirror } from "../mirror.ts";
import { buildTxn, isEmpty, usageByHost } from "./commit.ts";
import type { WriteSet } from "./commit.ts";
import { decideJob } from "./decide.ts";
import { jobInput } from "./inputs.ts";
import { placeJob } from "./place.ts";
import { LiveIndex } from "./live-index.ts";

/** How long changes are collected before a pass. */
export const DebounceMs = 20;
/** A pass runs at least this often (time-based decisions: back-off, fencing, failure reset). */
export const TickMs = 1000;

/** Runs the reconcilers. */
export class Reconciler {
  readonly #store: Store;
  readonly #mirror: Mirror;
  readonly #liveness: Liveness;
  readonly #clock: Clock;
  readonly #fenceMs: number;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  #debounce: NodeJS.Timeout | null = null;
  #tick: { cancel(): void } | null = null;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;
  #unsubscribe: (() => void) | null = null;
  /** The scheduler index, built on the first placement phase and then kept current. */
  #index: LiveIndex | null = null;

  constructor(opts: { store: Store; mirror: Mirror; liveness: Liveness; clock: Clock; fenceMs: number; metrics: Metrics; log: Logger }) {
    this.#store = opts.store;
    this.#mirror = opts.mirror;
    this.#liveness = opts.liveness;
    this.#clock = opts.clock;
    this.#fenceMs = opts.fenceMs;
    this.#metrics = opts.metrics;
    this.#log = opts.log;
  }

  /** Starts reacting to state changes and ticking. */
  start(): void {
    this.#unsubscribe = this.#mirror.onChange((changes) => {
      // Our own /alloc rewrites and host tokens never need a pass of their own.
      if (changes.some((c) => !c.key.startsWith("/alloc/") && !c.key.startsWith("/hosttokens/"))) this.trigger();
    });
    const tick = (): void => {
      if (this.#stopped) return;
      this.trigger();
      this.#tick = this.#clock.setTimeout(tick, TickMs);
    };
    this.#tick = this.#clock.setTimeout(tick, TickMs);
    this.trigger();
  }

  /** Asks for a pass soon (coalesced). */
  trigger(): void {
    if (this.#stopped || this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      void this.run();
    }, DebounceMs);
  }

  /** Runs a pass now (or one more after the current one); resolves when it is done. */
  async run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        try {
          await this.#pass();
        } catch (err) {
          this.#log.error({ err }, "reconcile pass failed");
        }
      } while (this.#again && !this.#stopped);
    })().finally(() => (this.#running = null));
    return this.#running;
  }

  /** Stops ticking and waits for a running pass. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#index?.close();
    this.#tick?.cancel();
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = null;
    await this.#running;
  }

  async #pass(): Promise<void> {
    const m = this.#mirror;
    const now = this.#clock.now();
    const hosts = this.#liveness.hostStates(now);
    const usage = usageByHost(m);
    const ctx = { hosts, usage, now, fenceMs: this.#fenceMs };

    const endDecide = this.#metrics.reconcileDuration.startTimer({ phase: "decide" });
    let lastRev = 0;
    for (const name of [...m.jobs.keys()].sort()) {
      if (this.#stopped) return;
      // From reading the mirror to building the transaction nothing awaits: the compares are the
      // revisions the decision read.
      const job = m.jobs.get(name)?.value;
      const inp = job ? jobInput(m, job, ctx) : null;
      if (!inp) continue;
      const d = decideJob(inp);
      const ws: WriteSet = { tasks: d.putTasks, deleteTasks: d.deleteTasks.map((index) => ({ job: name, index })), attempts: d.putAttempts, deleteAttempts: d.deleteAttempts };
      if (isEmpty(ws)) continue;
      const r = await this.#store.txn(buildTxn(m, ws));
      if (r.succeeded) lastRev = r.revision;
      else {
        // Someone wrote in between: decide again once the mirror has their write.
        this.#again = true;
        lastRev = Math.max(lastRev, r.revision);
      }
      this.#log.debug({ job: name, ok: r.succeeded, tasks: ws.tasks.length, attempts: ws.attempts.length }, "reconciled job");
    }
    endDecide();
    if (lastRev > 0) await m.waitFor(lastRev);

    const endPlace = this.#metrics.reconcileDuration.startTimer({ phase: "place" });
    const placeHosts = this.#liveness.hostStates(this.#clock.now());
    this.#index ??= new LiveIndex(m, placeHosts);
    const index = this.#index.current(placeHosts);
    for (const name of [...m.jobs.keys()].sort()) {
      if (this.#stopped) return;
      const p = placeJob(m, index, name, { ...ctx, hosts: placeHosts });
      if (!p) continue;
      const r = await this.#store.txn(buildTxn(m, p.writes));
      this.#metrics.placements.inc({ result: r.succeeded ? "placed" : "conflict" }, r.succeeded ? p.plan.placements.length : 1);
      if (r.succeeded) {
        if (p.plan.unplaced.length > 0) this.#metrics.placements.inc({ result: "unplaced" }, p.plan.unplaced.length);
        this.#log.info({ job: name, placed: p.plan.placements.length, unplaced: p.plan.unplaced.length, moves: p.moves }, "placed tasks");
      } else {
        // The index holds a plan that was not written: start again from the mirror on the next pass.
        this.#again = true;
        await m.waitFor(r.revision);
        this.#index.rebuild(placeHosts);
        break;
      }
      // The index already holds this plan (commit), and the mirror's copy of the write only confirms it.
      await m.waitFor(r.revision);
    }
    endPlace();
  }
}
