// The agent's calls to the server's tracker (host token). Failures are values: without a tracker the
// fetch falls back to the origin.

import type { SwarmAnnounce, SwarmAnnounceResponse, SwarmPlan, SwarmPlanRequest, SwarmReport } from "../../api/types.ts";

/** Where the tracker is and the token to call it with. */
export interface TrackerClientOptions {
  /** The server calls go to now (it may change when the agent moves to another server). */
  serverUrl: () => string;
  /** The host token (null before registration). */
  token: () => string | null;
  /** @default 10000 */
  timeoutMs?: number;
}

/** Calls to /v1/agent/swarm/*. */
export class TrackerClient {
  readonly #o: TrackerClientOptions;
  constructor(o: TrackerClientOptions) {
    this.#o = o;
  }

  /** Announces held pieces. */
  announce(a: SwarmAnnounce): Promise<SwarmAnnounceResponse | { error: string }> {
    return this.#post("announce", a);
  }

  /** Asks whom to fetch the missing pieces from. */
  plan(r: SwarmPlanRequest): Promise<SwarmPlan | { error: string }> {
    return this.#post("plan", r);
  }

  /** Reports a peer that sent a bad piece. */
  report(r: SwarmReport): Promise<{ ok: true } | { error: string }> {
    return this.#post("report", r);
  }

  async #post<T>(what: string, body: unknown): Promise<T | { error: string }> {
    const token = this.#o.token();
    if (token === null) return { error: "the agent is not registered yet" };
    const url = `${this.#o.serverUrl()}/v1/agent/swarm/${what}`;
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000),
      });
      const text = await res.text();
      if (res.status !== 200) return { error: `${url} answered ${res.status}: ${text.slice(0, 200)}` };
      return JSON.parse(text) as T;
    } catch (err) {
      return { error: `${url}: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
}
