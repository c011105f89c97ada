// Fencing: a helper whose agent has gone silent stops its task, because the server is about to place a
// replacement elsewhere and two live copies must not run. The clock starts when the helper starts.
//
// How fresh is a sign of life? The helper sends numbered probes (helper -> agent `ping` with `seq`) and the
// agent echoes the number in its pings; an echo counts from when ITS probe left the helper, on the helper's
// own clock, not from when the echo was read. Why: a helper that was paused (SIGSTOP, a machine swamped
// by starts) finds pings queued in its socket; read as fresh, pings an agent sent before it died kept the
// task up to fenceMs past the helper's wake, while the server already placed a replacement. The agent's
// send time cannot be used instead: clocks of two processes are not comparable here (the helper's clock
// is injected). A ping without `seq` (an agent older than probes, or one that has seen no probe yet)
// still counts from its arrival.
import type { Clock } from "../model/index.ts";

/** How a Fence is wired. */
export interface FenceOptions {
  clock: Clock;
  /** Fence when the agent showed no sign of life for this long. */
  fenceMs: number;
  /** Called once, with the reason, when the fence falls. */
  onFence(reason: string): void;
  /** Sends probe `seq` to every connected agent. */
  probe(seq: number): void;
  /** Runs `then` once pending input (pings already in the socket) has been read; the real helper passes
   * setImmediate. Why: a helper descheduled past its deadline wakes with its timer due and the agent's
   * pings unread, and Node runs timers before it polls sockets. @default runs `then` at once */
  drain?(then: () => void): void;
  /** Between probes. @default fenceMs / 5 */
  probeEveryMs?: number;
  /** A due fence falls only once a probe sent at least this long ago is unanswered: after a pause the
   * helper probes first, so an agent that is alive keeps its task. @default probeEveryMs */
  answerMs?: number;
}

/** Calls `onFence` once when no sign of life came for `fenceMs` and any announced absence (`awayUntil`) is over. */
export class Fence {
  readonly #o: Required<FenceOptions>;
  /** When the agent was last known alive, on the helper's clock. */
  #lastPing: number;
  #awayUntil = 0;
  /** Probes sent and not answered yet, oldest first (the agent answers in order). */
  #pending: { seq: number; at: number }[] = [];
  #nextSeq = 1;
  #timer: { cancel(): void } | null = null;
  #probeTimer: { cancel(): void } | null = null;
  #done = false;

  constructor(opts: FenceOptions) {
    const probeEveryMs = opts.probeEveryMs ?? Math.max(1, Math.floor(opts.fenceMs / 5));
    this.#o = { drain: (then) => then(), probeEveryMs, answerMs: probeEveryMs, ...opts };
    this.#lastPing = this.#o.clock.now();
    this.#arm();
    this.#probeLoop();
  }

  /**
   * Records a ping. `seq`: the probe it answers (it counts from when that probe was sent; an unknown or
   * already answered one adds nothing); absent: counts from now. `awayUntil` only ever extends: an old
   * agent may still send plain pings after it announced its upgrade, and those must not cancel it.
   */
  ping(awayUntil?: number, seq?: number): void {
    if (this.#done) return;
    if (seq === undefined) this.#lastPing = this.#o.clock.now();
    else {
      const i = this.#pending.findIndex((p) => p.seq === seq);
      if (i >= 0) {
        this.#lastPing = Math.max(this.#lastPing, this.#pending[i]!.at);
        this.#pending.splice(0, i + 1);
      }
    }
    if (awayUntil !== undefined && awayUntil > this.#awayUntil) this.#awayUntil = awayUntil;
    this.#arm();
  }

  /** Sends a probe now (an agent just connected), besides the regular ones. */
  probeNow(): void {
    if (!this.#done) this.#sendProbe();
  }

  /** Stops watching (the task has ended). */
  cancel(): void {
    this.#done = true;
    this.#timer?.cancel();
    this.#timer = null;
    this.#probeTimer?.cancel();
    this.#probeTimer = null;
  }

  /** When the fence falls if no ping comes. */
  get deadline(): number {
    return Math.max(this.#lastPing + this.#o.fenceMs, this.#awayUntil);
  }

  #sendProbe(): void {
    const p = { seq: this.#nextSeq++, at: this.#o.clock.now() };
    this.#pending.push(p);
    // No agent for long (an announced absence): the oldest unanswered probes say nothing more.
    if (this.#pending.length > 1000) this.#pending.shift();
    this.#o.probe(p.seq);
  }

  #probeLoop(): void {
    if (this.#done) return;
    this.#sendProbe();
    this.#probeTimer = this.#o.clock.setTimeout(() => this.#probeLoop(), this.#o.probeEveryMs);
  }

  #arm(at = this.deadline): void {
    this.#timer?.cancel();
    this.#timer = this.#o.clock.setTimeout(() => this.#check(), at - this.#o.clock.now());
  }

  #check(drained = false): void {
    if (this.#done) return;
    const now = this.#o.clock.now();
    if (now < this.deadline) return this.#arm();
    if (!drained) return this.#o.drain(() => this.#check(true));
    const asked = this.#pending[0];
    if (asked === undefined || asked.at > now - this.#o.answerMs) {
      // No probe has had time to be answered (the helper itself was not running): ask now, decide after.
      if (asked === undefined) this.#sendProbe();
      return this.#arm(this.#pending[0]!.at + this.#o.answerMs);
    }
    this.cancel();
    this.#o.onFence(`fenced: agent gone for ${now - this.#lastPing}ms`);
  }
}
