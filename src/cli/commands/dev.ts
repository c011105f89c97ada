// `tiffin dev`: a whole cluster on this machine — one `tiffin server` and N `tiffin agent` processes,
// each agent with its own name, data dir, place in a made-up rack/cluster tree and slice of the
// machine — then the examples applied, and everything stopped cleanly on Ctrl-C.

import type { Command } from "commander";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statfsSync, writeFileSync, rmSync } from "node:fs";
import { createSocket } from "node:dgram";
import { createServer as createNetServer } from "node:net";
import { availableParallelism, totalmem } from "node:os";
import { join, resolve, sep } from "node:path";
import { ApiClient } from "../../api/client.ts";
import { z } from "zod";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import { readJsonAs } from "../../model/index.ts";
import { loadSpecFile } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { ParentPidEnv, waitForSignal } from "../command.ts";
import { contextPath, writeContext } from "../context.ts";
import { formatError, usageError } from "../errors.ts";
import { contextOnStop, devPidOf } from "../dev/context-handover.ts";
import { devAgentArgs, devLayout } from "../dev/layout.ts";
import type { DevAgentPlan } from "../dev/layout.ts";
import { startChild, stopChild, tailLog } from "../dev/procs.ts";
import type { Child } from "../dev/procs.ts";
import { isAlive, killStrays } from "../dev/strays.ts";
import { applySpecs, followRollout } from "./apply.ts";
import { defaultListen } from "./server.ts";

/** The example spec `tiffin dev` applies. */
export const examplesFile = join(import.meta.dirname, "..", "..", "..", "examples", "tiffin.ts");

/** Options of `tiffin dev`. */
export interface DevOptions {
  data: string;
  agents: number;
  listen: string;
  examples: boolean;
  /** Let the agents run jobs with isolation "none" (`tiffin agent --allow-unsandboxed`). @default false */
  allowUnsandboxed?: boolean;
}

/** Everything the final message shows. */
export interface DevInfo {
  url: string;
  /** The dashboard's address with the admin token in its fragment (a fragment is never sent to the
   * server, so the token stays out of its logs and of any proxy's); absent: not shown. */
  dashboard?: string;
  dataDir: string;
  contextFile: string;
  serverLog: string;
  /** `host:port` the server answers DNS on (UDP and TCP), when it does. */
  dns?: string;
  agents: (DevAgentPlan & { log: string; pid: number | null })[];
  examples: boolean;
  /** How the user runs the CLI: `npx tiffin` in a checkout, `tiffin` when installed. @default "npx tiffin" */
  cli?: string;
  /** The example spec as the user names it. @default "examples/tiffin.ts" (in a checkout) */
  examplesSpec?: string;
}

/** How `tiffin dev`'s hints name the CLI and the example spec: an installed package (under
 * node_modules) has `tiffin` on PATH and its examples in its own folder, not in the user's. */
export function devHints(moduleDir: string, examples: string): { cli: string; examplesSpec: string } {
  return moduleDir.split(sep).includes("node_modules") ? { cli: "tiffin", examplesSpec: examples } : { cli: "npx tiffin", examplesSpec: "examples/tiffin.ts" };
}

/** The dashboard of the server at `url`, logged in with `token` (in the fragment: never sent to the
 * server; the page moves it to the tab's sessionStorage and out of the address bar). */
export function dashboardUrl(url: string, token: string): string {
  return `${url}/ui/#token=${encodeURIComponent(token)}`;
}

/** What `tiffin dev` prints once the cluster is up; the first line says "ready". */
export function renderDevReady(info: DevInfo): string {
  const cli = info.cli ?? "npx tiffin";
  const spec = info.examplesSpec ?? "examples/tiffin.ts";
  const lines = [
    `tiffin dev is ready: a server and ${info.agents.length} agents on this machine.`,
    "",
    `  server    ${info.url}  (log ${info.serverLog})`,
    ...(info.dashboard !== undefined ? [`  dashboard ${info.dashboard}  (opens logged in)`] : []),
    ...(info.dns !== undefined ? [`  dns       ${info.dns}  (dig @${info.dns.replace(/:(\d+)$/, " -p $1")} web.service.tiffin SRV)`] : []),
    ...info.agents.map((a) => `  ${a.name.padEnd(8)}  ${a.labels["cluster"]}/${a.labels["rack"]}, ${a.cores} cores, ${a.memoryMiB} MiB  (pid ${a.pid ?? "?"}, log ${a.log})`),
    `  data      ${info.dataDir}`,
    `  context   ${info.contextFile}  (address and admin token; the commands below use it)`,
    "",
    "Try:",
    ...(info.examples ? [`  ${cli} status web`, `  ${cli} logs web/0`, `  ${cli} logs worker/0 --follow`] : [`  ${cli} apply ${spec}`]),
    `  ${cli} hosts`,
    `  ${cli} jobs`,
    `  ${cli} drain ${info.agents[0]?.name ?? "dev-1"}   # its tasks move; then \`${cli} undrain ${info.agents[0]?.name ?? "dev-1"}\``,
    `  ${cli} plan ${spec}`,
    `  kill -9 ${info.agents[0]?.pid ?? "<agent pid>"}   # an agent dies: its tasks move after 5 s; tiffin dev starts it again after ${AgentRestartMs / 1000} s`,
    "",
    "Ctrl-C stops everything (agents stop their tasks first).",
    "",
  ];
  return lines.join("\n");
}

