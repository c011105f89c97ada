// Test harness for several servers (tests and bench/ha.ts only): real `startServer` processes on one
// etcd (so a test can kill -9 or SIGSTOP one), simulated agents that talk to any of them through the
// HTTP API and act on their assignments like a real agent would (report "running" for what should
// run, "exited" for what should stop), and the invariant "every task placed exactly once".

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { ApiClient } from "../../api/client.ts";
import { createAgentClient } from "../../api/agent-client.ts";
import type { AgentClient } from "../../api/agent-client.ts";
import { watchSse } from "../../api/sse-watch.ts";
import { assignmentsSchema, checkAnswer } from "../../api/agent-wire.ts";
import type { Assignment, AttemptUpdate, ClusterView, RegisterResponse } from "../../api/types.ts";
import { isTerminal } from "../../model/index.ts";
import type { HostInventory } from "../../model/index.ts";
import type { KeyValue, Store } from "../../state/store.ts";
import { Kinds } from "../kinds.ts";
import type { Kind } from "../kinds.ts";
import type { Timing } from "../liveness.ts";
import { inventoryOf, metricOf } from "./fixtures.ts";

const serverMain = new URL("../main.ts", import.meta.url).href;

/** A server running in its own process. */
export interface ServerProcess {
  child: ChildProcess;
  url: string;
  id: string;
  adminToken: string;
  joinToken: string;
  api: ApiClient;
  /** Whether this server says it leads (null: it did not answer). */
  leading(): Promise<boolean | null>;
  /** One counter or gauge of its /metrics, summed over the labels that match `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** SIGTERM, then SIGKILL after 3 s; resolves when it exited. */
  stop(): Promise<void>;
}

/** Starts `startServer` in a child process: on etcd (`endpoints`, keys under `prefix`), or on its own
 * SQLite file in `dataDir` when `endpoints` is null. */
