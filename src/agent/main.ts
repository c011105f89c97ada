// `tiffin agent`: one per machine. Registers with the server, heartbeats, watches the host's desired
// attempts and runs one detached helper per attempt. It keeps no state that cannot be rebuilt from the
// server and its helpers: restart it (even with kill -9) and it re-adopts every running task.
//
//   start: load DIR/agent.json ─> logs endpoint ─> adopt helpers (ping at once) ─> register
//          ─> heartbeat loop + assignments watch (SSE) ─> reconcile on every event
//   close: stop-tasks  (stop every task, report, exit)
//          leave-tasks (disconnect; helpers fence after fenceMs)
//          upgrade     (announce an absence to server and helpers, disconnect)

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import type { Logger } from "pino";
import { assignmentsSchema, checkAnswer } from "../api/agent-wire.ts";
import type { Assignment } from "../api/types.ts";
import { ensurePrivateDir, ErrorCodes, TiffinError } from "../model/index.ts";
import type { HostCapacity } from "../model/index.ts";
import { AttemptManager } from "./attempts.ts";
import { TraverseOnlyMode } from "./helpers.ts";
import { LocalServices } from "./services/local-services.ts";
import { detectKernelProxy, KernelRules, removeOrphanTables } from "./services/kernel-proxy.ts";
import type { ServiceProxyMode } from "./services/kernel-proxy.ts";
import { createAgentClient } from "./client.ts";
import { AgentTls } from "./tls.ts";
import { HelperNodeFlags, helperSource, prepareHelperCommand } from "./helper-bundle.ts";
import { fetchFromServer, PackageCache } from "./packages.ts";
import { PackageGc } from "./package-gc.ts";
import { StateGc } from "./state-gc.ts";
import { describeRuntime } from "../helper/sandbox-config.ts";
import { advertiseAddress, detectInventory, isWildcard, localAddressToward, parseAdvertise, parseListen } from "./inventory.ts";
import { UsernsRanges } from "./userns-store.ts";
import { DefaultClaimsDir, RangeClaims } from "./userns-claims.ts";
import { DEFAULT_TASK_USER, describeSandboxing, detectRuntime, nodeReadOnlyPaths, reprobeRuntime, sandboxFor, statOwner } from "./isolation.ts";
import { MachineChecker } from "./machine-checks/checker.ts";
import { RepairRunner } from "./machine-checks/repair.ts";
import type { RuntimeDetection } from "./isolation.ts";
import { startLogsEndpoint } from "./logs-endpoint.ts";
import { PortAllocator } from "./ports.ts";
import { Reporter } from "./reporter.ts";
import { createAgentMetrics } from "./metrics/agent-metrics.ts";
import { MetricsScraper } from "./metrics/scraper.ts";
import { scrapeTargetsOf } from "./metrics/targets.ts";
import { Session } from "./session.ts";
import { narrowAttempts } from "./private-attempts.ts";
import { SwarmPeer } from "./swarm/peer.ts";
import { nextBackoff, watchSse } from "./sse.ts";
import type { SseWatch } from "./sse.ts";

