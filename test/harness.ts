// End-to-end harness: a real `tiffin server` and real `tiffin agent` processes started the way a user
// starts them (bin/tiffin.js), each in its own temp data dir, talking over real loopback sockets.
// Every process it starts is killed by `stop()`, including helpers and tasks left by killed agents.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, existsSync, rmSync, openSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileJobs } from "../src/spec/api.ts";
import { removeSandboxSync } from "../src/helper/sandbox.ts";
import { renderDelete, tableName } from "../src/agent/services/nft-rules.ts";
import { DefaultTiming } from "../src/server/liveness.ts";
import { TickMs } from "../src/server/reconcile/loop.ts";
import type { JobSpec } from "../src/model/index.ts";
import type { JobStatus, HostView, ApplyResult } from "../src/api/types.ts";

const root = join(import.meta.dirname, "..");
const bin = join(root, "bin", "tiffin.js");

// Every server and agent a test starts, so none outlives the test process: a test that fails before
// it could register its cleanup would otherwise leave them holding the event loop open, and the test
// file would wait for them until CI's time ran out. (Not --test-force-exit: with concurrency it loses
// test verdicts, nodejs/node#64833.)
const spawned = new Set<ChildProcess>();
process.on("exit", () => {
  for (const p of spawned) p.kill("SIGKILL");
});

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Waits until `check` returns a value that is not undefined/false, or throws after `ms`. */
export async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined | false> | T | undefined | false, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** True if a process with this pid exists (and is not a zombie we could reap). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** The entries of `dir`, or none when it cannot be read (not made yet). */
export function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Live processes whose command line mentions `needle` (everything a test started names its temp dir). */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(needle) && alive(pid)) out.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Compiles a job from user-style input, failing the test on problems. */
export function compile(input: Record<string, unknown>): JobSpec {
  const { specs, problems } = compileJobs(input, null);
  if (problems.length > 0 || !specs[0]) throw new Error(`bad test spec: ${JSON.stringify(problems)}`);
  return specs[0];
}

