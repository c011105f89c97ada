// The agent half of the API client (the user half is ./client.ts): the calls an agent makes (see
// ./types.ts). Every call has a timeout and returns a value: an unreachable server is an expected
// outcome for an agent, not an exception. The agent uses it, and so do the server's tests, so they
// exercise the production client. Browser-safe (fetch only).
//
// Several servers (`http://a:7070,http://b:7070`): calls go to the server that answered last; one
// that cannot be reached, does not answer in time, or answers 503/504 (cut off from the store) is
// skipped for the next one within the same call. Every agent call is idempotent (register, heartbeat,
// a report of states), so sending it again to another server is safe.

import type { z } from "zod";
import { checkAnswer, errorAnswerSchema, heartbeatResponseSchema, okResponseSchema, registerResponseSchema } from "./agent-wire.ts";
import type { MetricsReport } from "../model/task-metrics.ts";
import type {
  AttemptReport,
  HeartbeatRequest,
  HeartbeatResponse,
  RegisterRequest,
  RegisterResponse,
} from "./types.ts";

/** The outcome of one call: the body, or why there is none (`status` null: no HTTP answer at all). */
export type CallResult<T> = { ok: true; value: T } | { ok: false; status: number | null; code: string | null; message: string };

/** Per-call options. */
export interface CallOptions {
  /** Overrides the client's timeout for this call (per server tried). */
  timeoutMs?: number;
}

/** Calls to the server an agent makes. */
export interface AgentClient {
  /** The server calls go to now. */
  readonly baseUrl: string;
  register(joinToken: string, req: RegisterRequest): Promise<CallResult<RegisterResponse>>;
  heartbeat(hostToken: string, req: HeartbeatRequest, opts?: CallOptions): Promise<CallResult<HeartbeatResponse>>;
  reportAttempts(hostToken: string, report: AttemptReport): Promise<CallResult<{ ok: true }>>;
  /** Sends tasks' metrics summaries (not retried by the agent: the next report is newer), gzipped to a
   * server whose earlier answer said it accepts gzip bodies (plain to others, and again after a 400). */
  reportMetrics?(hostToken: string, report: MetricsReport): Promise<CallResult<{ ok: true }>>;
  /** Absolute URL of the assignments event stream (on the current server). */
  assignmentsUrl(): string;
  /** Moves to the next server if `url` is still the current one's (a stream there failed). */
  skip?(url: string): void;
  /** Calls `fn` when calls move to another server. */
  onSwitch?(fn: (baseUrl: string) => void): void;
}

/** Options of `createAgentClient` beyond the address and timeout. */
export interface AgentClientOptions {
  /** The fetch to use (over mTLS: src/api/tls.ts). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Runs after a registration succeeded, before `register` returns (the mTLS bootstrap gets the
   * host's certificate here, so no host call goes out without it); a failure it returns is register's. */
  afterRegister?: (r: RegisterResponse) => Promise<CallResult<unknown> | null>;
}

/** Builds a client for the server(s) at `baseUrl` (comma-separated for several); each call to one
 * server is aborted after `timeoutMs`. */