/** Options of `startAgent`. */
export interface AgentOptions {
  /** Server URL, e.g. http://10.0.0.1:7070; several comma-separated (the agent moves to the next
   * when one fails). */
  server: string;
  joinToken: string;
  /** `sha256:<hex>` of the cluster CA (`--ca-hash`): an https server is trusted only if its CA has
   * it (pinned in DIR/ca.crt on first start; tls.ts). Needed on first start against an https server. */
  caHash?: string;
  dataDir: string;
  /** Host name; re-registering with the same name keeps the host id. */
  name: string;
  /** region/datacenter/cluster/rack give the failure domain. */
  labels: Record<string, string>;
  /** host:port the agent's endpoint (logs, exec, package pieces) binds. @default "127.0.0.1:0"
   * (`tiffin agent` passes "0.0.0.0:0": every interface, a port the kernel picks) */
  listen?: string;
  /** host[:port] the server and other agents dial for that endpoint, registered as the host's
   * address (parseAdvertise; no port: the bound one). @default the listen host, or for a wildcard
   * listen this machine's address on its route to the server (advertiseAddress) */
  advertise?: string;
  /** How often tasks' metrics summaries are sent to the server. @default 10000 */
  metricsReportMs?: number;
  /** Overrides detection (dev runs several agents on one machine). */
  resources?: Partial<HostCapacity>;
  /** Inclusive range for tasks' named ports. @default [20000, 29999] */
  portRange?: [number, number];
  /** argv that starts a helper; the attempt directory is appended. @default the helper bundled into
   * DIR/helper at start (helper-bundle.ts), else defaultHelperCommand() */
  helperCommand?: string[];
  log?: Logger;
  /** How long a first registration (no DIR/agent.json yet) may keep failing before startAgent rejects. @default 30000 */
  registerTimeoutMs?: number;
  /** Host path prefixes that tasks' writable mounts may use. @default [] (none) */
  allowMounts?: string[];
  /** Capabilities specs may ask for ("CAP_NET_BIND_SERVICE"). @default [] (none) */
  allowCapabilities?: string[];
  /** The uid and gid sandboxed tasks run as: inside their user namespace, or on the host where the
   * kernel allows none. @default 65534:65534 (nobody) */
  taskUser?: { uid: number; gid: number };
  /** With no working OCI runtime, run sandboxed tasks unsandboxed (and say so) instead of refusing
   * them: for `tiffin dev` on a machine without root or user namespaces. @default false */
  unsandboxedFallback?: boolean;
  /** Run isolation "none" tasks (`--allow-unsandboxed`), as `taskUser` when the agent is root; refused
   * otherwise (and the server places none here), since such a task runs on the host itself. With it
   * the data dir, attempts/ and packages/ are traverse-only for others (0711: nothing can be listed,
   * every file in them stays 0600), so a task of another uid reaches its own work dir and packages.
   * @default false */
  allowUnsandboxed?: boolean;
  /** What runtime detection found, instead of detecting (tests: a host without a runtime, on machines
   * that all have crun). @default detected at start */
  runtimeDetection?: RuntimeDetection;
  /** Where agents of this machine claim user id ranges (userns-claims.ts); null: this agent's table alone. @default DefaultClaimsDir */
  usernsClaimsDir?: string | null;
  /** Package cache budget (DATA/packages), MiB: over it, idle packages are removed. @default 10240 */
  packageCacheMiB?: number;
  /** How long no task may have used a package before it can be removed. @default 3600000 (1 h) */
  packageIdleMs?: number;
  /** How long a task's persisted state (spec `persist`) stays once no attempt of it is here (default 24 h). */
  stateKeepMs?: number;
  /** How often the package cache is collected (also after each fetch). @default 60000 */
  packageGcEveryMs?: number;
  /** Serving package pieces to peers: bytes/s over all uploads. @default no limit */
  uploadLimitBytesPerSec?: number;
  /** Fetching package pieces: bytes/s over all sources. @default no limit */
  downloadLimitBytesPerSec?: number;
  /** Uploads to peers at once; more get 503. @default 4 */
  maxUploads?: number;
  /** Helpers started at once; more assignments wait their turn (a burst of starts starved the agent,
   * pings came late and running tasks were fenced). Pings never wait on it. @default 4 */
  maxConcurrentStarts?: number;
  /** Attempts one helper process runs: Node's fixed cost (about 10 MiB PSS) is shared by them, and a
   * crash of the process ends them all (helper-pool.ts). 1: a process per attempt. @default 8 */
  tasksPerHelper?: number;
  /** Custom machine check scripts (`--checks-dir`): each executable file is run every check interval;
   * exit 0 passes, 1 warns, anything else (or a timeout) fails; its first line of output is the message.
   * @default none */
  checksDir?: string;
  /** How often the machine checks run (`--check-interval`). @default 30000 */
  checkIntervalMs?: number;
  /** How tasks reach the services they use (`--service-proxy`; services/kernel-proxy.ts). @default "auto" */
  serviceProxy?: ServiceProxyMode;
  /** A custom check script's time limit. @default 10000 */
  checkTimeoutMs?: number;
  /** The container runtime's test run at most this often. @default 600000 */
  runtimeCheckMs?: number;
}

