// The agent's side of the server API (see ../api/types.ts). Every call has a timeout and returns a
// value: an unreachable server is an expected outcome for an agent, not an exception.

import type {
  ApiErrorBody,
  AttemptReport,
  HeartbeatRequest,
  HeartbeatResponse,
  RegisterRequest,
  RegisterResponse,
} from "../api/types.ts";

/** The outcome of one call: the body, or why there is none (`status` null: no HTTP answer at all). */
export type CallResult<T> = { ok: true; value: T } | { ok: false; status: number | null; code: string | null; message: string };

/** Calls to the server an agent makes. */
export interface AgentClient {
  readonly baseUrl: string;
  register(joinToken: string, req: RegisterRequest): Promise<CallResult<RegisterResponse>>;
  heartbeat(hostToken: string, req: HeartbeatRequest): Promise<CallResult<HeartbeatResponse>>;
  reportAttempts(hostToken: string, report: AttemptReport): Promise<CallResult<{ ok: true }>>;
  /** Absolute URL of the assignments event stream. */
  assignmentsUrl(): string;
}

/** Builds a client for the server at `baseUrl`; each call is aborted after `timeoutMs`. */
export function createAgentClient(baseUrl: string, timeoutMs = 10_000): AgentClient {
  const base = baseUrl.replace(/\/+$/, "");
  const post = async <T>(path: string, token: string, body: unknown): Promise<CallResult<T>> => {
    try {
      const res = await fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.status >= 400) {
        const err = parseError(text);
        return { ok: false, status: res.status, code: err?.code ?? null, message: err?.message ?? (text.slice(0, 300) || `HTTP ${res.status}`) };
      }
      return { ok: true, value: JSON.parse(text) as T };
    } catch (err) {
      return { ok: false, status: null, code: null, message: err instanceof Error ? err.message : String(err) };
    }
  };
  return {
    baseUrl: base,
    register: (joinToken, req) => post<RegisterResponse>("/v1/agent/register", joinToken, req),
    heartbeat: (hostToken, req) => post<HeartbeatResponse>("/v1/agent/heartbeat", hostToken, req),
    reportAttempts: (hostToken, report) => post<{ ok: true }>("/v1/agent/attempts", hostToken, report),
    assignmentsUrl: () => `${base}/v1/agent/assignments`,
  };
}

function parseError(text: string): { code: string; message: string } | null {
  try {
    const body = JSON.parse(text) as Partial<ApiErrorBody>;
    if (body.error && typeof body.error.message === "string") return { code: body.error.code, message: body.error.message };
  } catch {
    // not JSON: the caller falls back to the raw text
  }
  return null;
}