export function createAgentClient(baseUrl: string | string[], timeoutMs = 10_000, o: AgentClientOptions = {}): AgentClient {
  // Looked up per call when not given (tests replace globalThis.fetch).
  const fetchImpl: typeof fetch = o.fetch ?? ((input, init) => fetch(input, init));
  const urls = (Array.isArray(baseUrl) ? baseUrl : baseUrl.split(",")).map((u) => u.trim().replace(/\/+$/, "")).filter((u) => u !== "");
  if (urls.length === 0) urls.push(String(baseUrl));
  let current = 0;
  const listeners: ((url: string) => void)[] = [];
  const moveTo = (i: number): void => {
    if (i === current) return;
    current = i;
    for (const fn of listeners) fn(urls[current] ?? "");
  };
  // Servers that said they take gzip request bodies (`Accept-Encoding: gzip` on an answer, RFC 7694).
  const gzipOk = new Set<string>();
  const postOne = async <T>(base: string, path: string, token: string, body: unknown, ms: number, schema: z.ZodType<T>, compress = false): Promise<CallResult<T>> => {
    try {
      const json = JSON.stringify(body);
      const gzip = compress && gzipOk.has(base);
      const res = await fetchImpl(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...(gzip ? { "content-encoding": "gzip" } : {}) },
        body: gzip ? await gzipText(json) : json,
        signal: AbortSignal.timeout(ms),
      });
      const text = await res.text();
      if (/\bgzip\b/i.test(res.headers.get("accept-encoding") ?? "")) gzipOk.add(base);
      if (gzip && (res.status === 400 || res.status === 415)) {
        // Refused (a server of another version behind the same address): plain from now on, this one too.
        gzipOk.delete(base);
        return postOne(base, path, token, body, ms, schema);
      }
      if (res.status >= 400) {
        const err = parseError(text);
        return { ok: false, status: res.status, code: err?.code ?? null, message: err?.message ?? (text.slice(0, 300) || `HTTP ${res.status}`) };
      }
      const checked = checkAnswer(schema, JSON.parse(text));
      if (checked.ok) return checked;
      // Another server may be of this agent's version: try it as for a server that failed.
      return { ok: false, status: null, code: null, message: `the server's answer to ${path} is not what this agent expects (${checked.problem}): is it another version?` };
    } catch (err) {
      return { ok: false, status: null, code: null, message: err instanceof Error ? err.message : String(err) };
    }
  };
  const post = async <T>(path: string, token: string, body: unknown, schema: z.ZodType<T>, opts: CallOptions & { compress?: boolean } = {}): Promise<CallResult<T>> => {
    const first = current;
    let last: CallResult<T> | null = null;
    for (let i = 0; i < urls.length; i++) {
      const at = (first + i) % urls.length;
      const r = await postOne(urls[at] ?? "", path, token, body, opts.timeoutMs ?? timeoutMs, schema, opts.compress);
      // Answers another server would give too (ok, 401, 400...) end the call; so does a 5xx when
      // there is nowhere else to go.
      if (r.ok || !serverFailed(r)) {
        moveTo(at);
        return r;
      }
      last = r;
    }
    return last ?? { ok: false, status: null, code: null, message: "no server configured" };
  };
  return {
    get baseUrl() {
      return urls[current] ?? "";
    },
    register: async (joinToken, req) => {
      const r = await post("/v1/agent/register", joinToken, req, registerResponseSchema);
      if (!r.ok || o.afterRegister === undefined) return r;
      const after = await o.afterRegister(r.value);
      return after !== null && !after.ok ? after : r;
    },
    heartbeat: (hostToken, req, opts) => post("/v1/agent/heartbeat", hostToken, req, heartbeatResponseSchema, opts),
    reportAttempts: (hostToken, report) => post("/v1/agent/attempts", hostToken, report, okResponseSchema),
    // The largest agent body (about 220 bytes a task every 10 s): gzip makes it about 25x smaller.
    reportMetrics: (hostToken, report) => post("/v1/agent/metrics", hostToken, report, okResponseSchema, { compress: true }),
    assignmentsUrl: () => `${urls[current] ?? ""}/v1/agent/assignments`,
    skip: (url) => {
      if (urls.length > 1 && url.startsWith(urls[current] ?? "\0")) moveTo((current + 1) % urls.length);
    },
    onSwitch: (fn) => void listeners.push(fn),
  };
}

/** `text` gzip-compressed (CompressionStream: browser-safe, and off the main thread in Node). */
async function gzipText(text: string): Promise<ArrayBuffer> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

/** No answer, or 503/504: the server cannot serve (down, or cut off from its store); another may. */
function serverFailed(r: { status: number | null }): boolean {
  return r.status === null || r.status === 503 || r.status === 504;
}

function parseError(text: string): { code: string; message: string } | null {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return null; // not JSON: the caller falls back to the raw text
  }
  const r = errorAnswerSchema.safeParse(json);
  return r.success ? r.data.error : null;
}