/** A running agent. */
export interface AgentHandle {
  hostId: string;
  /** host:port of the logs endpoint, as registered. */
  address: string;
  /** Stops the agent; see the modes at the top of this file. `upgradeMs` @default 30000 */
  close(mode: "stop-tasks" | "leave-tasks" | "upgrade", upgradeMs?: number): Promise<void>;
}

/** The helper argv when bundling fails: this Node running src/helper/main.ts (type stripping: ~35 MiB more per helper). */
export function defaultHelperCommand(): string[] {
  return [process.execPath, ...HelperNodeFlags, "--disable-warning=ExperimentalWarning", helperSource];
}

/** Starts the agent; resolves once it is registered (or, with a saved identity, once helpers are adopted). */
export async function startAgent(opts: AgentOptions): Promise<AgentHandle> {
  const dataDir = path.resolve(opts.dataDir);
  const log = (opts.log ?? pino({ name: "tiffin-agent" })).child({ host: opts.name });
  // The host token (agent.json) and every task's env and logs live here: the agent's alone, a pre-made
  // 0755 dir narrowed (and said so), another user's refused.
  const uid = process.geteuid?.() ?? 0;
  for (const dir of [dataDir, path.join(dataDir, "attempts")]) {
    const narrowed = ensurePrivateDir(fs, dir, uid).narrowedFrom;
    // 0711 is this agent's own doing with --allow-unsandboxed (made so again below): no news.
    const ours = opts.allowUnsandboxed === true && narrowed === TraverseOnlyMode;
    if (narrowed !== null && !ours) log.warn({ dir, was: narrowed.toString(8), now: "700" }, "data directory let other users in: narrowed to 0700");
  }
  // Isolation "none" tasks run as the task user must pass through to their work dirs and packages.
  if (opts.allowUnsandboxed === true && uid === 0) {
    for (const dir of [dataDir, path.join(dataDir, "attempts")]) fs.chmodSync(dir, TraverseOnlyMode);
    const closed = closedAncestor(dataDir);
    if (closed !== null) log.warn({ dir: closed }, "isolation none tasks run as the task user cannot reach their work dirs or packages: this parent of the data dir is closed to other users (chmod o+x it, or pick another --data)");
  }
  const tidied = narrowAttempts(path.join(dataDir, "attempts"));
  if (tidied > 0) log.warn({ modes: tidied }, "attempt files an older agent left open to other users: narrowed to 0700/0600");
  // mTLS (tls.ts): null against a plain-HTTP server. The freshest host token, for the certificate bootstrap.
  let freshToken: string | null = null;
  const hostToken = (): string | null => freshToken ?? session.identity?.hostToken ?? null;
  const tls = await AgentTls.open({ dataDir, server: opts.server, ...(opts.caHash !== undefined ? { caHash: opts.caHash } : {}), log, baseUrl: () => client.baseUrl, endpointAddress: () => address });
  const client = createAgentClient(opts.server, 10_000, tls === null ? {} : {
    fetch: tls.fetch,
    afterRegister: (r) => {
      freshToken = r.hostToken;
      return tls.ensure(r.hostId, hostToken);
    },
  });
  const serverFetch: typeof fetch = tls?.fetch ?? ((input, init) => fetch(input, init));
  // Declared before anything can call back into it (the first registration restarts the watch).
  let watch: SseWatch | null = null;
  let address = "";
  // Filled in before the first registration (detection runs a container: after helpers are pinged).
  let runtime: RuntimeDetection = { runtime: null, problems: ["not detected yet"] };
  const checker = new MachineChecker({
    dataDir,
    log,
    ...(opts.checksDir !== undefined ? { checksDir: path.resolve(opts.checksDir) } : {}),
    ...(opts.checkIntervalMs !== undefined ? { intervalMs: opts.checkIntervalMs } : {}),
    ...(opts.checkTimeoutMs !== undefined ? { scriptTimeoutMs: opts.checkTimeoutMs } : {}),
    ...(opts.runtimeCheckMs !== undefined ? { runtimeEveryMs: opts.runtimeCheckMs } : {}),
    runtime: () => {
      const d = runtime;
      return d.runtime === null ? null : { name: describeRuntime(d.runtime), probe: () => reprobeRuntime({ ...d, runtime: d.runtime! }, path.join(dataDir, "runtime-probe")) };
    },
  });
  const session = new Session({
    ...(tls !== null ? { onCa: (ca: { signing: string; trust: string[] }) => tls.serverCa(ca) } : {}),
    checks: checker,
    repairs: new RepairRunner(dataDir, log, () => void checker.runOnce().then(() => session.wake(false))),
    client,
    joinToken: opts.joinToken,
    identityFile: path.join(dataDir, "agent.json"),
    log,
    inventory: () =>
      detectInventory({
        name: opts.name,
        address,
        dataDir,
        labels: opts.labels,
        runtime: runtime.runtime === null && opts.unsandboxedFallback ? "none (tasks run unsandboxed)" : describeSandboxing(runtime, opts.taskUser ?? DEFAULT_TASK_USER),
        ...(opts.resources ? { resources: opts.resources } : {}),
        ...(opts.allowCapabilities ? { capabilities: opts.allowCapabilities } : {}),
        unsandboxed: opts.allowUnsandboxed === true,
      }),
    onRegistered: (tokenChanged) => {
      reporter.kick();
      if (tokenChanged) watch?.restart();
    },
  });
  await session.load();
  // Read when scraped: the manager and the swarm are made below, before the endpoint serves.
  const metrics = createAgentMetrics({
    helperProcesses: () => manager.helperProcesses(),
    packageBytes: () => {
      const s = swarm.stats();
      return { fromOrigin: s.bytesFromOrigin, fromPeers: s.bytesFromPeers, served: s.bytesUploaded };
    },
  });

  const reporter: Reporter = new Reporter({
    observe: (u) => metrics.attemptUpdate(u),
    send: (updates) => {
      const id = session.identity;
      if (!id) return null;
      return client.reportAttempts(id.hostToken, { hostId: id.hostId, updates }).then((r) => (r.ok && session.contact(), r));
    },
    onFailure: (r, pending) => {
      log.warn({ status: r.status, error: r.message, pending }, "attempt report not accepted; will retry");
      if (r.status === 401) session.wake(true);
    },
  });
  const readOnlyPaths = nodeReadOnlyPaths(process.env["PATH"] ?? "");
  // Pieces come from peers first (the server's tracker plans whom from) and are served to peers on
  // the logs endpoint below.
  const swarm = new SwarmPeer({
    serverUrl: () => client.baseUrl,
    token: () => session.identity?.hostToken ?? null,
    dataDir,
    address: () => address,
    uploadLimitBytesPerSec: opts.uploadLimitBytesPerSec ?? null,
    downloadLimitBytesPerSec: opts.downloadLimitBytesPerSec ?? null,
    ...(opts.maxUploads !== undefined ? { maxUploads: opts.maxUploads } : {}),
    ...(tls !== null ? { httpsAgent: () => tls.httpsAgent() } : {}),
    log,
  });
  // Declared before the manager it asks what is in use (the manager is built right below).
  const packageGc: PackageGc = new PackageGc({
    dataDir,
    budgetBytes: (opts.packageCacheMiB ?? 10_240) * 1024 * 1024,
    idleMs: opts.packageIdleMs ?? 3_600_000,
    inUse: () => manager.packagesInUse(),
    log,
  });
  // Settled after adopting (bundling takes a second on a busy host; helpers must be pinged first).
  let helperCommand = opts.helperCommand ?? null;
  const ports = new PortAllocator(opts.portRange ?? [20000, 29999]);
  // The services this host's tasks use: registry view, local proxies, start holds (services/).
  const proxyMode = await detectKernelProxy(opts.serviceProxy ?? "auto");
  log.info({ mode: proxyMode.kernel ? "kernel" : "userspace", why: proxyMode.why }, `service proxy: ${proxyMode.kernel ? "kernel (nftables DNAT)" : "userspace relay"}`);
  if (proxyMode.kernel) await removeOrphanTables(log);
  else if (opts.serviceProxy === "kernel") throw new TiffinError(ErrorCodes.Usage, `--service-proxy kernel: ${proxyMode.why}`, { hint: "run the agent as root with nftables installed (apt-get install nftables), or use --service-proxy auto|userspace" });
  const services = new LocalServices({
    kernel: proxyMode.kernel ? new KernelRules({ dataDir, log }) : null,
    dataDir,
    ports,
    log,
    baseUrl: () => client.baseUrl,
    token: () => session.identity?.hostToken ?? null,
    fetch: serverFetch,
    skip: (url) => client.skip?.(url),
    onReady: () => manager.retryHeld(),
  });
  // Each job's own user namespace range (issue 17), kept in the data dir.
  const usernsRanges = new UsernsRanges({ dataDir, log, claims: opts.usernsClaimsDir === null ? null : new RangeClaims({ dir: opts.usernsClaimsDir ?? DefaultClaimsDir, dataDir }) });
  const manager = new AttemptManager({
    dataDir,
    helperCommand: () => helperCommand ?? defaultHelperCommand(),
    ports,
    services,
    reporter,
    log,
    hostName: opts.name,
    fenceMs: () => session.identity?.fenceMs ?? 30_000,
    packages: new PackageCache(dataDir, (urlPath) => fetchFromServer(client.baseUrl, session.identity?.hostToken ?? null, urlPath, 60_000, serverFetch), swarm),
    packageGc,
    ...(opts.maxConcurrentStarts !== undefined ? { maxConcurrentStarts: opts.maxConcurrentStarts } : {}),
    ...(opts.tasksPerHelper !== undefined ? { tasksPerHelper: opts.tasksPerHelper } : {}),
    sandboxFor: (a) =>
      sandboxFor(
        a.spec,
        {
          hostName: opts.name,
          runtime,
          allowMounts: (opts.allowMounts ?? []).map((p) => path.resolve(p)),
          readOnlyPaths,
          dataDir,
          unsandboxedFallback: opts.unsandboxedFallback === true,
          allowUnsandboxed: opts.allowUnsandboxed === true,
          allowCapabilities: opts.allowCapabilities ?? [],
          taskUser: opts.taskUser ?? DEFAULT_TASK_USER,
          usernsBase: (job) => usernsRanges.hostBaseOf(job),
          ownerOf: (p) => statOwner(p),
        },
        { job: a.attempt.job, index: a.attempt.index },
      ),
  });

  const { host, port } = parseListen(opts.listen ?? "127.0.0.1:0");
  const advertise = opts.advertise === undefined ? undefined : parseAdvertise(opts.advertise);
  if (advertise === null) throw new TiffinError(ErrorCodes.Usage, `cannot advertise "${opts.advertise ?? ""}": not an address others can dial`, { hint: "give host or host:port, e.g. --advertise 10.0.0.5:7071 (not 0.0.0.0)" });
  const endpoint = await startLogsEndpoint({ host, port, token: () => session.identity?.hostToken ?? null, attemptDir: (id) => manager.dirOf(id), log, pieces: (req, res) => swarm.handle(req, res), metrics, ...(tls !== null ? { tls } : {}) });
  const towardServer = advertise === undefined && isWildcard(host) ? await localAddressToward(opts.server) : null;
  address = advertiseAddress(host, endpoint.port, os.networkInterfaces(), { ...(advertise ? { advertise } : {}), towardServer });
  log.info({ address, dataDir }, "logs endpoint listening");

  // Helpers must be pinged before anything slow happens, or they fence their tasks.
  await manager.adopt();
  if (!helperCommand) {
    const prepared = await prepareHelperCommand(dataDir);
    if (prepared.problem) log.warn({ problem: prepared.problem }, "cannot bundle the helper: helpers run the TypeScript source (about 35 MiB more each)");
    else log.info({ bundle: prepared.bundle }, "helper bundled");
    helperCommand = prepared.argv;
  }
  runtime = opts.runtimeDetection ?? (await detectRuntime(path.join(dataDir, "runtime-probe")));
  if (runtime.runtime) log.info({ runtime: describeRuntime(runtime.runtime), path: runtime.runtime.path, skipped: runtime.problems, userns: runtime.userns !== false }, "sandbox runtime");
  if (runtime.runtime && runtime.userns === false) log.warn({ problem: runtime.usernsProblem }, "no user namespaces for tasks here: sandboxed tasks run as the --task-user uid on the host");
  else if (!runtime.runtime && opts.unsandboxedFallback) log.warn({ problems: runtime.problems }, "no working OCI runtime: sandboxed tasks will run UNSANDBOXED (--unsandboxed-fallback)");
  else if (!runtime.runtime) log.warn({ problems: runtime.problems }, "no working OCI runtime: sandboxed tasks will be refused");

  // Tasks' metrics endpoints (jobs with `metrics`), summarized to the server every metricsReportMs.
  const scraper = new MetricsScraper({
    targets: () => scrapeTargetsOf(manager.running()),
    send: (tasks) => {
      const id = session.identity;
      return id && client.reportMetrics ? client.reportMetrics(id.hostToken, { hostId: id.hostId, tasks }) : null;
    },
    log,
    onScrape: (result, seconds) => metrics.scrape(result, seconds),
    ...(opts.metricsReportMs !== undefined ? { reportEveryMs: opts.metricsReportMs } : {}),
  });
  scraper.start();

  checker.start();

  const closeAll = async () => {
    tls?.close();
    checker.close();
    scraper.close();
    await services.close();
    swarm.close();
    session.stop();
    reporter.close();
    await manager.close();
    await endpoint.close();
  };

  // First registration: with a saved identity, a down server must not keep the agent (and the helpers'
  // pings) from running; without one there is no host id to run with.
  let first = await session.register();
  if (!first.ok && !session.identity) {
    let delay: number | null = null;
    const deadline = Date.now() + (opts.registerTimeoutMs ?? 30_000);
    while (!first.ok && (first.status === null || first.status >= 500) && Date.now() < deadline) {
      delay = nextBackoff(delay, 250, 5000);
      log.warn({ error: first.message, retryInMs: delay }, "cannot reach the server to register");
      await new Promise((r) => setTimeout(r, delay ?? 0));
      first = await session.register();
    }
  }
  const identity = session.identity;
  if (!first.ok) {
    const unauthorized = first.status === 401 || first.status === 403;
    // 409: the name is another host's (this data dir holds no token of it); 401 may be either token.
    const taken = first.status === 409 || first.code === ErrorCodes.Conflict;
    if (unauthorized || taken || !identity) {
      await closeAll();
      throw new TiffinError(
        unauthorized ? ErrorCodes.Unauthorized : taken ? ErrorCodes.Conflict : ErrorCodes.Unavailable,
        `agent ${opts.name}: registering with ${client.baseUrl} failed: ${first.message}`,
        {
          hint: taken || first.message.includes("host token")
            ? `the name ${opts.name} is registered to a host whose token is not in ${path.join(dataDir, "agent.json")}; if this machine replaces it, remove the old record with \`tiffin hosts remove ${opts.name}\` (once it is down), else pick another --name`
            : unauthorized
              ? "check the join token (DIR/join.token on the server)"
              : "check that the server is running and its URL is right",
        },
      );
    }
    log.warn({ error: first.message, hostId: identity.hostId }, "server unreachable; running with the saved identity and retrying");
  }
  const hostId = identity!.hostId;
  session.start();
  void swarm.start();

  let closed = false;
  // The stream follows the server calls go to: a server cut off from the store keeps a stream open
  // but silent, while its failing heartbeats move the agent on.
  client.onSwitch?.((url) => {
    log.warn({ server: url }, "moved to another server");
    watch?.restart();
    services.restart();
  });
  watch = watchSse({
    url: () => client.assignmentsUrl(),
    headers: () => ({ authorization: `Bearer ${session.identity?.hostToken ?? ""}` }),
    fetch: serverFetch,
    onOpen: () => {
      session.contact();
      log.info("watching assignments");
    },
    onEvent: (ev) => {
      session.contact();
      if (ev.event !== "assignments") return;
      let data: unknown;
      try {
        data = JSON.parse(ev.data);
      } catch (err) {
        return log.error({ err: String(err) }, "assignments event is not JSON");
      }
      // The event is the full desired set: reconciling with part of it would stop the rest, so a set
      // with any entry this agent cannot read is not acted on at all (the previous one stays).
      const checked = checkAnswer(assignmentsSchema, data);
      if (!checked.ok) return log.error({ problem: checked.problem }, "assignments event ignored: not what this agent expects (is the server another version?)");
      const desired: Assignment[] = checked.value;
      log.debug({ count: desired.length }, "assignments");
      services.update(desired);
      manager.reconcile(desired);
    },
    onError: (e) => {
      if (closed) return;
      log.warn({ status: e.status, error: e.message, retryInMs: e.retryInMs }, "assignments watch interrupted");
      if (e.status === 401) session.wake(true);
      else if (e.status === null || e.status >= 500) client.skip?.(e.url);
    },
  });

  // The disconnect policy: checked often, since the deadline moves with every contact.
  const disconnectTimer = setInterval(() => manager.checkDisconnect(session.lastContact), 250);
  const cleanup = () => manager.cleanup().catch((err: unknown) => log.warn({ err: String(err) }, "cleaning attempt directories failed"));
  void cleanup();
  const cleanupTimer = setInterval(() => void cleanup(), 60_000);
  // First pass after one interval (or after a fetch): by then helpers are adopted and assignments known.
  const stateGc = new StateGc({ dataDir, keepMs: opts.stateKeepMs ?? 86_400_000, inUse: () => manager.tasksInUse(), log });
  const gcTimer = setInterval(() => {
    packageGc.schedule(0);
    stateGc.run().catch((err: unknown) => log.warn({ err: String(err) }, "task state collection failed"));
  }, opts.packageGcEveryMs ?? 60_000);

  const close = async (mode: "stop-tasks" | "leave-tasks" | "upgrade", upgradeMs = 30_000): Promise<void> => {
    closed = true;
    tls?.close();
    session.stop();
    clearInterval(disconnectTimer);
    clearInterval(cleanupTimer);
    clearInterval(gcTimer);
    packageGc.close();
    watch?.close();
    log.info({ mode }, "agent closing");
    if (mode === "stop-tasks") {
      const allEnded = await manager.stopAll("agent stopping", manager.maxGraceMs() + 2000);
      if (!allEnded) log.warn({ live: manager.live() }, "tasks still running after their grace period");
      if (!(await reporter.flush(5000))) log.warn({ pending: reporter.pending }, "final statuses not accepted by the server");
    } else if (mode === "upgrade") {
      const until = Date.now() + upgradeMs;
      await session.announceUpgrade(upgradeMs);
      manager.setAwayUntil(until);
      await reporter.flush(2000);
    } else {
      await reporter.flush(1000);
    }
    // The kernel rules outlive the agent for tasks left running; with none left they go.
    const tasksLeft = mode !== "stop-tasks" && manager.live().length > 0;
    await closeAll();
    if (!tasksLeft) await services.removeRules();
    log.info({ mode }, "agent closed");
  };
  let closing: Promise<void> | null = null;
  return { hostId, address, close: (mode, upgradeMs) => (closing ??= close(mode, upgradeMs)) };
}

/** The first parent of `dir` that other users may not pass through (no o+x), or null. */
function closedAncestor(dir: string): string | null {
  for (let d = path.dirname(dir); ; d = path.dirname(d)) {
    try {
      if ((fs.statSync(d).mode & 0o001) === 0) return d;
    } catch {
      return d;
    }
    if (d === path.dirname(d)) return null;
  }
}
