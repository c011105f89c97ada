// The agent's calls to the server's tracker (host token). Failures are values: without a tracker the
// fetch falls back to the origin. node:http with a kept-alive connection rather than fetch(): a
// fetcher waiting for pieces asks every few hundred ms, and fetch's per-call cost showed in the
// fan-out benchmark's profiles (32 agents on 2 cores).

import http from "node:http";
import https from "node:https";
import type { z } from "zod";
import { checkAnswer, okResponseSchema, swarmAnnounceResponseSchema, swarmPlanSchema } from "../../api/agent-wire.ts";
import type { SwarmAnnounce, SwarmAnnounceResponse, SwarmPlan, SwarmPlanRequest, SwarmReport } from "../../api/types.ts";

/** Where the tracker is and the token to call it with. */
export interface TrackerClientOptions {
  /** The server calls go to now (it may change when the agent moves to another server). */
  serverUrl: () => string;
  /** The host token (null before registration). */
  token: () => string | null;
  /** @default 10000 */
  timeoutMs?: number;
  /** For an https server: the agent's TLS (cluster CA, host certificate), current. @default none: plain HTTP only */
  httpsAgent?: () => https.Agent;
}

/** Calls to /v1/agent/swarm/*. */
export class TrackerClient {
  readonly #o: TrackerClientOptions;
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  constructor(o: TrackerClientOptions) {
    this.#o = o;
  }

  /** Closes kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }

  /** Announces held pieces. */
  announce(a: SwarmAnnounce): Promise<SwarmAnnounceResponse | { error: string }> {
    return this.#post("announce", a, swarmAnnounceResponseSchema);
  }

  /** Asks whom to fetch the missing pieces from. */
  plan(r: SwarmPlanRequest): Promise<SwarmPlan | { error: string }> {
    return this.#post("plan", r, swarmPlanSchema);
  }

  /** Reports a peer that sent a bad piece. */
  report(r: SwarmReport): Promise<{ ok: true } | { error: string }> {
    return this.#post("report", r, okResponseSchema);
  }

  async #post<T>(what: string, body: unknown, schema: z.ZodType<T>): Promise<T | { error: string }> {
    const token = this.#o.token();
    if (token === null) return { error: "the agent is not registered yet" };
    const url = `${this.#o.serverUrl()}/v1/agent/swarm/${what}`;
    const payload = JSON.stringify(body);
    const timeoutMs = this.#o.timeoutMs ?? 10_000;
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: T | { error: string }): void => {
        if (!settled) resolve(r);
        settled = true;
      };
      let req: http.ClientRequest;
      try {
        const tls = url.startsWith("https:");
        const agent = tls ? this.#o.httpsAgent?.() : this.#agent;
        req = (tls ? https.request : http.request)(url, { method: "POST", ...(agent ? { agent } : {}), headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "content-length": Buffer.byteLength(payload) } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", (err) => done({ error: `${url}: ${err.message}` }));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 200) return done({ error: `${url} answered ${res.statusCode}: ${text.slice(0, 200)}` });
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              return done({ error: `${url}: an answer that is not JSON` });
            }
            const checked = checkAnswer(schema, json);
            done(checked.ok ? checked.value : { error: `${url}: an answer of another shape (${checked.problem}): is the server another version?` });
          });
        });
      } catch (err) {
        return done({ error: `${url}: ${err instanceof Error ? err.message : String(err)}` });
      }
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      req.on("close", () => clearTimeout(timer));
      req.on("error", (err) => done({ error: `${url}: ${err.message}` }));
      req.end(payload);
    });
  }
}
