// Task metrics in HA: the leader holds them. A follower passes each agent's metrics report on to the
// leader (`POST /v1/internal/metrics`) instead of keeping it, and answers `GET /v1/jobs/:name/metrics`
// with the leader's answer, so every server shows the same latest summaries and the same open block
// (the points not yet written to the store), the leader's rollout checks see every task's series,
// and the task series in Prometheus's output are on one server only (the leader's `/metrics`).
// When no other leader is known, or it did not answer, the follower keeps and answers what it received
// itself (as a single server does); a leader that did not answer is not asked again for `pauseMs`,
// so a hung leader does not cost every report its timeout.
import type { LeaderElection, LeaderValue } from "./leader.ts";

/** Options of LeaderRelay. */
export interface LeaderRelayOptions {
  election: LeaderElection;
  /** This server's id: a leader of this id is this server. */
  selfId: string;
  adminToken: () => string;
  /** @default 2000 */
  timeoutMs?: number;
  /** @default 10000 */
  pauseMs?: number;
}

/** Calls to the leader on a follower's behalf; null (or false) when there is none to call. */
export class LeaderRelay {
  readonly #o: LeaderRelayOptions;
  #pausedUntil = 0;

  constructor(o: LeaderRelayOptions) {
    this.#o = o;
  }

  /** The leader when it is another server that answered recently; null on the leader or without one. */
  other(): LeaderValue | null {
    const l = this.#o.election.leader();
    if (!l || l.url === "" || l.id === this.#o.selfId || this.#o.election.isLeader()) return null;
    return Date.now() < this.#pausedUntil ? null : l;
  }

  /** POSTs `body` to the leader's `path`; true when it answered 200. */
  async post(path: string, body: unknown): Promise<boolean> {
    return (await this.#call(path, { method: "POST", body: JSON.stringify(body) })) !== null;
  }

  /** GETs the leader's `pathAndQuery`; its body when it answered 200, else null. */
  get(pathAndQuery: string): Promise<string | null> {
    return this.#call(pathAndQuery, { method: "GET" });
  }

  async #call(path: string, init: { method: string; body?: string }): Promise<string | null> {
    const leader = this.other();
    if (!leader) return null;
    try {
      const res = await fetch(`${leader.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${this.#o.adminToken()}`, "content-type": "application/json" },
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 2000),
      });
      const text = await res.text();
      // 503: it stopped leading; the watch names the next one. Nothing else is worth waiting for.
      if (res.status === 200) return text;
      if (res.status >= 500) this.#pausedUntil = Date.now() + (this.#o.pauseMs ?? 10_000);
      return null;
    } catch {
      this.#pausedUntil = Date.now() + (this.#o.pauseMs ?? 10_000);
      return null;
    }
  }
}
