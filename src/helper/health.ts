// Health checks of a task: an HTTP GET, a TCP connect or a command, run every intervalMs; failures count once graceMs has
// passed since the start. `failures` failures in a row make the task unhealthy; the configured action
// (restart or move, which the server tells apart) makes the helper stop the task.
import { spawn } from "node:child_process";
import net from "node:net";
import type { Clock, HealthCheck } from "../model/index.ts";

/** The outcome of one check. */
export interface CheckResult {
  ok: boolean;
  /** What happened, for the status reason: "GET http://127.0.0.1:8080/health: 503". */
  detail: string;
}

/** What a check needs to know about its task. */
export interface CheckContext {
  ports: Record<string, number>;
  cwd: string;
  env: Record<string, string>;
  /** How a command check is run: for a sandboxed task, inside its container (`RUNTIME exec`, as its
   * user), never as the helper (root) on the host. @default the command itself, in cwd with env */
  command?: (run: string[]) => { argv: string[]; cwd: string; env: Record<string, string> };
}

/** Runs one check with its timeout. Never throws: every failure is a result. */
export async function runHealthCheck(check: HealthCheck, ctx: CheckContext): Promise<CheckResult> {
  switch (check.kind) {
    case "http": {
      const port = resolvePort(check.port, ctx.ports);
      if (port === null) return { ok: false, detail: `unknown port "${check.port}"` };
      const path = check.path.startsWith("/") ? check.path : `/${check.path}`;
      return httpCheck(`http://127.0.0.1:${port}${path}`, check.timeoutMs);
    }
    case "tcp": {
      const port = resolvePort(check.port, ctx.ports);
      if (port === null) return { ok: false, detail: `unknown port "${check.port}"` };
      return tcpCheck(port, check.timeoutMs);
    }
    case "command":
      return commandCheck(check.run, ctx, check.timeoutMs);
  }
}

/** A port by name (from the attempt's ports), or a literal number. */
function resolvePort(name: string, ports: Record<string, number>): number | null {
  const p = ports[name];
  if (p !== undefined) return p;
  return /^\d+$/.test(name) ? Number(name) : null;
}

// node:http is imported on the first HTTP check only: loading it costs each helper about 7 MiB of
// private memory (bench/RESULTS.md, "Helper memory"), and most tasks have no HTTP check.
async function httpCheck(url: string, timeoutMs: number): Promise<CheckResult> {
  const { default: http } = await import("node:http");
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve({ ok: status >= 200 && status < 300, detail: `GET ${url}: ${status}` });
    });
    req.on("error", (e) => {
      const timedOut = e.name === "AbortError" || e.name === "TimeoutError";
      resolve({ ok: false, detail: `GET ${url}: ${timedOut ? `no answer within ${timeoutMs}ms` : e.message}` });
    });
  });
}

function tcpCheck(port: number, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    const done = (r: CheckResult): void => {
      sock.destroy();
      resolve(r);
    };
    sock.setTimeout(timeoutMs, () => done({ ok: false, detail: `tcp 127.0.0.1:${port}: no connection within ${timeoutMs}ms` }));
    sock.once("connect", () => done({ ok: true, detail: `tcp 127.0.0.1:${port}: connected` }));
    sock.once("error", (e) => done({ ok: false, detail: `tcp 127.0.0.1:${port}: ${e.message}` }));
  });
}

function commandCheck(run: string[], ctx: CheckContext, timeoutMs: number): Promise<CheckResult> {
  const what = run.join(" ");
  if (run.length === 0) return Promise.resolve({ ok: false, detail: "empty health command" });
  const how = ctx.command?.(run) ?? { argv: run, cwd: ctx.cwd, env: ctx.env };
  const [file, ...args] = how.argv;
  return new Promise((resolve) => {
    const child = spawn(file ?? "", args, { cwd: how.cwd, env: how.env, stdio: "ignore", detached: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve({ ok: false, detail: `${what}: ${e.message}` });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) return resolve({ ok: false, detail: `${what}: no result within ${timeoutMs}ms` });
      resolve({ ok: code === 0, detail: `${what}: ${signal ? `killed by ${signal}` : `exit ${code}`}` });
    });
  });
}

/** What the monitor reports. */
export interface HealthMonitorOptions {
  check: HealthCheck;
  clock: Clock;
  /** Runs one check (runHealthCheck in the helper; a fake in tests). */
  run: () => Promise<CheckResult>;
  /** The task became healthy or unhealthy. */
  onState: (state: "healthy" | "unhealthy", detail: string) => void;
  /** The check failed `failures` times in a row and its action asks for the task to be stopped. */
  onAction: (reason: string) => void;
}

/** Runs a check on a schedule and turns results into states and actions. */
export class HealthMonitor {
  readonly #o: HealthMonitorOptions;
  #timer: { cancel(): void } | null = null;
  #stopped = false;
  #failures = 0;
  #state: "healthy" | "unhealthy" | null = null;
  #graceEndsAt = 0;

  constructor(opts: HealthMonitorOptions) {
    this.#o = opts;
  }

  /** Starts checking at once: a passing check makes the task healthy right away (so `apply` sees it
   * healthy as soon as it serves), while failures inside the grace period are not counted (a slow
   * start is not a failure). */
  start(): void {
    this.#graceEndsAt = this.#o.clock.now() + this.#o.check.graceMs;
    this.#schedule(Math.min(this.#o.check.intervalMs, 100));
  }

  /** Stops checking (the task is stopping or ended). */
  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimeout(() => void this.#runOnce(), ms);
  }

  async #runOnce(): Promise<void> {
    let r: CheckResult;
    try {
      r = await this.#o.run();
    } catch (e) {
      // A check that throws (a bad URL, spawn refusing its arguments) is a failed check, not a helper crash.
      r = { ok: false, detail: String(e) };
    }
    if (this.#stopped) return;
    if (r.ok) {
      this.#failures = 0;
      this.#setState("healthy", r.detail);
    } else if (this.#o.clock.now() < this.#graceEndsAt && this.#state === null) {
      // Still starting: not counted. Once it has been healthy, a failure counts even inside the grace.
    } else if (++this.#failures >= Math.max(1, this.#o.check.failures)) {
      this.#setState("unhealthy", r.detail);
      if (this.#o.check.action === "restart" || this.#o.check.action === "move") {
        this.stop();
        this.#o.onAction(`health check failed: ${r.detail}`);
        return;
      }
    }
    this.#schedule(this.#o.check.intervalMs);
  }

  #setState(state: "healthy" | "unhealthy", detail: string): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#o.onState(state, detail);
  }
}
