// Test support (used by *.test.ts only): attempt directories in a temp dir, real helper processes, a fake
// agent on the socket, and a cleanup that kills every helper and task it started, even after a failure.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeMessage, LineSplitter, parseHelperMessage } from "./messages.ts";
import { helperPaths } from "./paths.ts";
import type { PoolReply } from "./pool.ts";
import { poolReplySchema } from "./protocol-schema.ts";
import type { AgentMessage, HelperConfig, HelperStatus, RuntimeInfo, SandboxConfig } from "./protocol.ts";
import { probeRuntime, removeSandboxSync } from "./sandbox.ts";
import { findBinary, runtimeNames, runtimeVersion } from "./sandbox-runtime.ts";
import { readStatusFile } from "./status.ts";

const mainTs = path.join(import.meta.dirname, "main.ts");

/** Polls `fn` until it returns a value other than null/false, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | null | false | Promise<T | null | false>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(25);
  }
}

/** True when a process with `pid` exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A fake agent connected to one helper. */
export class FakeAgent {
  readonly statuses: HelperStatus[] = [];
  readonly #sock: net.Socket;
  #pinger: NodeJS.Timeout | null = null;
  /** The helper's latest fence probe, echoed as a real agent does (agent/helpers.ts). */
  #seq: number | null = null;

