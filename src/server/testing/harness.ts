// Test harness (tests only): a real server on 127.0.0.1:0 over a real SQLite file in a temp dir, fake
// agents that register and heartbeat through the HTTP API, and polling helpers.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiClient } from "../../api/client.ts";
import { createAgentClient } from "../../api/agent-client.ts";
import type { CallResult } from "../../api/agent-client.ts";
import { watchSse } from "../../api/sse-watch.ts";
import { assignmentsSchema, checkAnswer } from "../../api/agent-wire.ts";
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
export async function startTestServer(opts: { dir?: string; clock?: Clock; timing?: Partial<Timing>; store?: Store; swarm?: ServerOptions["swarm"]; watch?: ServerOptions["watch"]; dnsListen?: string; httpTimeouts?: ServerOptions["httpTimeouts"] } = {}): Promise<TestServer> {
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
    ...(opts.dnsListen !== undefined ? { dnsListen: opts.dnsListen } : {}),
    ...(opts.httpTimeouts ? { httpTimeouts: opts.httpTimeouts } : {}),
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

  /** Registers with the join token (and, registered before, with its host token, as agents do),
   * through the agent's own client (src/api/agent-client.ts). */
  async register(joinToken: string, over: Partial<HostInventory> = {}): Promise<RegisterResponse> {
    const r = await createAgentClient(this.url).register(joinToken, { inventory: inventoryOf(this.name, over), ...(this.reg ? { hostToken: this.reg.hostToken } : {}) });
    this.reg = must(r, `register ${this.name}`);
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
    const r = await createAgentClient(this.url).heartbeat(this.reg?.hostToken ?? "", { hostId: this.hostId, ...(upgradeMs === undefined ? {} : { upgradeMs }) });
    return must(r, `heartbeat ${this.name}`);
  }

  /** Reports attempt updates (fields not given keep a neutral default). */
  async report(updates: (Partial<AttemptUpdate> & { id: string; state: AttemptUpdate["state"] })[]): Promise<void> {
    const full: AttemptUpdate[] = updates.map((u) => ({ pid: null, exitCode: null, signal: null, reason: null, ports: {}, startedAt: null, endedAt: null, ...u }));
    must(await createAgentClient(this.url).reportAttempts(this.reg?.hostToken ?? "", { hostId: this.hostId, updates: full }), `report ${this.name}`);
  }

  /** Opens the assignments stream with the agent's own watcher (src/api/sse-watch.ts); `latest()` is
   * the last set received. */
  assignments(): { latest: () => Assignment[] | null; count: () => number; close: () => void; ready: Promise<void> } {
    let latest: Assignment[] | null = null;
    let count = 0;
    let markReady: () => void = () => undefined;
    const ready = new Promise<void>((r) => (markReady = r));
    const watch = watchSse({
      url: `${this.url}/v1/agent/assignments`,
      headers: () => ({ authorization: `Bearer ${this.reg?.hostToken ?? ""}` }),
      onEvent: (ev) => {
        if (ev.event !== "assignments") return;
        // Checked as the agent checks it (src/agent/main.ts).
        const checked = checkAnswer(assignmentsSchema, JSON.parse(ev.data));
        if (!checked.ok) throw new Error(`assignments of another shape: ${checked.problem}`);
        latest = checked.value;
        count++;
        markReady();
      },
      backoffInitialMs: 50,
      backoffMaxMs: 500,
    });
    return { latest: () => latest, count: () => count, close: () => watch.close(), ready };
  }
}

/** The value of a call, or an error naming it with the status and the server's message. */
function must<T>(r: CallResult<T>, what: string): T {
  if (!r.ok) throw new Error(`${what}: ${r.status ?? "no answer"} ${r.code ?? ""} ${r.message}`);
  return r.value;
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