/** A web task: answers /healthz on PORT_HTTP. */
export const webServerSource = `
import { createServer } from "node:http";
const port = Number(process.env.PORT_HTTP);
createServer((req, res) => { res.end(req.url === "/healthz" ? "ok" : "hello from " + process.env.TASK_ID); }).listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

/** A worker that runs until stopped. */
/** A `web` job of `replicas` tasks serving `source` (webServerSource by default) on port `http`,
 * health-checked every 300 ms and restarted after two failures: the service the discovery tests
 * (DNS, endpoints) watch come and go. */
export function webJob(replicas: number, source: string = webServerSource): JobSpec {
  return compile({
    name: "web",
    command: ["node", "server.mjs"],
    files: { "server.mjs": source },
    replicas,
    ports: { http: {} },
    resources: { cpu: 0.1, memory: "64Mi", disk: "64Mi" },
    health: { kind: "http", port: "http", path: "/healthz", every: "300ms", timeout: "250ms", failures: 2, grace: "5s", then: "restart" },
    restart: { backoff: { initial: "100ms", max: "1s" }, moveAfterFailures: 5 },
    // No stop delay (the default is 2 s for a job with ports): the tests that time rollouts and drains
    // keep their pace; services.test.ts sets one where it checks it.
    stop: { signal: "SIGTERM", grace: "1s", delay: "0s" },
  });
}

export const sleeperSource = `setInterval(() => console.log("tick", process.env.TASK_ID, Date.now()), 500); process.on("SIGTERM", () => process.exit(0));`;

/** The server's default timing and its reconcile tick, which the harness's servers run with: the
 * bounds of tests are derived from these. */
export const Timing = { ...DefaultTiming, reconcileTickMs: TickMs } as const;

/**
 * From the moment the server may place an attempt to its task running, on a loaded 2-core machine
 * (other test runs beside): the assignment reaching the agent, a helper and a Node task starting
 * (about 0.3 s idle; 3 to 4 s seen under load).
 */
export const StartAllowanceMs = 6000;

interface AgentProc {
  name: string;
  rack: string;
  dataDir: string;
  proc: ChildProcess | null;
}

/** A running cluster of one server and N agents, as separate processes. */
export class Cluster {
  readonly dir: string;
  readonly url: string;
  server: ChildProcess | null = null;
  readonly agents: AgentProc[] = [];
  adminToken = "";
  joinToken = "";
  readonly #port: number;

  private constructor(dir: string, port: number) {
    this.dir = dir;
    this.#port = port;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts a server and `agents` agents, one per rack r1..rN, and waits until all are up. */
  static async start(opts: { agents: number }): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), "tiffin-e2e-"));
    chmodSync(dir, 0o711); // as /var/lib: isolation "none" tasks (as nobody) reach their work dirs and packages
    const c = new Cluster(dir, await freePort());
    for (let i = 1; i <= opts.agents; i++) {
      c.agents.push({ name: `host-${i}`, rack: `r${i}`, dataDir: join(dir, `agent-${i}`), proc: null });
    }
    try {
      await c.startServer();
      for (let i = 0; i < opts.agents; i++) c.startAgent(i);
      await waitFor("agents up", 30_000, async () => {
        const hosts = await c.hosts();
        return hosts.filter((h) => h.status === "up").length === opts.agents;
      });
    } catch (err) {
      // The test never gets the cluster, so it cannot stop it: stop it here, and say what the
      // processes said, since their temp dir goes with them.
      const logs = c.logTails();
      await c.stop();
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${logs}`, { cause: err });
    }
    return c;
  }

  /** The last lines of every process's log, for a failure message. */
  logTails(lines = 30): string {
    const out: string[] = [];
    for (const name of ["server", ...this.agents.map((a) => a.name)]) {
      let text: string;
      try {
        text = readFileSync(join(this.dir, `${name}.log`), "utf8");
      } catch {
        continue;
      }
      out.push(`--- ${name}.log (last ${lines} lines)`, ...text.trimEnd().split("\n").slice(-lines));
    }
    return out.join("\n");
  }

  #spawn(args: string[], logName: string): ChildProcess {
    const out = openSync(join(this.dir, `${logName}.log`), "a");
    const p = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", out, out], env: { ...process.env, TIFFIN_HOME: this.dir } });
    closeSync(out);
    spawned.add(p);
    p.once("exit", () => spawned.delete(p));
    // Not a reason to keep the test process alive: a test waits on sockets and timers, and what is
    // left when it ends is killed on exit.
    p.unref();
    return p;
  }

  /** Starts (or restarts) the server on the same data dir and port. */
  async startServer(): Promise<void> {
    const data = join(this.dir, "server");
    this.server = this.#spawn(["server", "--data", data, "--listen", `127.0.0.1:${this.#port}`], "server");
    await waitFor("server tokens", 15_000, () => existsSync(join(data, "admin.token")) && existsSync(join(data, "join.token")));
    this.adminToken = readFileSync(join(data, "admin.token"), "utf8").trim();
    this.joinToken = readFileSync(join(data, "join.token"), "utf8").trim();
    await waitFor("server answering", 15_000, async () => (await fetch(`${this.url}/v1/jobs`, { headers: this.#auth() })).ok);
  }

  /** kill -9 the server. */
  killServer(): void {
    this.server?.kill("SIGKILL");
    this.server = null;
  }

  /** Starts agent i (0-based) with its own data dir, name and rack. */
  startAgent(i: number): void {
    const a = this.agents[i];
    if (!a) throw new Error(`no agent ${i}`);
    a.proc = this.#spawn(
      ["agent", "--server", this.url, "--join-token", this.joinToken, "--data", a.dataDir, "--name", a.name, "--labels", `region=test,datacenter=dc1,cluster=c1,rack=${a.rack}`, "--allow-unsandboxed"],
      a.name,
    );
  }

  /** Sends a signal to agent i's process (SIGKILL by default) and forgets it. */
  killAgent(i: number, signal: NodeJS.Signals = "SIGKILL"): void {
    const a = this.agents[i];
    a?.proc?.kill(signal);
    if (a) a.proc = null;
  }

  #auth(): Record<string, string> {
    return { authorization: `Bearer ${this.adminToken}` };
  }

  /** Calls the API with the admin token and parses JSON. */
  async api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const init: RequestInit = { method, headers: { ...this.#auth(), "content-type": "application/json" } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${this.url}${path}`, init);
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  /** Applies a compiled job; throws unless accepted. */
  async apply(spec: JobSpec): Promise<ApplyResult> {
    const r = await this.api<ApplyResult>("POST", "/v1/jobs", { spec });
    if (r.status !== 200) throw new Error(`apply failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async status(job: string): Promise<JobStatus> {
    const r = await this.api<JobStatus>("GET", `/v1/jobs/${job}`);
    if (r.status !== 200) throw new Error(`status failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  }

  async hosts(): Promise<HostView[]> {
    const r = await this.api<HostView[]>("GET", "/v1/hosts");
    if (r.status !== 200) throw new Error(`hosts failed: ${r.status}`);
    return r.body;
  }

  /** Waits until every task of `job` is in one of `states`, returning the status. */
  async waitRunning(job: string, ms: number, states: string[] = ["running", "healthy"]): Promise<JobStatus> {
    return await waitFor(`${job} running`, ms, async () => {
      const s = await this.status(job);
      return s.tasks.length > 0 && s.tasks.every((t) => states.includes(t.state) && t.pid !== null) ? s : undefined;
    });
  }

  /** Pids of helpers and tasks recorded in every agent's data dir (alive or not). */
  recordedPids(): { helper: number | null; task: number | null; attempt: string; agent: string }[] {
    const out: { helper: number | null; task: number | null; attempt: string; agent: string }[] = [];
    for (const a of this.agents) {
      const attempts = join(a.dataDir, "attempts");
      if (!existsSync(attempts)) continue;
      for (const id of readdirSync(attempts)) {
        const d = join(attempts, id);
        let helper: number | null = null;
        let task: number | null = null;
        try {
          helper = Number(readFileSync(join(d, "helper.pid"), "utf8").trim()) || null;
        } catch {
          /* not written yet */
        }
        try {
          task = (JSON.parse(readFileSync(join(d, "status.json"), "utf8")) as { pid: number | null }).pid;
        } catch {
          /* not written yet */
        }
        out.push({ helper, task, attempt: id, agent: a.name });
      }
    }
    return out;
  }

  /** Stops everything: agents and server by SIGKILL, then every recorded helper and task group. */
  async stop(): Promise<void> {
    for (let i = 0; i < this.agents.length; i++) this.killAgent(i);
    this.killServer();
    for (const p of this.recordedPids()) {
      for (const pid of [p.helper, p.task]) {
        if (pid === null) continue;
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          /* not a group leader or gone */
        }
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    // Sandboxes of killed helpers: container state and cgroups live outside the temp dir.
    for (const p of this.recordedPids()) removeSandboxSync(join(this.agents.find((a) => a.name === p.agent)?.dataDir ?? "", "attempts", p.attempt));
    // The killed agents' service proxy rules (kernel mode) outlive them: remove each agent's nftables table.
    for (const a of this.agents) spawnSync("nft", ["-f", "-"], { input: renderDelete(tableName(a.dataDir)), stdio: ["pipe", "ignore", "ignore"] });
    await new Promise((r) => setTimeout(r, 200));
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A runner for set-up work that takes turns: each call starts once the calls before it have ended
 * (well or not). Tests of one file that run at once (a `describe` with `concurrency`) start their
 * clusters through it one at a time, so a start is no slower than alone, and their waits overlap.
 */
export function takingTurns(): <T>(work: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return async <T>(work: () => Promise<T>): Promise<T> => {
    const mine = tail.then(work);
    tail = mine.catch(() => undefined);
    return await mine;
  };
}

/** Resolves once each of `procs` has exited, or after `ms`, whichever comes first: a clean-up that
 * asked them to stop waits no longer than they take. */
export async function exitedOrAfter(procs: readonly ChildProcess[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const running = procs.filter((p) => p.exitCode === null && p.signalCode === null);
  await Promise.race([Promise.all(running.map((p) => new Promise((r) => p.once("exit", r)))), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
