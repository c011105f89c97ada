// Real etcd members for tests: `startEtcd()` runs /usr/bin/etcd (Debian's etcd-server) on free
// loopback ports with temp data dirs, waits until every member is healthy, and removes everything on
// stop. Members are killed on process exit too, so a crashed test run leaves no etcd behind.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** Where the etcd binary is looked for (TIFFIN_ETCD overrides). */
export const EtcdBinary = process.env["TIFFIN_ETCD"] ?? "/usr/bin/etcd";

/** A running etcd cluster started by `startEtcd`. */
export interface EtcdCluster {
  /** Client URLs (`http://127.0.0.1:port`), one per member. */
  endpoints: string[];
  /** Kills every member and removes the data dirs. Safe to call twice. */
  stop(): Promise<void>;
  /** kill -9 of one member (0-based). */
  kill(member: number): void;
  /** Starts a killed member again on its data dir and ports; resolves once it is healthy. */
  restart(member: number): Promise<void>;
  /** The process id of a running member (to SIGSTOP it: a partition that hangs connections). */
  pid(member: number): number;
}

/** Options of `startEtcd`. */
export interface StartEtcdOptions {
  /** @default 1 */
  members?: 1 | 3;
  /** How long to wait for the members to be healthy. @default 30_000 */
  readyTimeoutMs?: number;
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess | null;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Whether the etcd binary is there (tests skip with a message when it is not). */
export function etcdAvailable(): boolean {
  return existsSync(EtcdBinary);
}

/** Starts a real etcd cluster of 1 or 3 members on loopback. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const p of running) p.kill("SIGKILL");
    });
  }
  const count = opts.members ?? 1;
  // A port picked free can be taken before etcd binds it; a second try with new ports covers that.
  for (let attempt = 1; ; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), "tiffin-etcd-"));
    const cluster = new Cluster(dir, await freePorts(2 * count), count);
    try {
      await cluster.start(opts.readyTimeoutMs ?? 30_000);
      return cluster.handle();
    } catch (err) {
      const logs = cluster.logs();
      await cluster.stop();
      if (attempt >= 2) throw new Error(`etcd did not start: ${(err as Error).message}\n${logs}`);
    }
  }
}

class Cluster {
  readonly #dir: string;
  readonly #members: Member[];
  #stopped = false;

  constructor(dir: string, ports: number[], count: number) {
    this.#dir = dir;
    this.#members = Array.from({ length: count }, (_, i) => ({
      name: `m${i}`,
      clientPort: ports[2 * i] ?? 0,
      peerPort: ports[2 * i + 1] ?? 0,
      dataDir: join(dir, `m${i}`),
      proc: null,
    }));
  }

  async start(timeoutMs: number): Promise<void> {
    for (let i = 0; i < this.#members.length; i++) this.#spawn(i);
    const deadline = Date.now() + timeoutMs;
    await Promise.all(this.#members.map((_, i) => this.#waitHealthy(i, deadline)));
  }

  handle(): EtcdCluster {
    return {
      endpoints: this.#members.map((m) => `http://127.0.0.1:${m.clientPort}`),
      stop: () => this.stop(),
      kill: (i) => {
        const m = this.#member(i);
        m.proc?.kill("SIGKILL");
        m.proc = null;
      },
      pid: (i) => {
        const p = this.#member(i).proc?.pid;
        if (p === undefined) throw new Error(`etcd member ${i} is not running`);
        return p;
      },
      restart: async (i) => {
        const m = this.#member(i);
        if (m.proc) throw new Error(`etcd member ${i} is still running`);
        this.#spawn(i);
        await this.#waitHealthy(i, Date.now() + 30_000);
      },
    };
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const exits = this.#members.flatMap((m) => {
      const p = m.proc;
      m.proc = null;
      if (!p || p.exitCode !== null || p.signalCode !== null) return [];
      const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
      p.kill("SIGKILL");
      return [exited];
    });
    await Promise.all(exits);
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** The tail of every member's log, for a failure message. */
  logs(): string {
    return this.#members
      .map((m) => {
        const path = join(this.#dir, `${m.name}.log`);
        const text = existsSync(path) ? readFileSync(path, "utf8") : "";
        return `--- ${m.name} ---\n${text.split("\n").slice(-15).join("\n")}`;
      })
      .join("\n");
  }

  #member(i: number): Member {
    const m = this.#members[i];
    if (!m) throw new Error(`no etcd member ${i} (there are ${this.#members.length})`);
    return m;
  }

  #spawn(i: number): void {
    const m = this.#member(i);
    mkdirSync(m.dataDir, { recursive: true });
    const peers = this.#members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(",");
    const args = [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-cluster=${peers}`,
      `--initial-cluster-token=${this.#dir}`,
      "--initial-cluster-state=new",
      // Tiffin's reconciler writes a whole plan in one transaction (see README.md, "etcd").
      "--max-txn-ops=10000",
      "--max-request-bytes=10485760",
      "--logger=zap",
      "--log-outputs=stderr",
      "--log-level=warn",
    ];
    const log = openSync(join(this.#dir, `${m.name}.log`), "a");
    const proc = spawn(EtcdBinary, args, { stdio: ["ignore", log, log] });
    closeSync(log);
    running.add(proc);
    proc.once("exit", () => running.delete(proc));
    proc.once("error", () => running.delete(proc));
    m.proc = proc;
  }

  async #waitHealthy(i: number, deadline: number): Promise<void> {
    const m = this.#member(i);
    for (;;) {
      const p = m.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) throw new Error(`etcd member ${m.name} exited (code ${p?.exitCode ?? "?"})`);
      try {
        const res = await fetch(`http://127.0.0.1:${m.clientPort}/health`, { signal: AbortSignal.timeout(2000) });
        const body = (await res.json()) as { health?: string };
        if (res.ok && body.health === "true") return;
      } catch {
        // not listening yet, or no leader yet
      }
      if (Date.now() > deadline) throw new Error(`etcd member ${m.name} not healthy in time`);
      await sleep(50);
    }
  }
}

/** `n` distinct loopback ports that were free a moment ago. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    return typeof a === "object" && a ? a.port : 0;
  });
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}
