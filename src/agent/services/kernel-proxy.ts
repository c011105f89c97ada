// The kernel mode of the local proxy, applied: the agent's nftables table (nft-rules.ts) loaded with
// `nft -f -` (delete and refill in one transaction, so a connect never sees a half-made table), one load
// at a time and only the latest (a burst of registry changes is one load). Connections already DNATed to
// an endpoint the registry dropped are cut as the user-space relay cuts its own: their client sockets
// are found in conntrack and destroyed with `ss -K` (the client gets ECONNABORTED/ECONNRESET at once),
// then their conntrack entries are deleted. The rules are the kernel's: they outlive the agent (a kill -9
// leaves tasks reaching their services); a restarted agent reloads its table, a graceful stop that
// leaves no task removes it.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import { renderDelete, renderRuleset, tableName } from "./nft-rules.ts";
import type { KernelService, RenderedRules } from "./nft-rules.ts";

/** How the agent proxies services (`tiffin agent --service-proxy`). */
export const ServiceProxyModes = ["auto", "kernel", "userspace"] as const;
/** One of ServiceProxyModes. */
export type ServiceProxyMode = (typeof ServiceProxyModes)[number];

/** What a command printed and how it ended. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program with `input` on its stdin (the default: spawn, a 10 s limit). */
export type Runner = (cmd: string, args: readonly string[], input?: string) => Promise<RunResult>;

/** spawn, collecting output; a missing program is code null with the error in stderr. */
export const run: Runner = (cmd, args, input) =>
  new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], timeout: 10_000 });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("error", (err) => resolve({ code: null, stdout, stderr: stderr + String(err) }));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
    p.stdin.on("error", () => {});
    p.stdin.end(input ?? "");
  });

let probes = 0;

/** The kernel's answer to `mode`: whether to use nftables, and why (logged at start). */
export async function detectKernelProxy(mode: ServiceProxyMode, runner: Runner = run): Promise<{ kernel: boolean; why: string }> {
  if (mode === "userspace") return { kernel: false, why: "--service-proxy userspace" };
  const root = process.getuid?.() === 0;
  if (!root && mode === "auto") return { kernel: false, why: "not root (nftables needs CAP_NET_ADMIN)" };
  // Unique per call: agents started at once in one process (tests) must not delete each other's probe.
  const probe = `tiffin_probe_${process.pid}_${++probes}`;
  const r = await runner("nft", ["-f", "-"], `table ip ${probe} {}\ndelete table ip ${probe}\n`);
  if (r.code !== 0) return { kernel: false, why: `nft does not work here: ${(r.stderr.trim().split("\n")[0] ?? "").slice(0, 200) || `exit ${r.code}`}` };
  return { kernel: true, why: mode === "kernel" ? "--service-proxy kernel" : "root and nft works" };
}

/** Options of KernelRules. */
export interface KernelRulesOptions {
  /** The agent's data dir: names its table and is the table's comment. */
  dataDir: string;
  log: Logger;
  /** @default run */
  runner?: Runner;
}

/** One agent's table, kept equal to the last services given (see the file comment). */
export class KernelRules {
  readonly table: string;
  readonly #o: KernelRulesOptions;
  readonly #run: Runner;
  #want: KernelService[] | "delete" | null = null;
  #busy: Promise<void> | null = null;
  /** Cuts of connections to dropped endpoints, one after the other. */
  #cuts: Promise<void> = Promise.resolve();
  #routeLocalnet = false;
  /** The endpoints (address . port) each local port was DNATed to by the last load. */
  #loaded = new Map<number, Set<string>>();
  /** The last load's outcome (tests, logs). */
  last: RenderedRules | null = null;

  constructor(o: KernelRulesOptions) {
    this.#o = o;
    this.table = tableName(o.dataDir);
    this.#run = o.runner ?? run;
  }

  /** Loads the table with `services` (later calls supersede earlier ones still waiting); resolves once loaded. */
  apply(services: readonly KernelService[]): Promise<void> {
    this.#want = [...services];
    return this.#kick();
  }

  /** Removes the table (resolves once removed). */
  remove(): Promise<void> {
    this.#want = "delete";
    return this.#kick();
  }