function machine(dataDir: string): { cores: number; memoryMiB: number; diskMiB: number } {
  let diskMiB = 10_240;
  try {
    const s = statfsSync(dataDir);
    diskMiB = Math.floor((s.bavail * s.bsize) / (1024 * 1024));
  } catch {
    // keep the guess
  }
  return { cores: availableParallelism(), memoryMiB: Math.floor(totalmem() / (1024 * 1024)), diskMiB };
}

async function until<T>(what: string, ms: number, children: Child[], stopped: () => boolean, check: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (stopped()) throw new TiffinError(ErrorCodes.Timeout, `interrupted while waiting for ${what}`);
    const dead = children.find((c) => c.done);
    if (dead) {
      const tail = tailLog(dead.log);
      const inUse = tail.some((l) => l.includes("EADDRINUSE"));
      throw new TiffinError(ErrorCodes.Unavailable, `${dead.name} exited while waiting for ${what}; last lines of ${dead.log}:\n${tail.map((l) => `  | ${l}`).join("\n")}`, {
        hint: inUse ? "something else listens on that address: stop it, or pick another with --listen" : `see ${dead.log}`,
      });
    }
    try {
      const v = await check();
      if (v !== null) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new TiffinError(ErrorCodes.Timeout, `timed out after ${ms / 1000}s waiting for ${what}`, { hint: `see the logs in ${children.map((c) => c.log).join(", ")}` });
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Refuses to start twice on one data dir (two servers would fight over one SQLite file). */
function claimDataDir(dataDir: string): string {
  const pidFile = join(dataDir, "dev.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
      throw new TiffinError(ErrorCodes.Conflict, `a tiffin dev (pid ${pid}) is already running on ${dataDir}`, { hint: "stop it with Ctrl-C, or use another --data dir" });
    }
  }
  writeFileSync(pidFile, `${process.pid}\n`);
  return pidFile;
}

/** A loopback port free for both UDP and TCP now (DNS listens on both). */
export async function freeUdpTcpPort(): Promise<number> {
  for (;;) {
    const udp = createSocket("udp4");
    const port = await new Promise<number>((res, rej) => {
      udp.once("error", rej);
      udp.bind(0, "127.0.0.1", () => res(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((res) => {
      const t = createNetServer();
      t.once("error", () => res(false));
      t.listen(port, "127.0.0.1", () => t.close(() => res(true)));
    });
    await new Promise<void>((res) => udp.close(() => res()));
    if (tcpFree) return port;
  }
}

/** Starts the cluster, prints where everything is, waits for SIGINT/SIGTERM, stops it all. */
export async function devHandler(opts: DevOptions, ctx: CliContext): Promise<void> {
  const { io } = ctx;
  // Plain HTTP (no CA, no certificates) is for loopback only: a server on any other address speaks HTTPS.
  if (!/^(?:127\.[\d.]+|localhost|\[::1\]):\d+$/.test(opts.listen)) {
    throw new TiffinError(ErrorCodes.Usage, `tiffin dev --listen ${opts.listen}: dev clusters listen on loopback only (plain HTTP)`, { hint: "e.g. --listen 127.0.0.1:7070; for a cluster others reach, run `tiffin server` (HTTPS with a cluster CA by default) and `tiffin agent --ca-hash`" });
  }
  const dataDir = resolve(opts.data);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Tasks with isolation "none" run as nobody and must pass through to their work dirs (the agents'
  // own dirs open the same way, listing nothing; every file in them stays 0600).
  if (opts.allowUnsandboxed === true) chmodSync(dataDir, 0o711);
  const pidFile = claimDataDir(dataDir);
  const serverDir = join(dataDir, "server");
  const url = `http://${opts.listen}`;
  // ParentPidEnv: the children stop on their own if this process is killed outright (SIGKILL).
  const env = { ...process.env, TIFFIN_ADDR: url, [ParentPidEnv]: String(process.pid) };
  const children: Child[] = [];
  const plans = devLayout(opts.agents, machine(dataDir));
  const agentDirs = plans.map((p) => join(dataDir, p.name));
  // If this process dies unexpectedly, its children should not outlive it.
  const onExit = (): void => children.forEach((c) => c.done || c.proc.kill("SIGKILL"));
  process.on("exit", onExit);
  const stopSignal = waitForSignal(["SIGINT", "SIGTERM"]);
  // A closed stdout (`npm run dev | tee log`, the tee stopped) stops the cluster as SIGTERM does:
  // cleanly, agents first, instead of the crash that SIGKILLed them and left their helpers running.
  const stop = Promise.race([stopSignal.promise, ctx.outputClosed.then(() => "closed stdout")]);
  let interrupted = false;
  let interruptedAt = 0;
  let context: { file: string; previous: string | null; ours: string } | null = null;
  void stop.then(() => {
    interrupted = true;
    interruptedAt = Date.now();
  });

  try {
    io.out(`starting a server on ${url} and ${opts.agents} agents (data in ${dataDir})\n`);
    io.out("plain HTTP: tiffin dev is for loopback only (a cluster on a network: tiffin server, HTTPS by default)\n");
    // DNS on a free loopback port, printed below (the server's --dns-listen; 53 would need root).
    const dns = `127.0.0.1:${await freeUdpTcpPort()}`;
    const server = startChild("server", ["server", "--data", serverDir, "--listen", opts.listen, "--dns-listen", dns], join(dataDir, "server.log"), env);
    children.push(server);
    const started = Date.now();
    const stopped = (): boolean => interrupted;
    const client = await until("the server to answer", 30_000, children, stopped, async () => {
      const token = readFileSync(join(serverDir, "admin.token"), "utf8").trim();
      const c = new ApiClient({ addr: url, token, timeoutMs: 2000 });
      await c.jobs();
      return c;
    });
    const token = readFileSync(join(serverDir, "admin.token"), "utf8").trim();

    for (const p of plans) {
      const args = devAgentArgs(p, { url, joinTokenFile: join(serverDir, "join.token"), dataDir: join(dataDir, p.name), allowUnsandboxed: opts.allowUnsandboxed === true });
      children.push(startChild(p.name, args, join(dataDir, `${p.name}.log`), env));
    }
    await until(`${opts.agents} agents to register`, 30_000, children, stopped, async () => {
      const hosts = await client.hosts();
      const up = plans.filter((p) => hosts.some((h) => h.name === p.name && h.status === "up" && (h.lastHeartbeatAt ?? 0) >= started));
      return up.length === plans.length ? true : null;
    });

    const contextFile = contextPath(io.env);
    const previous = readText(contextFile);
    writeContext(contextFile, { addr: url, token, devPid: process.pid });
    context = { file: contextFile, previous, ours: readText(contextFile) ?? "" };
    const displaced = previous === null ? null : parseContext(previous);
    if (displaced && displaced.addr !== url) io.out(`the CLI context now points here instead of ${displaced.addr}; it points there again when this stops\n`);

    if (opts.examples && !interrupted) {
      io.out(`applying ${examplesFile}\n`);
      try {
        const results = await applySpecs(client, await loadSpecFile(examplesFile, { onOutput: (t) => io.err(t) }));
        await followRollout(client, results, 60_000, io);
      } catch (err) {
        // The cluster is still useful; say what went wrong and keep it running.
        if (!interrupted) io.err(formatError(err));
      }
    }
    if (!interrupted) {
      io.out(
        renderDevReady({
          url,
          dashboard: dashboardUrl(url, token),
          dataDir,
          contextFile,
          serverLog: server.log,
          dns,
          agents: plans.map((p) => ({ ...p, log: join(dataDir, `${p.name}.log`), pid: children.find((c) => c.name === p.name)?.proc.pid ?? null })),
          examples: opts.examples,
          ...devHints(import.meta.dirname, examplesFile),
        }),
      );
      await supervise(children, stop, io, (c) => {
        // Started again with the same arguments: the agent re-adopts its helpers (or finds them
        // fenced), the server reloads its state. See the tour in the README.
        const i = children.indexOf(c);
        const again = startChild(c.name, c.args, c.log, env);
        children[i] = again;
        return again;
      });
    }
  } catch (err) {
    if (!interrupted) throw err; // Ctrl-C during start-up is a normal way to leave
  } finally {
    stopSignal.dispose();
    // A second Ctrl-C while stopping: no more waiting. One within a second of the first is the same
    // keypress delivered twice (`npm run dev` forwards the SIGINT its process group already got).
    const onHurry = (): void => {
      if (Date.now() - interruptedAt < 1000) return;
      io.err("stopping now (SIGKILL)\n");
      children.forEach((c) => c.done || c.proc.kill("SIGKILL"));
    };
    process.on("SIGINT", onHurry);
    process.on("SIGTERM", onHurry);
    io.out("stopping: agents (and their tasks) first, then the server\n");
    // SIGINT: an agent stops its tasks only then (on SIGTERM it leaves them for a new agent).
    await Promise.all(children.filter((c) => c.name !== "server").map((c) => stopChild(c, "SIGINT", 30_000)));
    await Promise.all(children.filter((c) => c.name === "server").map((c) => stopChild(c, "SIGTERM", 10_000)));
    const strays = await killStrays(agentDirs);
    if (strays.length > 0) io.err(`ended ${strays.length} process(es) the agents left behind: ${strays.map((s) => `${s.kind} ${s.pid}`).join(", ")}\n`);
    process.off("SIGINT", onHurry);
    process.off("SIGTERM", onHurry);
    process.off("exit", onExit);
    rmSync(pidFile, { force: true });
    if (context) handBackContext(context, io);
    io.out("stopped\n");
  }
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** The part of a context file parseContext reads. */
const contextAddrSchema = z.object({ addr: z.string() });

function parseContext(text: string): { addr: string } | null {
  const v = readJsonAs(contextAddrSchema, text);
  return v ? { addr: v.addr } : null;
}

/** Puts back the context this `tiffin dev` displaced, if its cluster still runs (context-handover.ts). */
function handBackContext(c: { file: string; previous: string | null; ours: string }, io: CliContext["io"]): void {
  const pid = devPidOf(c.previous);
  const h = contextOnStop({ previous: c.previous, ours: c.ours, current: readText(c.file), previousAlive: pid === null || isAlive(pid) });
  if (h.action !== "restore") return;
  const tmp = `${c.file}.${process.pid}.tmp`;
  writeFileSync(tmp, h.text, { mode: 0o600 });
  renameSync(tmp, c.file);
  io.out(`the CLI context points again to ${parseContext(h.text)?.addr ?? "the previous cluster"}\n`);
}

/** An agent that dies is started again after this long: past the host-down timeout, so a `kill -9`
 * of an agent shows its tasks moving elsewhere, then the host coming back and its stale copies stopped. */
export const AgentRestartMs = 10_000;

/**
 * Keeps the cluster up until a stop signal: a child that exits (someone killed it, as the README's
 * tour suggests) is reported and started again, the server at once, an agent after AgentRestartMs.
 */
async function supervise(children: Child[], stop: Promise<string>, io: CliContext["io"], restart: (c: Child) => Child): Promise<void> {
  let stopping = false;
  void stop.then(() => (stopping = true));
  const watch = (c: Child): void => {
    void c.exited.then(async (how) => {
      if (stopping) return;
      const delay = c.name === "server" ? 500 : AgentRestartMs;
      io.err(`${c.name} exited (${how}); starting it again in ${delay / 1000} s (log ${c.log})\n`);
      await Promise.race([new Promise((r) => setTimeout(r, delay)), stop]);
      if (stopping) return;
      watch(restart(c));
    });
  };
  children.forEach(watch);
  await stop;
}

/** Parses `--agents`. */
export function parseAgents(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1 || n > 50) throw usageError(`--agents wants a number from 1 to 50, got "${text}"`);
  return n;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("dev")
    .option("--data <dir>", "where the server and agents keep their state and logs", "./.tiffin/dev")
    .option("--agents <n>", "how many agents (hosts) to start", "3")
    .option("--listen <host:port>", "the server's address", defaultListen)
    .option("--no-examples", "do not apply examples/tiffin.ts")
    .option("--allow-unsandboxed", "let the agents run jobs with isolation \"none\" (on the host as nobody, not in a sandbox; default: refused)")
    .description("run a server and several agents on this machine")
    .action(async (o: { data: string; agents: string; listen: string; examples: boolean; allowUnsandboxed?: boolean }) => {
      ctx.daemon();
      await devHandler({ data: o.data, agents: parseAgents(o.agents), listen: o.listen, examples: o.examples, allowUnsandboxed: o.allowUnsandboxed === true }, ctx);
    });
}
