// Test harness (tests only): a real server on 127.0.0.1:0 over a real SQLite file in a temp dir, fake
// agents that register and heartbeat through the HTTP API, and polling helpers.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiClient } from "../../api/client.ts";
import type { Assignment, AttemptUpdate, HeartbeatResponse, RegisterResponse } from "../../api/types.ts";
import type { Clock, HostInventory } from "../../model/index.ts";
import type { Store } from "../../state/store.ts";
import { startServer } from "../main.ts";
import type { ServerHandle, ServerOptions } from "../main.ts";
import type { Timing } from "../liveness.ts";
import { inventoryOf } from "./fixtures.ts";

/** A server under test and what talks to it. */
export interface TestServer {
  server: ServerHandle;
  dir: string;
  api: ApiClient;
  /** Stops the server (the dir stays until `cleanup`). */
  stop(): Promise<void>;
  /** Stops the server and removes its dir. */
  cleanup(): Promise<void>;
}

/** A temp dir for a server's data. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "tiffin-server-"));
}

/** Starts a server in `dir` (a new temp dir by default), on `store` if given (the caller closes it). */
export async function startTestServer(opts: { dir?: string; clock?: Clock; timing?: Partial<Timing>; store?: Store; swarm?: ServerOptions["swarm"]; watch?: ServerOptions["watch"] } = {}): Promise<TestServer> {
  const dir = opts.dir ?? tempDir();
  const server = await startServer({
    dataDir: dir,
    listen: "127.0.0.1:0",
    log: process.env["TIFFIN_TEST_LOG"] ?? "silent",
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.timing ? { timing: opts.timing } : {}),
    ...(opts.store ? { store: opts.store } : {}),
    ...(opts.swarm ? { swarm: opts.swarm } : {}),
    ...(opts.watch ? { watch: opts.watch } : {}),
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
  return {
    server,
    dir,
    api: new ApiClient({ addr: server.url, token: server.adminToken }),
    stop,
    async cleanup() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A raw HTTP call: status and parsed body. */
export async function call(url: string, method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers["authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the text itself
  }
  return { status: res.status, body: parsed };
}

/** A fake agent: registers through the API and heartbeats/reports when told to. */
export class FakeAgent {
  readonly url: string;
  readonly name: string;
  reg: RegisterResponse | null = null;

  constructor(url: string, name: string) {
    this.url = url;
    this.name = name;
  }

  /** Registers with the join token (and, registered before, with its host token, as agents do). */
  async register(joinToken: string, over: Partial<HostInventory> = {}): Promise<RegisterResponse> {
    const r = await call(this.url, "POST", "/v1/agent/register", joinToken, { inventory: inventoryOf(this.name, over), ...(this.reg ? { hostToken: this.reg.hostToken } : {}) });
    if (r.status !== 200) throw new Error(`register ${this.name}: ${r.status} ${JSON.stringify(r.body)}`);
    this.reg = r.body as RegisterResponse;
    return this.reg;
  }

  /** The same registered agent, talking to another server (after a restart on a new port). */
  at(url: string): FakeAgent {
    const copy = new FakeAgent(url, this.name);
    copy.reg = this.reg;
    return copy;
  }

  get hostId(): string {
    if (!this.reg) throw new Error("not registered");
    return this.reg.hostId;
  }

  async heartbeat(upgradeMs?: number): Promise<HeartbeatResponse> {
    const r = await call(this.url, "POST", "/v1/agent/heartbeat", this.reg?.hostToken ?? null, { hostId: this.hostId, ...(upgradeMs === undefined ? {} : { upgradeMs }) });
    if (r.status !== 200) throw new Error(`heartbeat ${this.name}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as HeartbeatResponse;
  }

  /** Reports attempt updates (fields not given keep a neutral default). */
  async report(updates: (Partial<AttemptUpdate> & { id: string; state: AttemptUpdate["state"] })[]): Promise<void> {
    const full: AttemptUpdate[] = updates.map((u) => ({ pid: null, exitCode: null, signal: null, reason: null, ports: {}, startedAt: null, endedAt: null, ...u }));
    const r = await call(this.url, "POST", "/v1/agent/attempts", this.reg?.hostToken ?? null, { hostId: this.hostId, updates: full });
    if (r.status !== 200) throw new Error(`report ${this.name}: ${r.status} ${JSON.stringify(r.body)}`);
  }

  /** Opens the assignments stream; `latest()` is the last set received. */
  assignments(): { latest: () => Assignment[] | null; count: () => number; close: () => void; ready: Promise<void> } {
    const api = new ApiClient({ addr: this.url, token: this.reg?.hostToken ?? null });
    const ac = new AbortController();
    let latest: Assignment[] | null = null;
    let count = 0;
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => (markReady = r));
    void (async () => {
      try {
        for await (const set of api.assignments({ signal: ac.signal })) {
          latest = set;
          count++;
          markReady();
        }
      } catch {
        // closed by the test or the server
      }
    })();
    return { latest: () => latest, count: () => count, close: () => ac.abort(), ready };
  }
}

/** Polls `fn` until it returns a value that is not null/undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}${last ? ` (last error: ${String(last)})` : ""}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Reads a streaming response for `ms` milliseconds and returns the text received by then. */
export async function readFor(url: string, token: string, ms: number): Promise<string> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => ac.abort(), ms);
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      text += decoder.decode(r.value, { stream: true });
    }
  } catch {
    // aborted: the time is up
  } finally {
    clearTimeout(timer);
  }
  return text;
}