  /** Resolves when no load is running nor waiting. */
  async settled(): Promise<void> {
    while (this.#busy) await this.#busy;
    await this.#cuts;
  }

  #kick(): Promise<void> {
    this.#busy ??= (async () => {
      try {
        while (this.#want !== null) {
          const want = this.#want;
          this.#want = null;
          await (want === "delete" ? this.#delete() : this.#load(want));
        }
      } finally {
        this.#busy = null;
      }
    })();
    return this.settled();
  }

  async #delete(): Promise<void> {
    const r = await this.#run("nft", ["-f", "-"], renderDelete(this.table));
    if (r.code !== 0) this.#o.log.warn({ table: this.table, err: r.stderr.trim() }, "cannot remove the service proxy's nftables table");
    else this.#o.log.info({ table: this.table }, "service proxy nftables table removed");
    this.#loaded.clear();
    this.last = null;
  }

  async #load(services: KernelService[]): Promise<void> {
    const rules = renderRuleset(this.table, services, `tiffin agent ${path.resolve(this.#o.dataDir)}`);
    if (rules.needsRouteLocalnet && !this.#routeLocalnet) await this.#enableRouteLocalnet();
    const r = await this.#run("nft", ["-f", "-"], rules.script);
    if (r.code !== 0) {
      this.#o.log.error({ table: this.table, err: r.stderr.trim() }, "cannot load the service proxy's nftables rules: the user-space relay serves");
      return;
    }
    this.last = rules;
    const before = this.#loaded;
    this.#loaded = new Map();
    for (const s of services) if (rules.kernel.includes(s.service)) this.#loaded.set(s.port, new Set((s.endpoints ?? []).map((e) => `${e.address} . ${e.port}`)));
    // Connections DNATed to an endpoint no longer in its port's rotation are cut (after the load: no new ones go there).
    const dropped = new Set<string>();
    for (const [port, eps] of before) for (const ep of eps) if (!this.#loaded.get(port)?.has(ep)) dropped.add(`${port} ${ep}`);
    // Off the load chain: a cut must never hold back the next load (an endpoint leaving the rotation).
    if (dropped.size > 0) this.#cuts = this.#cuts.then(() => this.#cut(dropped));
  }

  /** Lets the kernel route 127.0.0.0/8 sources off the host (through the runner: the agent's network namespace). */
  async #enableRouteLocalnet(): Promise<void> {
    const key = "net.ipv4.conf.all.route_localnet";
    const now = await this.#run("sysctl", ["-n", key]);
    if (now.code === 0 && now.stdout.trim() === "1") return void (this.#routeLocalnet = true);
    const set = await this.#run("sysctl", ["-w", `${key}=1`]);
    if (set.code !== 0) return void this.#o.log.warn({ err: set.stderr.trim() }, `cannot set ${key}=1: endpoints on other hosts are unreachable through the kernel rules`);
    this.#routeLocalnet = true;
    this.#o.log.info({ sysctl: `${key}=1` }, "service proxy: loopback sources may now be routed off the host (endpoints on other hosts)");
  }

  /** Destroys the client sockets of established connections to 127.0.0.1:PORT DNATed to a dropped
   * endpoint (`dropped`: "PORT ADDR . EPPORT") and forgets them in conntrack: one listing, one `ss -K` a
   * local port (its clients OR'd), one `conntrack -D` an endpoint that had some. */
  async #cut(dropped: ReadonlySet<string>): Promise<void> {
    const listed = await this.#run("conntrack", ["-L", "-p", "tcp", "--orig-dst", "127.0.0.1", "--state", "ESTABLISHED"]);
    if (listed.code === null) return void this.#o.log.warn({ err: listed.stderr.trim() }, "conntrack is missing: connections to a dropped endpoint are not cut");
    const hit = conntrackEntries(listed.stdout).filter((e) => dropped.has(`${e.port} ${e.endpoint}`));
    if (hit.length === 0) return;
    const byPort = new Map<number, ConntrackEntry[]>();
    for (const e of hit) byPort.set(e.port, [...(byPort.get(e.port) ?? []), e]);
    for (const [port, entries] of byPort) {
      for (let i = 0; i < entries.length; i += 100) {
        const sports = entries.slice(i, i + 100).flatMap((e, j) => [...(j > 0 ? ["or"] : []), "sport", "=", `:${e.clientPort}`]);
        await this.#run("ss", ["-K", "-t", "dst", "127.0.0.1", "and", "dport", "=", `:${port}`, "and", "(", ...sports, ")"]);
      }
    }
    for (const ep of new Set(hit.map((e) => `${e.port} ${e.endpoint}`))) {
      const [port = "", addr = "", , epPort = ""] = ep.split(" ");
      await this.#run("conntrack", ["-D", "-p", "tcp", "--orig-dst", "127.0.0.1", "--orig-port-dst", port, "--reply-src", addr, "--reply-port-src", epPort]);
    }
    this.#o.log.info({ cut: hit.length, endpoints: [...dropped] }, "service proxy: connections to dropped endpoints cut");
  }
}

/** One connection `conntrack -L` printed: its client, the local port it connected to, the endpoint (ADDR . PORT) it was DNATed to. */
export interface ConntrackEntry {
  client: string;
  clientPort: number;
  port: number;
  endpoint: string;
}

/** The entries of `conntrack -L` output (the original direction's src, sport, dport; the reply's src and sport). */
export function conntrackEntries(out: string): ConntrackEntry[] {
  const entries: ConntrackEntry[] = [];
  for (const line of out.split("\n")) {
    const src = [...line.matchAll(/\bsrc=(\S+)/g)].map((m) => m[1]);
    const sport = [...line.matchAll(/\bsport=(\d+)/g)].map((m) => Number(m[1]));
    const dport = /\bdport=(\d+)/.exec(line)?.[1];
    const [client, replySrc] = src;
    const [clientPort, replyPort] = sport;
    if (client === undefined || replySrc === undefined || clientPort === undefined || replyPort === undefined || dport === undefined) continue;
    entries.push({ client, clientPort, port: Number(dport), endpoint: `${replySrc} . ${replyPort}` });
  }
  return entries;
}

/** Removes the tables of agents whose data dir is gone (a kill -9 with its dir then deleted: tests, dev). */
export async function removeOrphanTables(log: Logger, runner: Runner = run): Promise<string[]> {
  const listed = await runner("nft", ["list", "tables", "ip"]);
  if (listed.code !== 0) return [];
  const removed: string[] = [];
  for (const name of listed.stdout.match(/\btiffin_[0-9a-f]{12}\b/g) ?? []) {
    const t = await runner("nft", ["list", "table", "ip", name]);
    const dir = /comment "tiffin agent (.*)"/.exec(t.stdout)?.[1];
    // Only a table whose comment holds its whole dir (its name is that dir's hash) and whose dir is gone.
    if (dir === undefined || tableName(dir) !== name || fs.existsSync(dir)) continue;
    if ((await runner("nft", ["-f", "-"], renderDelete(name))).code === 0) removed.push(name);
  }
  if (removed.length > 0) log.info({ tables: removed }, "removed the service proxy tables of agents whose data dir is gone");
  return removed;
}
