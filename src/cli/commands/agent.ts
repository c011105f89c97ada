// `tiffin agent`: the per-host daemon in the foreground. SIGTERM (a service manager's stop or restart)
// and SIGUSR2 leave the tasks running: the agent announces an absence to the server and its helpers,
// and a new agent re-adopts them; SIGINT (Ctrl-C) stops its tasks and leaves.

import type { Command } from "commander";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { CliContext } from "../command.ts";
import { waitForSignal } from "../command.ts";
import { usageError } from "../errors.ts";
import { parseDuration } from "../../spec/api.ts";
import { Capabilities } from "../../model/index.ts";
import { LogLevelEnv } from "../../model/logging.ts";
import { envForEveryFlag } from "../env-flags.ts";
import { registerInstall } from "./install.ts";
import { daemonLogger, logLevelOption, parseLogLevel } from "../log-level.ts";
import type { AgentOptions } from "../../agent/main.ts";

/** Options of the command as commander parses them. */
export interface AgentFlags {
  server: string;
  joinToken?: string;
  joinTokenFile?: string;
  caHash?: string;
  data: string;
  name: string;
  labels?: string;
  listen?: string;
  advertise?: string;
  cores?: string;
  memory?: string;
  disk?: string;
  allowMounts?: string;
  allowCapabilities?: string;
  taskUser?: string;
  unsandboxedFallback?: boolean;
  allowUnsandboxed?: boolean;
  packageCacheMib?: string;
  packageIdle?: string;
  stateKeep?: string;
  uploadLimit?: string;
  downloadLimit?: string;
  maxUploads?: string;
  maxStarts?: string;
  tasksPerHelper?: string;
  checksDir?: string;
  checkInterval?: string;
  serviceProxy?: string;
  logLevel?: string;
}

/**
 * How the agent leaves on each signal. SIGTERM keeps the tasks because it is what `systemctl stop` and
 * `systemctl restart` send (and `kill` by default): restarting or upgrading the agent must not stop
 * every task on the host, as with nomad and k3s. Stopping the tasks is the explicit SIGINT (Ctrl-C);
 * to empty a host for good, `tiffin drain HOST` first.
 */
export const AgentSignalModes = { SIGINT: "stop-tasks", SIGTERM: "upgrade", SIGUSR2: "upgrade" } as const;

/** How long the server and the helpers wait for a new agent after SIGTERM or SIGUSR2 before the
 * host counts as down (its tasks move) and the helpers stop their tasks (fencing). */
export const AwayMs = 30_000;

/** `tiffin agent`'s default `--listen`: every interface (the server and other agents are on other
 * machines), on a port the kernel picks; the address registered is the advertised one. */
export const DefaultAgentListen = "0.0.0.0:0";

