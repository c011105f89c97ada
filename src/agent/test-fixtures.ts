// Shared pieces of the agent's tests: complete specs and assignments with overridable fields.
import { defaultSecretsRoot, removeSecrets, secretsDirOf } from "../helper/secrets-dir.ts";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { pino } from "pino";
import type { Logger } from "pino";
import type {
  Assignment,
  AttemptReport,
  AttemptUpdate,
  HeartbeatRequest,
  HeartbeatResponse,
  RegisterRequest,
  RegisterResponse,
} from "../api/types.ts";
import { removeSandboxSync } from "../helper/sandbox.ts";
import type { JobSpec } from "../model/index.ts";

/** A complete spec for tests; `over` replaces fields. */
export function testSpec(over: Partial<JobSpec> = {}): JobSpec {
  return {
    name: "web",
    command: ["node", "-e", "setInterval(()=>{},1000)"],
    env: {},
    files: {},
    replicas: 1,
    resources: { cpu: 0.1, memoryMiB: 64, diskMiB: 10 },
    constraints: { os: null, kernel: null, labels: {} },
    spread: "none",
    antiAffinity: null,
    ports: [],
    restart: { backoffInitialMs: 1000, backoffMaxMs: 60_000, moveAfterFailures: 5 },
    health: null,
    stop: { signal: "SIGTERM", graceMs: 2000 },
    maintenance: "move",
    disconnect: { stopAfterMs: null },
    packages: [],
    ...over,
  };
}

/** An assignment for tests. */
export function testAssignment(id: string, spec: JobSpec, over: Partial<Assignment["attempt"]> = {}): Assignment {
  return {
    spec,
    attempt: {
      id,
      job: spec.name,
      index: 0,
      version: 1,
      hostId: "h",
      desired: "run",
      state: "pending",
      pid: null,
      exitCode: null,
      signal: null,
      reason: null,
      ports: {},
      createdAt: Date.now(),
      startAfter: 0,
      startedAt: null,
      endedAt: null,
      ...over,
    },
  };
}


// ---------------------------------------------------------------------------------------------------
// A fake Tiffin server for the agent's tests. It is NOT the real server (src/server): a few dozen lines
// of node:http that speak the agent half of ../api/types.ts, record what the agent sends, and let a test
// push assignments and go away / come back.

/** What the fake server recorded. */
export interface FakeServerLog {
  registers: RegisterRequest[];
  heartbeats: HeartbeatRequest[];
  updates: AttemptUpdate[];
}

/** A fake server speaking the agent API. */
export class FakeServer {
  readonly joinToken = "join-secret";
  readonly log: FakeServerLog = { registers: [], heartbeats: [], updates: [] };
  /** Timing handed out at registration. */
  timing = { heartbeatMs: 200, downAfterMs: 5000, fenceMs: 2000 };
  /** The next heartbeat answers `reregister: true` once. */
  reregisterOnce = false;
  /** Answer attempt reports with 503 while true. */
  rejectReports = false;
  #assignments: Assignment[] = [];
  #streams = new Set<http.ServerResponse>();
  #tokens = new Set<string>();
  #server: http.Server | null = null;
  #port = 0;
  #n = 0;

  /** Base URL (stable across down/up). */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  /** Starts listening (again, on the same port after `down`). */
  async up(): Promise<void> {
    const server = http.createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => resolve());
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Goes away: stops listening and drops every connection (the agent sees the server unreachable). */
  async down(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    for (const r of this.#streams) r.destroy();
    this.#streams.clear();
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Replaces the host's desired set and pushes it to every watcher. */
  assign(list: Assignment[]): void {
    this.#assignments = list;
    for (const r of this.#streams) this.#push(r);
  }

  /** Updates recorded for one attempt, oldest first. */
  updatesOf(attemptId: string): AttemptUpdate[] {
    return this.log.updates.filter((u) => u.id === attemptId);
  }

  #push(r: http.ServerResponse): void {
    // Pretty-printed so each event spans several `data:` lines, as the SSE format allows.
    const data = JSON.stringify(this.#assignments, null, 1)
      .split("\n")
      .map((l) => `data: ${l}\n`)
      .join("");
    r.write(`event: assignments\n${data}\n`);
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const auth = (req.headers.authorization ?? "").replace(/^Bearer /, "");
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as unknown) : null;
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const deny = () => json(401, { error: { code: "TIFFIN_UNAUTHORIZED", message: "bad token", hint: null, problems: [] } });
    if (req.method === "POST" && req.url === "/v1/agent/register") {
      if (auth !== this.joinToken) return deny();
      this.log.registers.push(body as RegisterRequest);
      const hostToken = `host-token-${++this.#n}`;
      this.#tokens.add(hostToken);
      const r: RegisterResponse = { hostId: "host-1", hostToken, ...this.timing };
      return json(200, r);
    }
    if (!this.#tokens.has(auth)) return deny();
    if (req.method === "POST" && req.url === "/v1/agent/heartbeat") {
      this.log.heartbeats.push(body as HeartbeatRequest);
      const r: HeartbeatResponse = { ok: true, reregister: this.reregisterOnce };
      this.reregisterOnce = false;
      return json(200, r);
    }
    if (req.method === "POST" && req.url === "/v1/agent/attempts") {
      if (this.rejectReports) return json(503, { error: { code: "TIFFIN_UNAVAILABLE", message: "busy", hint: null, problems: [] } });
      this.log.updates.push(...(body as AttemptReport).updates);
      return json(200, { ok: true });
    }
    if (req.method === "GET" && req.url === "/v1/agent/assignments") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      res.write(": hello\n\n");
      this.#streams.add(res);
      res.on("close", () => this.#streams.delete(res));
      return this.#push(res);
    }
    json(404, { error: { code: "TIFFIN_NOT_FOUND", message: `no ${req.method} ${req.url}`, hint: null, problems: [] } });
  }
}

/** Waits until `fn` returns a truthy value (polled), or fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when the process exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills every helper and task an agent data dir knows of (test clean-up, also after failures). */
export function killAttempts(dataDir: string): void {
  const root = path.join(dataDir, "attempts");
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const dir = path.join(root, id);
    // Its secrets' tmpfs dir too: no helper is left to remove it.
    removeSecrets(secretsDirOf(defaultSecretsRoot(), dir));
    const pids: number[] = [];
    try {
      pids.push(Number.parseInt(fs.readFileSync(path.join(dir, "helper.pid"), "utf8"), 10));
    } catch {
      // no helper running
    }
    try {
      const s = JSON.parse(fs.readFileSync(path.join(dir, "status.json"), "utf8")) as { pid: number | null; helperPid: number };
      pids.push(s.helperPid);
      if (s.pid) pids.push(-s.pid, s.pid);
    } catch {
      // no status
    }
    for (const p of pids) {
      try {
        if (Number.isFinite(p) && p !== 0 && Math.abs(p) !== process.pid) process.kill(p, "SIGKILL");
      } catch {
        // already gone
      }
    }
    removeSandboxSync(dir);
  }
}

/** A silent logger for tests (set TIFFIN_TEST_LOG=1 to see the agent's logs). */
export function testLogger(): Logger {
  return pino({ level: process.env["TIFFIN_TEST_LOG"] ? "debug" : "silent" });
}

/** A long-running task that prints its id, its port and a marker on stderr. */
export function sleeperCommand(): string[] {
  return [process.execPath, "-e", "console.log('hello from ' + process.env.TASK_ID + ' port ' + process.env.PORT_HTTP); console.error('to stderr'); setInterval(() => {}, 1000)"];
}
