// Server to server: followers tell the leader which hosts heartbeated to them. Heartbeats renew the
// host's lease in the store wherever they land, but "suspect" and the last-contact time that the
// disconnect policy counts from live in the leader's memory; without this, a leader would find every
// host that talks to another server suspect (no new tasks) and would count stop-after delays from a
// stale time. One small POST per interval, no store write: heartbeats stay out of the store's history.

import type { Logger } from "pino";
import type { LeaderElection } from "./leader.ts";
import type { Liveness } from "./liveness.ts";

/** The body of `POST /v1/internal/contacts`. */
export interface ContactsBody {
  from: string;
  /** Host ids with how long ago (ms) this server heard from them: ages, so clocks need not agree. */
  contacts: [string, number][];
}

/** Sends the hosts a follower heard from to the leader, every `everyMs`. */
export class ContactRelay {
  readonly #o: { election: LeaderElection; liveness: Liveness; selfId: string; adminToken: () => string; log: Logger; everyMs: number };
  #timer: NodeJS.Timeout | null = null;
  /** Contacts a failed send still owes the leader: host -> epoch ms. */
  #pending = new Map<string, number>();
  #sending = false;

  constructor(opts: { election: LeaderElection; liveness: Liveness; selfId: string; adminToken: () => string; log: Logger; everyMs: number }) {
    this.#o = opts;
  }

  start(): void {
    this.#timer = setInterval(() => void this.#send(), this.#o.everyMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async #send(): Promise<void> {
    const { election, liveness } = this.#o;
    const leader = election.leader();
    if (this.#sending || election.isLeader() || !leader || leader.id === this.#o.selfId || leader.url === "") {
      if (election.isLeader()) this.#pending.clear();
      return;
    }
    const now = Date.now();
    for (const [id, age] of liveness.takeRelayed()) this.#pending.set(id, Math.max(this.#pending.get(id) ?? 0, now - age));
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const body: ContactsBody = { from: this.#o.selfId, contacts: [...batch].map(([id, at]) => [id, Math.max(0, now - at)]) };
    this.#sending = true;
    try {
      const res = await fetch(`${leader.url}/v1/internal/contacts`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.#o.adminToken()}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.max(1000, this.#o.everyMs * 2)),
      });
      await res.text();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      // Kept for the next send (to this leader or the next one); newer contacts win.
      for (const [id, at] of batch) if ((this.#pending.get(id) ?? 0) < at) this.#pending.set(id, at);
      this.#o.log.debug({ err: String(err), leader: leader.url }, "passing contacts to the leader failed");
    } finally {
      this.#sending = false;
    }
  }
}