/** Parses `k=v,k=v` into labels. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) throw usageError(`label "${part}" is not key=value`, "e.g. --labels region=eu,rack=r1");
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function positive(flag: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw usageError(`${flag} wants a positive ${integer ? "integer" : "number"}, got "${text}"`);
  return n;
}

/** The options of startAgent, from the flags (reads the join token file). */
export function agentOptions(f: AgentFlags): AgentOptions {
  let joinToken = f.joinToken;
  if (!joinToken && f.joinTokenFile) {
    try {
      joinToken = readFileSync(f.joinTokenFile, "utf8").trim();
    } catch (err) {
      throw usageError(`cannot read the join token file ${f.joinTokenFile}: ${(err as Error).message}`, "the server writes it as DATA/join.token");
    }
  }
  if (!joinToken) throw usageError("the agent needs a join token", "pass --join-token TOKEN or --join-token-file DATA/join.token (from the server's data dir)");
  const resources: Partial<{ cores: number; memoryMiB: number; diskMiB: number }> = {};
  const cores = positive("--cores", f.cores, false);
  const memoryMiB = positive("--memory", f.memory, true);
  const diskMiB = positive("--disk", f.disk, true);
  if (cores !== undefined) resources.cores = cores;
  if (memoryMiB !== undefined) resources.memoryMiB = memoryMiB;
  if (diskMiB !== undefined) resources.diskMiB = diskMiB;
  const allowMounts = (f.allowMounts ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "");
  const packageCacheMiB = positive("--package-cache-mib", f.packageCacheMib, true);
  const packageIdleMs = f.packageIdle === undefined ? undefined : parseDuration(f.packageIdle);
  if (packageIdleMs === null) throw usageError(`--package-idle wants a duration, got "${f.packageIdle ?? ""}"`, "e.g. --package-idle 1h, 30m or 90s");
  const stateKeepMs = f.stateKeep === undefined ? undefined : parseDuration(f.stateKeep);
  if (stateKeepMs === null) throw usageError(`--state-keep wants a duration, got "${f.stateKeep ?? ""}"`, "e.g. --state-keep 24h, 168h or 30m");
  const uploadMiB = positive("--upload-limit", f.uploadLimit, false);
  const downloadMiB = positive("--download-limit", f.downloadLimit, false);
  const maxUploads = positive("--max-uploads", f.maxUploads, true);
  const maxConcurrentStarts = positive("--max-starts", f.maxStarts, true);
  const tasksPerHelper = positive("--tasks-per-helper", f.tasksPerHelper, true);
  for (const p of allowMounts) if (!p.startsWith("/")) throw usageError(`--allow-mounts wants absolute paths, got "${p}"`, "e.g. --allow-mounts /srv/data,/var/cache/app");
  const allowCapabilities = parseCapabilities(f.allowCapabilities ?? "");
  const taskUser = f.taskUser === undefined ? undefined : parseTaskUser(f.taskUser);
  const checkIntervalMs = f.checkInterval === undefined ? undefined : parseDuration(f.checkInterval);
  if (checkIntervalMs === null || (checkIntervalMs !== undefined && checkIntervalMs < 100)) throw usageError(`--check-interval wants a duration of at least 100ms, got "${f.checkInterval ?? ""}"`, "e.g. --check-interval 30s");
  const serviceProxy = f.serviceProxy ?? "auto";
  if (!isServiceProxyMode(serviceProxy)) throw usageError(`--service-proxy wants ${ServiceProxyModes.join(", ")}, got "${serviceProxy}"`, "e.g. --service-proxy kernel (nftables DNAT; needs root and nft) or --service-proxy userspace (a relay in the agent)");
  return {
    server: f.server,
    joinToken,
    ...(f.caHash !== undefined ? { caHash: f.caHash } : {}),
    dataDir: resolve(f.data),
    name: f.name,
    labels: parseLabels(f.labels),
    ...(f.listen ? { listen: f.listen } : {}),
    ...(f.advertise !== undefined ? { advertise: f.advertise } : {}),
    ...(Object.keys(resources).length > 0 ? { resources } : {}),
    ...(allowMounts.length > 0 ? { allowMounts } : {}),
    ...(allowCapabilities.length > 0 ? { allowCapabilities } : {}),
    ...(taskUser !== undefined ? { taskUser } : {}),
    ...(f.unsandboxedFallback ? { unsandboxedFallback: true } : {}),
    ...(f.allowUnsandboxed ? { allowUnsandboxed: true } : {}),
    ...(packageCacheMiB !== undefined ? { packageCacheMiB } : {}),
    ...(packageIdleMs !== undefined ? { packageIdleMs } : {}),
    ...(stateKeepMs !== undefined ? { stateKeepMs } : {}),
    ...(uploadMiB !== undefined ? { uploadLimitBytesPerSec: Math.round(uploadMiB * 1024 * 1024) } : {}),
    ...(downloadMiB !== undefined ? { downloadLimitBytesPerSec: Math.round(downloadMiB * 1024 * 1024) } : {}),
    ...(maxUploads !== undefined ? { maxUploads } : {}),
    ...(maxConcurrentStarts !== undefined ? { maxConcurrentStarts } : {}),
    ...(tasksPerHelper !== undefined ? { tasksPerHelper } : {}),
    ...(f.checksDir !== undefined ? { checksDir: resolve(f.checksDir) } : {}),
    ...(checkIntervalMs !== undefined ? { checkIntervalMs } : {}),
    ...(f.serviceProxy !== undefined ? { serviceProxy } : {}),
  };
}

