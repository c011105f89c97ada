// A follower's circuit breaker for the agent calls it passes on to the leader's tracker. A leader that
// is hung (the election still names it, but it answers nothing) would cost every announce and plan the
// whole forward timeout; after one call got no answer, calls to that leader fail at once for `openMs`,
// then one call at a time tries it again (the others keep failing at once until that one is answered).
//
//   closed ──a call got no answer──> open (for openMs) ──openMs passed──> one trial call in flight
//     ^                                ^                                    │
//     └───────the leader answered──────┼────────────────────────────────────┤
//                                      └──────────no answer─────────────────┘
//
// Kept per leader: a new leader (another server, or the same one restarted) starts closed. Our own
// rather than cockatiel's (which src/state/etcd.ts uses): it reads time from the server's Clock, so
// tests move it, and it needs that reset per leader.

import type { Clock } from "../../model/index.ts";

/** See the top of this file. */
export class ForwardBreaker {
  readonly #clock: Clock;
  readonly #openMs: number;
  /** The leader whose call got no answer, until when it is not called, and whether a trial is under way. */
  #open: { leader: string; until: number; trial: boolean } | null = null;

  constructor(o: { clock: Clock; openMs: number }) {
    this.#clock = o.clock;
    this.#openMs = o.openMs;
  }

  /** Whether to call `leader` (a key naming one leader's process) now; true makes the caller report
   * the outcome with `answered` or `unanswered`. */
  allow(leader: string): boolean {
    const o = this.#open;
    if (o === null || o.leader !== leader) return true;
    if (o.trial || this.#clock.now() < o.until) return false;
    o.trial = true;
    return true;
  }

  /** The leader answered (whatever the status): calls go to it again. */
  answered(leader: string): void {
    if (this.#open?.leader === leader) this.#open = null;
  }

  /** The leader did not answer (timeout, unreachable): it is not called for `openMs`. */
  unanswered(leader: string): void {
    this.#open = { leader, until: this.#clock.now() + this.#openMs, trial: false };
  }

  /** Until when calls to `leader` fail at once (null: they are made). */
  openUntil(leader: string): number | null {
    const o = this.#open;
    return o !== null && o.leader === leader ? o.until : null;
  }
}
