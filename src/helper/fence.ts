// Fencing: a helper whose agent has gone silent stops its task, because the server is about to place a
// replacement elsewhere and two live copies must not run. The clock starts when the helper starts.
import type { Clock } from "../model/index.ts";

/** Calls `onFence` once when no ping came for `fenceMs` and any announced absence (`awayUntil`) is over. */
export class Fence {
  readonly #clock: Clock;
  readonly #fenceMs: number;
  readonly #onFence: (reason: string) => void;
  #lastPing: number;
  #awayUntil = 0;
  #timer: { cancel(): void } | null = null;
  #done = false;
  readonly #drain: (then: () => void) => void;

  /** `drain`: runs `then` once pending input (pings already in the socket) has been read; the real
   * helper passes setImmediate. Why: a helper descheduled past its deadline (a machine swamped by
   * starts) wakes with its timer due and the agent's pings unread, and Node runs timers before it polls
   * sockets: it fenced though pings had come in time. @default runs `then` at once */
  constructor(clock: Clock, fenceMs: number, onFence: (reason: string) => void, drain: (then: () => void) => void = (then) => then()) {
    this.#clock = clock;
    this.#fenceMs = fenceMs;
    this.#onFence = onFence;
    this.#drain = drain;
    this.#lastPing = clock.now();
    this.#arm();
  }

  /**
   * Records a ping. `awayUntil` only ever extends: an old agent may still send plain pings after it announced
   * its upgrade, and those must not cancel the announcement.
   */
  ping(awayUntil?: number): void {
    if (this.#done) return;
    this.#lastPing = this.#clock.now();
    if (awayUntil !== undefined && awayUntil > this.#awayUntil) this.#awayUntil = awayUntil;
    this.#arm();
  }

  /** Stops watching (the task has ended). */
  cancel(): void {
    this.#done = true;
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** When the fence falls if no ping comes. */
  get deadline(): number {
    return Math.max(this.#lastPing + this.#fenceMs, this.#awayUntil);
  }

  #arm(): void {
    this.#timer?.cancel();
    this.#timer = this.#clock.setTimeout(() => this.#check(), this.deadline - this.#clock.now());
  }

  #check(drained = false): void {
    if (this.#done) return;
    const now = this.#clock.now();
    if (now < this.deadline) return this.#arm();
    if (!drained) return this.#drain(() => this.#check(true));
    this.cancel();
    this.#onFence(`fenced: agent gone for ${now - this.#lastPing}ms`);
  }
}