type ServiceProxyMode = NonNullable<AgentOptions["serviceProxy"]>;
/** `--service-proxy`'s values (the agent's ServiceProxyModes; the CLI loads the agent only when it runs). */
const ServiceProxyModes = ["auto", "kernel", "userspace"] as const satisfies readonly ServiceProxyMode[];

function isServiceProxyMode(s: string): s is ServiceProxyMode {
  return (ServiceProxyModes as readonly string[]).includes(s);
}

/** `--allow-capabilities net_bind_service,CAP_CHOWN` -> ["CAP_NET_BIND_SERVICE", "CAP_CHOWN"]; unknown names are a usage error. */
export function parseCapabilities(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(",").map((c) => c.trim()).filter((c) => c !== "")) {
    const name = raw.toUpperCase().startsWith("CAP_") ? raw.toUpperCase() : `CAP_${raw.toUpperCase()}`;
    if (!(Capabilities as readonly string[]).includes(name)) throw usageError(`--allow-capabilities: unknown capability "${raw}"`, "e.g. --allow-capabilities NET_BIND_SERVICE,CHOWN (see capabilities(7))");
    out.push(name);
  }
  return out;
}

/** `--task-user 1000:1000` (or `1000`: gid = uid) -> ids; root is refused: tasks must not be root. */
export function parseTaskUser(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text.trim());
  const uid = Number(m?.[1]);
  const gid = Number(m?.[2] ?? m?.[1]);
  if (!m || uid === 0 || gid === 0 || uid > 65535 || gid > 65535) {
    throw usageError(`--task-user wants UID:GID between 1 and 65535, got "${text}"`, "e.g. --task-user 65534:65534 (nobody); root is not allowed");
  }
  return { uid, gid };
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  const command = program
    .command("agent")
    .option("--server <url,...>", "the server's URL, or several comma-separated (the agent moves to the next when one fails); required")
    .option("--join-token <token>", "the server's join token")
    .option("--join-token-file <file>", "file holding the join token (the server's DATA/join.token)")
    .option("--ca-hash <sha256:hex>", "the cluster CA's hash (the server prints it at start): an https server is trusted only with that CA, pinned in DATA/ca.crt on first start")
    .option("--data <dir>", "the agent's state directory (attempts, logs); required")
    .option("--name <name>", "host name (re-registering with the same name keeps the host id); required")
    .option("--labels <k=v,...>", "labels, including region, datacenter, cluster, rack")
    .option("--listen <host:port>", "what the agent's endpoint (logs, exec, package pieces for the server and other agents) binds", DefaultAgentListen)
    .option("--advertise <host[:port]>", "the address the server and other agents dial for this agent (default: the --listen host, or for 0.0.0.0 this machine's address on its route to the server)")
    .option("--cores <n>", "cores to offer (default: detected)")
    .option("--memory <MiB>", "memory to offer, MiB (default: detected)")
    .option("--disk <MiB>", "disk to offer, MiB (default: free space of --data)")
    .option("--allow-mounts <prefix,...>", "host path prefixes tasks may mount writable (default: none)")
    .option("--allow-capabilities <cap,...>", "Linux capabilities specs may ask for, e.g. NET_BIND_SERVICE (default: none; tasks run without any)")
    .option("--task-user <uid:gid>", "ids tasks run as: sandboxed ones inside their user namespace, or on the host where there is none; isolation \"none\" ones on the host (default: 65534:65534, nobody)")
    .option("--allow-unsandboxed", "run jobs with isolation \"none\" (on the host, as --task-user, not in a sandbox); without it they are refused and the server places none here (default: refused)")
    .option("--unsandboxed-fallback", "with no working OCI runtime (no root, no user namespaces), run sandboxed tasks as plain processes and say so, instead of refusing them (tiffin dev sets it)")
    .option("--package-cache-mib <MiB>", "package cache budget: over it, packages no task used for --package-idle are removed (default: 10240)")
    .option("--upload-limit <MiB/s>", "package pieces served to other agents: rate limit over all uploads (default: none)")
    .option("--download-limit <MiB/s>", "package pieces fetched: rate limit over all sources (default: none)")
    .option("--max-uploads <n>", "package pieces served to other agents at once; more are told to try elsewhere (default: 4)")
    .option("--max-starts <n>", "task helpers started at once; more assignments wait their turn, so a burst cannot starve the agent (default: 4)")
    .option("--tasks-per-helper <n>", "tasks one helper process supervises, sharing Node's memory (a crash of the process ends all of them); 1: a process per task (default: 8)")
    .option("--checks-dir <dir>", "custom machine checks: each executable file runs every --check-interval; exit 0 passes, 1 warns, other codes or a 10 s timeout fail; its first line of output is the message (default: none)")
    .option("--check-interval <duration>", "how often the machine checks run (disk, inodes, memory pressure, clock, runtime, data dir, --checks-dir) (default: 30s)")
    .option("--package-idle <duration>", "how long no task may have used a package before it can be removed (default: 1h)")
    .option("--service-proxy <mode>", "how tasks reach the services they use: kernel (nftables DNAT from each service's local port to an endpoint; rules outlive the agent), userspace (a relay in the agent), or auto: kernel when root and nft works (default: auto)")
    .option("--state-keep <duration>", "how long a task's persisted /var and /home (spec persist) stay once no attempt of it is on this host (default: 24h)")
    .addOption(logLevelOption())
    .description("run the agent of this host")
    .addHelpText("after", "\nSignals: SIGTERM (systemctl stop|restart) and SIGUSR2 leave the tasks running for the next agent, which\nadopts them within 30 s (else they move elsewhere); SIGINT (Ctrl-C) stops this host's tasks, then the agent.\n")
    .action(async (flags: Partial<AgentFlags>) => {
      // Checked here, not by commander: it would demand them of `tiffin agent install` too.
      const need = (flag: string, example: string): never => {
        throw usageError(`tiffin agent needs --${flag}`, `e.g. tiffin agent --${flag} ${example} (or TIFFIN_${flag.toUpperCase()}); see tiffin agent --help`);
      };
      const { server = need("server", "http://10.0.0.1:7070"), data = need("data", "/var/lib/tiffin-agent"), name = need("name", "$(hostname)") } = flags;
      const level = parseLogLevel(flags.logLevel);
      ctx.daemon();
      const opts = { ...agentOptions({ ...flags, server, data, name }), log: daemonLogger("agent", level) };
      // The helpers this agent starts inherit its environment, and with it the level.
      process.env[LogLevelEnv] = level;
      const { startAgent } = await import("../../agent/main.ts");
      const agent = await startAgent(opts);
      const sig = waitForSignal(["SIGINT", "SIGTERM", "SIGUSR2"] as const);
      ctx.io.out(`tiffin agent ${opts.name} is host ${agent.hostId}, serving logs on ${agent.address}\n`);
      const s = await sig.promise;
      const mode = AgentSignalModes[s];
      opts.log.info({ signal: s, mode }, `${s}: ${mode === "upgrade" ? `leaving tasks running: an agent started within ${AwayMs / 1000} s adopts them` : "stopping tasks"}`);
      await agent.close(mode, AwayMs);
      sig.dispose();
    });
  envForEveryFlag(command);
  registerInstall(command, "agent", ctx);
}