  private constructor(sock: net.Socket) {
    this.#sock = sock;
    const lines = new LineSplitter(1 << 20);
    sock.setEncoding("utf8");
    sock.on("data", (c: string) => {
      for (const l of lines.push(c) ?? []) {
        // Checked as the agent checks it: a helper sending another shape fails the test.
        const m = parseHelperMessage(l);
        if (m === null) throw new Error(`the helper sent a line that is no HelperMessage: ${l.slice(0, 200)}`);
        if (m.type === "status") this.statuses.push(m.status);
        else {
          this.#seq = m.seq;
          if (this.#pinger !== null) this.#ping();
        }
      }
    });
    sock.on("error", () => {});
  }

  /** Connects to the helper of `dir`, retrying while it starts. */
  static async connect(dir: string): Promise<FakeAgent> {
    const sockPath = helperPaths(dir).socket;
    return waitFor("helper socket", async () => {
      const sock = net.connect(sockPath);
      const ok = await new Promise<boolean>((resolve) => {
        sock.once("connect", () => resolve(true));
        sock.once("error", () => resolve(false));
      });
      if (!ok) sock.destroy();
      return ok ? new FakeAgent(sock) : null;
    });
  }

  send(m: AgentMessage): void {
    this.#sock.write(encodeMessage(m));
  }

  /** Pings every `ms` (and answers each probe at once) until stopPinging or close. */
  startPinging(ms: number): void {
    this.#ping();
    this.#pinger = setInterval(() => this.#ping(), ms);
  }

  #ping(): void {
    this.send(this.#seq === null ? { type: "ping" } : { type: "ping", seq: this.#seq });
  }

  stopPinging(): void {
    if (this.#pinger) clearInterval(this.#pinger);
    this.#pinger = null;
  }

  /** The first status (received so far or later) that satisfies `pred`. */
  waitStatus(what: string, pred: (s: HelperStatus) => boolean, timeoutMs = 10_000): Promise<HelperStatus> {
    return waitFor(what, () => this.statuses.find(pred) ?? null, timeoutMs);
  }

  /** Ends the connection after pending messages are sent, as an agent that exits does. */
  async leave(): Promise<void> {
    this.stopPinging();
    await new Promise<void>((resolve) => this.#sock.end(resolve));
  }

  close(): void {
    this.stopPinging();
    this.#sock.destroy();
  }
}

/** A helper process started by a test. */
export interface StartedHelper {
  dir: string;
  proc: ChildProcess;
  /** Resolves with the helper's exit code (or signal name). */
  exited: Promise<number | string | null>;
  status(): HelperStatus | null;
}

/** Temp attempt dirs and helper processes for one test file; call cleanup() in after(). */
export class HelperHarness {
  readonly root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-helper-"));
  readonly #helpers: StartedHelper[] = [];
  readonly #agents: FakeAgent[] = [];
  #n = 0;

  /** Writes attempt.json for a new attempt; returns its directory. */
  attempt(overrides: Partial<HelperConfig>): string {
    const id = `a${++this.#n}`;
    const dir = path.join(this.root, id);
    fs.mkdirSync(dir);
    const cfg: HelperConfig = {
      attemptId: id,
      job: "test",
      index: 0,
      command: ["sleep", "30"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      files: {},
      ports: {},
      health: null,
      stop: { signal: "SIGTERM", graceMs: 1000 },
      fenceMs: 60_000,
      logSegmentBytes: 1 << 20,
      logSegmentsKept: 5,
      ...overrides,
    };
    fs.writeFileSync(path.join(dir, "attempt.json"), JSON.stringify(cfg));
    return dir;
  }

  /** Starts `node main.ts dir` detached, as the agent does, with its output in dir/helper.out. */
  start(dir: string, opts: { viaRunHelper?: boolean } = {}): StartedHelper {
    const out = fs.openSync(path.join(dir, "helper.out"), "a");
    // viaRunHelper: call runHelper() as `tiffin helper` does, without process.exit, so a handle left
    // open would keep the process alive.
    const args = opts.viaRunHelper
      ? ["--input-type=module", "-e", `const { runHelper } = await import(${JSON.stringify(mainTs)}); process.exitCode = await runHelper(${JSON.stringify(dir)});`]
      : [mainTs, dir];
    const proc = spawn(process.execPath, args, { detached: true, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    const exited = new Promise<number | string | null>((resolve) => proc.once("exit", (code, sig) => resolve(code ?? sig)));
    const h: StartedHelper = { dir, proc, exited, status: () => readStatusFile(helperPaths(dir).status) };
    this.#helpers.push(h);
    return h;
  }

  /** Starts a shared helper process (`main.ts --pool SOCKET --max K dir`, pool.ts) for `dir`, output in
   * dir/helper.out; `hand` gives it more attempts over its control socket. */
  startPool(dir: string, max: number): StartedHelper & { socket: string; hand(dir: string): Promise<PoolReply | null> } {
    const socket = path.join(this.root, `pool-${++this.#n}.sock`);
    const out = fs.openSync(path.join(dir, "helper.out"), "a");
    const proc = spawn(process.execPath, [mainTs, "--pool", socket, "--max", String(max), dir], { detached: true, stdio: ["ignore", out, out] });
    fs.closeSync(out);
    const exited = new Promise<number | string | null>((resolve) => proc.once("exit", (code, sig) => resolve(code ?? sig)));
    const h: StartedHelper = { dir, proc, exited, status: () => readStatusFile(helperPaths(dir).status) };
    this.#helpers.push(h);
    const hand = async (other: string): Promise<PoolReply | null> => {
      this.#helpers.push({ ...h, dir: other, status: () => readStatusFile(helperPaths(other).status) });
      await waitFor("control socket", () => fs.existsSync(socket));
      return askPool(socket, other);
    };
    return { ...h, socket, hand };
  }

  /** A fake agent connected to `dir`'s helper, closed by cleanup. */
  async agent(dir: string): Promise<FakeAgent> {
    const a = await FakeAgent.connect(dir);
    this.#agents.push(a);
    return a;
  }

  /** Kills every task group and helper started here, then removes the temp dir. */
  async cleanup(): Promise<void> {
    for (const a of this.#agents) a.close();
    for (const h of this.#helpers) {
      const pid = h.status()?.pid;
      if (pid) killQuietly(-pid);
      if (h.proc.pid !== undefined) killQuietly(h.proc.pid);
    }
    await Promise.all(this.#helpers.map((h) => h.exited));
    for (const h of this.#helpers) removeSandboxSync(h.dir);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Sends one control request to a shared helper process; its reply, or null when there was none. */
export function askPool(socket: string, dir: string): Promise<PoolReply | null> {
  return new Promise((resolve) => {
    const s = net.connect(socket);
    s.setEncoding("utf8");
    let buf = "";
    s.on("connect", () => s.write(`${JSON.stringify({ type: "run", dir })}\n`));
    s.on("data", (c: string) => {
      buf += c;
      if (buf.includes("\n")) {
        s.destroy();
        const r = poolReplySchema.safeParse(JSON.parse(buf.slice(0, buf.indexOf("\n"))));
        resolve(r.success ? r.data : null);
      }
    });
    s.on("error", () => resolve(null));
    s.on("close", () => resolve(null));
  });
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * A shell command that allocates memory without end, touching each new page itself (awk doubling a
 * string: the copies run in user mode). Why not `head -c 256M /dev/zero | tail -n 1`: tail's new buffers
 * are first written by read() inside the kernel, and on cgroup v1 with the OOM killer off (our sandboxes)
 * a charge made in the kernel is not parked at the limit like a page fault: it fails, read() returns
 * EFAULT and tail exits 1 ("error reading 'standard input': Bad address") before the helper's 250 ms
 * OOM watch sees `under_oom`; it did so in 4 of 30 runs in a hand-made 32 MiB cgroup.
 */
export const hogMemory = "awk 'BEGIN { s = \"0123456789abcdef\"; for (;;) s = s s }'";

/** Everything readLogs yields, as a string. */
export async function collect(it: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const b of it) parts.push(b);
  return Buffer.concat(parts).toString();
}

let runtimeProbe: Promise<RuntimeInfo> | null = null;

/** The first OCI runtime (crun, then runc) that starts a container here; throws when none does. */
export function testRuntime(): Promise<RuntimeInfo> {
  runtimeProbe ??= (async () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-probe-"));
    const problems: string[] = [];
    try {
      for (const name of runtimeNames) {
        const bin = findBinary(name);
        const version = bin === null ? null : await runtimeVersion(bin);
        if (bin === null || version === null) continue;
        const r: RuntimeInfo = { name, path: bin, version, rootless: (process.getuid?.() ?? 0) !== 0, stateDir: null };
        if (r.rootless) r.stateDir = path.join(scratch, "state");
        const why = await probeRuntime(r, scratch);
        if (why === null) return r;
        problems.push(`${name}: ${why}`);
      }
    } finally {
      if ((process.getuid?.() ?? 0) === 0) fs.rmSync(scratch, { recursive: true, force: true });
    }
    throw new Error(`no working OCI runtime (install crun; .ci/run does): ${problems.join("; ") || "none installed"}`);
  })();
  return runtimeProbe;
}

/** A sandbox for tests: the test runner's Node visible inside, small limits. */
export function testSandbox(runtime: RuntimeInfo, over: Partial<SandboxConfig> = {}): SandboxConfig {
  const nodeDir = path.dirname(fs.realpathSync(process.execPath));
  return {
    runtime,
    network: "host",
    readOnlyPaths: nodeDir.startsWith("/usr/") ? [] : [nodeDir],
    mounts: [],
    limits: { cpu: 0.5, memoryMiB: 64, pids: 256 },
    cgroupParent: "/tiffin",
    ...over,
  };
}