export async function startServerProcess(opts: { dataDir: string; endpoints: string[] | null; prefix: string; timing?: Partial<Timing>; leaderTtlMs?: number; log?: string; swarm?: { announceMs?: number; peerTokenRotateMs?: number }; scheduleTickMs?: number }): Promise<ServerProcess> {
  const code = `
    const { openStore, startServer } = await import(${JSON.stringify(serverMain)});
    const o = JSON.parse(process.env.TIFFIN_TEST_SERVER);
    const store = o.endpoints ? await openStore({ kind: "etcd", endpoints: o.endpoints, prefix: o.prefix }) : undefined;
    const s = await startServer({ dataDir: o.dataDir, listen: "127.0.0.1:0", ...(store ? { store } : {}), log: o.log, timing: o.timing, leaderTtlMs: o.leaderTtlMs, swarm: o.swarm, scheduleTickMs: o.scheduleTickMs });
    process.stdout.write(JSON.stringify({ url: s.url, id: s.id, adminToken: s.adminToken, joinToken: s.joinToken }) + "\\n");
    process.on("SIGTERM", () => s.close().then(() => store?.close()).then(() => process.exit(0)));`;
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code], {
    env: { ...process.env, TIFFIN_TEST_SERVER: JSON.stringify({ ...opts, log: opts.log ?? process.env["TIFFIN_TEST_LOG"] ?? "silent" }) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const first = await new Promise<{ url: string; id: string; adminToken: string; joinToken: string }>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as { url: string; id: string; adminToken: string; joinToken: string });
    });
    child.once("exit", (c, sig) => reject(new Error(`server process exited (${c ?? sig}) before listening`)));
  });
  const api = new ApiClient({ addr: first.url, token: first.adminToken, timeoutMs: 2000 });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    ...first,
    api,
    async leading() {
      try {
        return (await api.cluster()).self.leader;
      } catch {
        return null;
      }
    },
    async metric(name, labels = {}) {
      return metricOf(await api.metrics(), name, labels);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The leader as the first server that answers sees it. */
export async function leaderOf(servers: ServerProcess[]): Promise<ClusterView["leader"]> {
  for (const s of servers) {
    try {
      return (await s.api.cluster()).leader;
    } catch {
      // dead or stopped: ask the next
    }
  }
  return null;
}

/** An agent simulated through the HTTP API: registers, heartbeats, follows its assignments and
 * reports states, moving between servers like a real agent (the agent's own client and watcher). */
export class SimAgent {
  readonly name: string;
  reg: RegisterResponse | null = null;
  /** The last assignment set received. */
  latest: Assignment[] = [];
  readonly #urls: string;
  readonly #inventory: HostInventory;
  #api: AgentClient | null = null;
  #stopped = false;
  #abort = new AbortController();
  #loops: Promise<void>[] = [];
  /** Attempt id -> the state reported for it. */
  readonly #reported = new Map<string, string>();
  #acting = false;
  /** A set arrived while acting: act again right after. */
  #again = false;
  /** Batch items finish at once (exit 0) instead of running (bench/batch.ts). */
  readonly #finishBatch: boolean;

  constructor(urls: string[], name: string, over: Partial<HostInventory> = {}, opts: { finishBatch?: boolean } = {}) {
    this.#urls = urls.join(",");
    this.name = name;
    this.#inventory = inventoryOf(name, over);
    this.#finishBatch = opts.finishBatch ?? false;
  }

  get hostId(): string {
    if (!this.reg) throw new Error(`${this.name} is not registered`);
    return this.reg.hostId;
  }

  /** Registers, then heartbeats every `heartbeatMs` and follows assignments until `stop()`. */
  async start(joinToken: string, opts: { heartbeatMs: number; timeoutMs?: number }): Promise<void> {
    const api = createAgentClient(this.#urls, opts.timeoutMs ?? 2000);
    const r = await api.register(joinToken, { inventory: this.#inventory });
    if (!r.ok) throw new Error(`register ${this.name}: ${r.status ?? "no answer"} ${r.message}`);
    const reg = (this.reg = r.value);
    this.#api = api;
    const hostId = reg.hostId;
    // The agent's own assignments watcher: it reconnects, to the next server when one fails.
    const watch = watchSse({
      url: () => api.assignmentsUrl(),
      headers: () => ({ authorization: `Bearer ${reg.hostToken}` }),
      onEvent: (ev) => {
        if (ev.event !== "assignments") return;
        // Checked as the agent checks it (src/agent/main.ts): a set that does not fit fails the test's wait.
        const checked = checkAnswer(assignmentsSchema, JSON.parse(ev.data));
        if (!checked.ok) throw new Error(`assignments of another shape: ${checked.problem}`);
        this.latest = checked.value;
        void this.#act(this.latest);
      },
      onError: ({ url }) => api.skip?.(url),
      backoffInitialMs: 100,
      backoffMaxMs: 1000,
      connectTimeoutMs: opts.timeoutMs ?? 2000,
    });
    this.#abort.signal.addEventListener("abort", () => watch.close());
    this.#loops.push(
      (async () => {
        while (!this.#stopped) {
          await api.heartbeat(reg.hostToken, { hostId });
          await sleep(opts.heartbeatMs);
        }
      })(),
      // Reports that did not get through are sent again (a real agent's Reporter retries too).
      (async () => {
        while (!this.#stopped) {
          await sleep(500);
          await this.#act(this.latest);
        }
      })(),
    );
  }

  /** Reports what a real agent would: "running" for attempts to run, "exited" for those to stop. */
  async #act(set: Assignment[]): Promise<void> {
    if (this.#acting) {
      this.#again = true;
      return;
    }
    this.#acting = true;
    try {
      await this.#report(set);
    } finally {
      this.#acting = false;
    }
    if (this.#again) {
      this.#again = false;
      await this.#act(this.latest);
    }
  }

  async #report(set: Assignment[]): Promise<void> {
    const updates: AttemptUpdate[] = [];
    const now = Date.now();
    for (const { attempt: a } of set) {
      const want = a.desired === "run" && !(this.#finishBatch && a.batch) ? "running" : "exited";
      if (this.#reported.get(a.id) === want || isTerminal(a.state) || a.state === want) continue;
      updates.push({ id: a.id, state: want, pid: a.desired === "run" ? 1000 : null, exitCode: want === "exited" ? 0 : null, signal: null, reason: null, ports: {}, startedAt: now, endedAt: want === "exited" ? now : null });
    }
    if (updates.length === 0 || !this.#api || !this.reg) return;
    // Not reported: retried with the next assignment set (sent again on every change and reconnect).
    const r = await this.#api.reportAttempts(this.reg.hostToken, { hostId: this.reg.hostId, updates });
    if (r.ok) for (const u of updates) this.#reported.set(u.id, u.state);
  }

  /** Stops heartbeating and following (the host will go down when its lease expires). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    await Promise.allSettled(this.#loops);
  }
}

/** Problems with "every task of `job` placed exactly once" in the store's state, or [] when it holds:
 * `replicas` tasks, each on a host with its current attempt, exactly one live attempt per task, that
 * attempt to run, on the task's host, at `version` when given; /alloc counts agree with the tasks. */
export async function placedOnce(store: Store, job: string, replicas: number, version?: number): Promise<string[]> {
  const problems: string[] = [];
  // A corrupt stored value is a problem here, not something to skip.
  const read = <T>(kind: Kind<T>, kvs: readonly KeyValue[]): T[] =>
    kvs.flatMap((kv) => {
      const d = kind.decode(kv.key, kv.value);
      if (!d.ok) problems.push(`${d.problem.key}: ${d.problem.path}: ${d.problem.message}`);
      return d.ok ? [d.value] : [];
    });
  const tasks = read(Kinds.task, (await store.range(`/tasks/${job}/`)).kvs);
  const attempts = read(Kinds.attempt, (await store.range("/attempts/")).kvs).filter((a) => a.job === job);
  if (tasks.length !== replicas) problems.push(`${tasks.length} tasks, want ${replicas}`);
  for (const t of tasks) {
    const live = attempts.filter((a) => a.index === t.index && !isTerminal(a.state));
    if (t.hostId === null) problems.push(`task ${t.index} unplaced`);
    if (version !== undefined && t.version !== version) problems.push(`task ${t.index} at version ${t.version}`);
    if (live.length !== 1) problems.push(`task ${t.index} has ${live.length} live attempts`);
    const a = live[0];
    if (a && (a.id !== t.attemptId || a.desired !== "run" || a.hostId !== t.hostId)) problems.push(`task ${t.index}: live attempt ${a.id} is not its current one on its host`);
  }
  const byHost = new Map<string, number>();
  for (const t of read(Kinds.task, (await store.range("/tasks/")).kvs)) {
    if (t.hostId) byHost.set(t.hostId, (byHost.get(t.hostId) ?? 0) + 1);
  }
  for (const kv of (await store.range("/alloc/")).kvs) {
    const host = kv.key.slice("/alloc/".length);
    const [alloc] = read(Kinds.alloc, [kv]);
    if (alloc && alloc.tasks !== (byHost.get(host) ?? 0)) problems.push(`/alloc/${host} counts ${alloc.tasks} tasks, ${byHost.get(host) ?? 0} are placed there`);
  }
  return problems;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
