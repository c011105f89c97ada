// `tiffin server`: the control plane. Opens the store (SQLite at DIR/state.db unless one is given),
// mirrors it in memory, serves the HTTP API and, while it leads (leader.ts), runs the reconcilers.
// Several servers may share one store (etcd): all serve the API, one leads. See README.md.

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import { createServer } from "node:http";
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { AddressInfo } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import type { Logger } from "pino";
import { ensurePrivateDir, ErrorCodes, systemClock, TiffinError } from "../model/index.ts";
import type { Clock, RecommendPolicy } from "../model/index.ts";
import { httpServerOptions } from "../model/http-timeouts.ts";
import type { HttpTimeouts } from "../model/http-timeouts.ts";
import { openSqliteStore, SqliteStore } from "../state/sqlite.ts";
import type { Store } from "../state/store.ts";
import { AssignmentHub } from "./assignments.ts";
import type { ServerContext } from "./context.ts";
import { dispatch, dispatchUpgrade } from "./http/dispatch.ts";
import { sendMaybeGzipped } from "./http/gzip.ts";
import { fencedStore, LeaderElection } from "./leader.ts";
import { Router } from "./http/router.ts";
import { DefaultTiming, Liveness } from "./liveness.ts";
import type { Timing } from "./liveness.ts";
import { createMetrics } from "./metrics.ts";
import { Mirror } from "./mirror.ts";
import { ContactRelay } from "./peers.ts";
import { LeaderRelay } from "./metrics-relay.ts";
import { Reconciler } from "./reconcile/loop.ts";
import { EndpointController } from "./endpoints/controller.ts";
import { DrainReporter } from "./drain-report.ts";
import { ApprovalAsker } from "./approvals.ts";
import { maintenanceRoutes } from "./routes/maintenance.ts";
import { agentRoutes } from "./routes/agent.ts";
import { taskMetricsRoutes } from "./routes/task-metrics.ts";
import { CustomCheckRunner } from "./rollout-checks/runner.ts";
import { taskExec } from "./rollout-checks/task-exec.ts";
import { RolloutSamples } from "./rollout-samples.ts";
import { TaskMetricsHistory } from "./task-metrics-history.ts";
import { clusterRoutes } from "./routes/cluster.ts";
import { healthRoutes } from "./routes/health.ts";
import { hostRoutes } from "./routes/hosts.ts";
import { hostRemoveRoute } from "./routes/host-remove.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { restartRoutes } from "./routes/restart.ts";
import { rolloutRoutes } from "./routes/rollouts.ts";
import { runRoutes } from "./routes/runs.ts";
import { packageRoutes } from "./routes/packages.ts";
import { trackerRoutes } from "./routes/tracker.ts";
import { execRoutes } from "./routes/exec.ts";
import { execSessionRoutes } from "./routes/exec-session.ts";
import { tokenRoutes } from "./routes/api-tokens.ts";
import { secretRoutes } from "./routes/secrets.ts";
import { SecretBox } from "./secrets/box.ts";
import { loadSecretsKey } from "./secrets/key-file.ts";
import { UsageHistory } from "./usage-history.ts";
import { Adapter } from "./recommend/adapter.ts";
import { ScheduleController } from "./schedules.ts";
import { DefaultRecommendPolicy } from "./recommend/recommend.ts";
import { recommendRoutes } from "./routes/recommend.ts";
import { startAuditPruning } from "./audit-prune.ts";
import type { AuditRetention } from "./audit-prune.ts";
import { streamRoutes } from "./routes/streams.ts";
import { watchRoutes } from "./routes/watch.ts";
import { serviceRoutes } from "./routes/services.ts";
import { mirrorLookup, startDns } from "./dns/server.ts";
import type { DnsHandle } from "./dns/server.ts";
import { openApiRoute } from "./routes/openapi.ts";
import type { RegisteredRoute } from "./openapi/document.ts";
import { serverIdOf, shareToken } from "./tokens.ts";
import { agentCertRoutes } from "./routes/agent-cert.ts";
import { caRoutes } from "./routes/ca.ts";
import { createTlsListener } from "./http/tls-listener.ts";
import { setupTls } from "./tls/setup.ts";
import { AgentDial } from "./agent-dial.ts";
import type { TlsOptions, TlsSetup } from "./tls/setup.ts";
import { taskStates } from "./views.ts";
import { NoRemediation } from "./remediation/config.ts";
import type { RemediationConfig } from "./remediation/config.ts";
import { RemediationController } from "./remediation/controller.ts";
import { ChecksCache } from "./remediation/checks-store.ts";
import { remediationRoutes } from "./routes/remediations.ts";

export { openStore } from "./open-store.ts";
export type { StoreSpec } from "./open-store.ts";
export { migrateState } from "./migrate.ts";
export { loadRemediationConfig } from "./remediation/config.ts";
export type { MigrateResult } from "./migrate.ts";

/** Options of `startServer`. */
export interface ServerOptions {
  /** Holds admin.token, join.token and (by default) state.db. Created if missing. */
  dataDir: string;
  /** `host:port` to listen on; port 0 picks a free one (see `ServerHandle.url`). */
  listen: string;
  /** The state store. @default SQLite at DIR/state.db (closed by `close()`; a given store is not) */
  store?: Store;
  /** @default systemClock */
  clock?: Clock;
  /** Liveness timing. @default DefaultTiming (heartbeat 1 s, suspect 3 s, down 5 s, fence 3 s) */
  timing?: Partial<Timing>;
  /** A pino logger, or the level of the default one (JSON to stderr). @default "info" */
  log?: Logger | string;
  /** The URL other servers (and users following a leader) reach this one at.
   * @default the listen address (this machine's host name when listening on every interface) */
  advertise?: string;
  /** Lease TTL of leadership: how long a dead leader blocks the loops. @default 3000 */
  leaderTtlMs?: number;
  /** How long and how many `tiffin exec` audit entries are kept. @default 90 days, 100,000 entries */
  auditRetention?: AuditRetention;
  /** The swarm tracker: how often agents announce in full (@default 30000), how often the leader
   * rotates the peer token (@default 24 h), and, on a follower, how long a call passed on to the
   * leader may take (@default 5000) and how long a leader that did not answer is not called again
   * (@default 5000). */
  swarm?: { announceMs?: number; peerTokenRotateMs?: number; forwardTimeoutMs?: number; forwardRetryMs?: number };
  /** Task metric series (task-metrics-history.ts): how long points are kept (@default 24 h, `--metrics-keep`),
   * one point a task per `bucketMs` (@default 60000), closed blocks of `blockMs` written to the store (@default 600000). */
  taskMetrics?: { keepMs?: number; bucketMs?: number; blockMs?: number; fullMs?: number };
  /** `GET /v1/watch` (routes/watch.ts): how often a quiet watch gets a bookmark (@default 5000); a
   * watcher with more than `maxBufferedBytes` unsent (@default 16 MiB) that took none of it in
   * `stallMs` (@default 10000) is cut off. */
  watch?: { bookmarkMs?: number; maxBufferedBytes?: number; stallMs?: number };
  /** The usage history: one sample per task per `bucketMs`. @default 60000 (tests shorten it) */
  usageBucketMs?: number;
  /** Bucket of the per-task metric series (one point per task per bucket; the rollout judge's samples). Tests shorten it. @default 60000 */
  taskMetricsBucketMs?: number;
  /** The recommender (`GET /v1/jobs/:name/recommendation`): its policy (@default DefaultRecommendPolicy;
   * the window is at most the history's 24 h) and how often jobs with `resources.adapt` are looked at
   * (`adaptCheckMs`, @default 300000). */
  recommend?: Partial<RecommendPolicy> & { adaptCheckMs?: number };
  /** `host:port` to answer DNS on, UDP and TCP (`NAME.service.tiffin`, dns/answer.ts); port 0 picks
   * one (see `ServerHandle.dns`). @default no DNS */
  dnsListen?: string;
  /** Remediation rules and budget (`--remediation FILE`, remediation/config.ts). @default none: checks are shown, nothing is remediated */
  remediation?: RemediationConfig;
  /** How often the leader looks at batch jobs' schedules (schedules.ts). @default 1000 */
  scheduleTickMs?: number;
  /** HTTPS with the cluster CA (tls/setup.ts). @default on unless listening on loopback only */
  tls?: TlsOptions;
  /** The file of the key secrets are sealed with (secrets/key-file.ts), created 0600 when absent.
   * Servers sharing a store must share it. @default DIR/secrets.key */
  secretsKeyFile?: string;
  /** Slow clients (slowloris) are cut: see `HttpTimeouts` (@default DefaultHttpTimeouts). */
  httpTimeouts?: Partial<HttpTimeouts>;
}

/** A running server. */
export interface ServerHandle {
  /** `http://host:port`, or `https://` with TLS. */
  url: string;
  /** The cluster CA's hash (`sha256:<hex>`, for `--ca-hash`) and certificate (PEM), or null without TLS. */
  ca: { hash: string; certPem: string } | null;
  adminToken: string;
  joinToken: string;
  /** This server's id (DIR/server.id). */
  id: string;
  /** True while this server leads (runs the reconcilers). */
  isLeader(): boolean;
  /** Stops serving, ends the streams and the loops, closes the store it opened. */
  close(): Promise<void>;
  /** Every route the server registered (what GET /v1/openapi.json describes). */
  routes(): RegisteredRoute[];
  /** `host:port` DNS answers on (UDP and TCP), or null without `dnsListen`. */
  dns: string | null;
}

/** Starts the control plane. Resolves once it listens. */
export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const clock = opts.clock ?? systemClock;
  const timing: Timing = { ...DefaultTiming, ...opts.timing };
  const log = typeof opts.log === "object" ? opts.log : pino({ level: opts.log ?? "info", base: { component: "server" } }, pino.destination(2));
  // state.db holds the tokens: the data dir is the server's alone (a pre-made 0755 one is narrowed).
  const narrowed = ensurePrivateDir(fs, opts.dataDir, process.geteuid?.() ?? 0).narrowedFrom;
  if (narrowed !== null) log.warn({ dataDir: opts.dataDir, was: narrowed.toString(8), now: "700" }, "data directory let other users in: narrowed to 0700");
  const id = serverIdOf(opts.dataDir);
  const secretsKeyFile = opts.secretsKeyFile ?? join(opts.dataDir, "secrets.key");
  const secretsKey = loadSecretsKey(secretsKeyFile);
  if (secretsKey.narrowedFrom !== null) log.warn({ file: secretsKeyFile, was: secretsKey.narrowedFrom.toString(8), now: "600" }, "secrets key file let other users read it: narrowed to 0600");
  if (secretsKey.created) log.info({ file: secretsKeyFile }, "created the secrets key: other servers of this cluster need a copy of it");
  const store = opts.store ?? openSqliteStore(join(opts.dataDir, "state.db"), { clock });
  const ownStore = opts.store === undefined;

  let mirror: Mirror;
  let tokens: { admin: string; join: string };
  let tls: TlsSetup | null;
  try {
    // Shared through the store, so every server takes the same tokens (the first one's).
    tokens = { admin: await shareToken(store, opts.dataDir, "admin.token"), join: await shareToken(store, opts.dataDir, "join.token") };
    mirror = await Mirror.load(store, log);
    tls = await setupTls({ store, dataDir: opts.dataDir, listenHost: parseListen(opts.listen).host, advertise: opts.advertise, now: clock.now(), tls: opts.tls, log });
  } catch (err) {
    if (ownStore) await store.close();
    throw err;
  }
  let url = "";
  const incarnation = randomBytes(6).toString("hex");
  const election = new LeaderElection({ store, id, incarnation, url: () => url, clock, log, ...(opts.leaderTtlMs ? { ttlMs: opts.leaderTtlMs } : {}) });
  const liveness = new Liveness({ store, mirror, clock, timing, log });
  // A command check runs in one of the phase's new tasks through the exec path (audited like `tiffin
  // exec`), which needs the server's context, made below.
  let execCtx: ServerContext | null = null;
  const customChecks = new CustomCheckRunner({ exec: taskExec(() => execCtx) });
  // Named metric readings and CPU seconds the judge compares (counters, gauges, histograms, efficiency).
  const rolloutSamples = new RolloutSamples();
  const taskMetrics = new TaskMetricsHistory({ clock, store, log, writer: `${id}.${incarnation}`, rollupActive: () => election.isLeader(), ...(opts.taskMetricsBucketMs ? { bucketMs: opts.taskMetricsBucketMs } : {}), ...opts.taskMetrics });
  const metrics = createMetrics({
    taskMetrics: function* () {
      // Only the current attempt's: a removed job's or a replaced attempt's last figures would linger 24 h.
      for (const t of taskMetrics.all()) {
        if (mirror.tasks.get(t.job)?.get(t.index)?.value.attemptId !== t.metrics.attemptId) continue;
        yield { ...t, host: mirror.hosts.get(t.hostId)?.value.name ?? t.hostId };
      }
    },
    hostStatuses: () => [...mirror.hosts.keys()].map((id) => liveness.status(id)),
    taskStates: () => taskStates(mirror),
    isLeader: () => election.isLeader(),
  });
  // The loops write only while leading, and every write is fenced to the leadership term.
  const loopStore = fencedStore(store, election, (result) => metrics.leaderTxns.inc({ result }));
  // SQLite takes big transactions (group commit rewrites each touched page once); etcd caps ops per txn.
  // TIFFIN_RECONCILE_BATCH_OPS: a tuning knob for benchmarks (bench/c1m.ts), not a user setting.
  const knob = Number(process.env["TIFFIN_RECONCILE_BATCH_OPS"] ?? "");
  const batchOps = knob > 0 ? knob : store instanceof SqliteStore ? 6_000 : undefined;
  // The reconciler is made just below; the asker's answers wake it.
  const approvalsBox: { reconciler: Reconciler | null } = { reconciler: null };
  const approvals = new ApprovalAsker({ mirror, liveness, clock, log, fenceMs: timing.fenceMs, active: () => election.isLeader(), onAnswer: () => approvalsBox.reconciler?.trigger() });
  // The rollout judge's named readings live in the leader's memory: held from when this server began leading.
  let samplesSince = Number.POSITIVE_INFINITY;
  const reconciler = new Reconciler({ store: loopStore, mirror, liveness, clock, fenceMs: timing.fenceMs, metrics, log, active: () => election.isLeader(), approvals: (job) => approvals.of(job), ...(batchOps ? { batchOps } : {}), judge: { seriesOf: (job, index) => taskMetrics.seriesOf(job, index), customOf: (key, checks, task) => customChecks.verdictsOf(key, checks, task), namedOf: (job, index, name) => rolloutSamples.namedOf(job, index, name), cpuOf: (job, index) => rolloutSamples.cpuOf(job, index), samplesSince: () => samplesSince } });
  const endpoints = new EndpointController({ store: loopStore, mirror, clock, log, hostStatus: (hostId) => liveness.status(hostId), active: () => election.isLeader(),
    statusChangesAt: (hostId, now) => liveness.statusChangesAt(hostId, now), revivals: () => liveness.revivals() });
  const remediationConfig = opts.remediation ?? NoRemediation;
  const hostChecks = new ChecksCache(store, mirror, log);
  const remediation = new RemediationController({ store: loopStore, mirror, clock, log, config: remediationConfig, checks: hostChecks, hostStatus: (hostId) => liveness.status(hostId), active: () => election.isLeader(), registry: metrics.registry });
  approvalsBox.reconciler = reconciler;
  const drains = new DrainReporter({ store: loopStore, mirror, liveness, clock, log, fenceMs: timing.fenceMs, active: () => election.isLeader(), approvals: (job) => approvals.of(job) });
  const secretBox = new SecretBox(secretsKey.key, secretsKeyFile);
  const hub = new AssignmentHub(mirror, (name) => {
    const rec = mirror.secretValues.get(name)?.value;
    if (!rec) return null;
    try {
      return secretBox.open(rec).toString("base64");
    } catch (err) {
      log.error({ secret: name, err: (err as Error).message }, "cannot open a secret for an assignment");
      return null;
    }
  });
  const cluster = { id, url: "", election };
  const { adaptCheckMs, ...policyOpts } = opts.recommend ?? {};
  const recommendPolicy: RecommendPolicy = { ...DefaultRecommendPolicy, ...policyOpts };
  recommendPolicy.windowMs = Math.min(recommendPolicy.windowMs, DefaultRecommendPolicy.windowMs);
  const usage = new UsageHistory({ store, clock, log, ...(opts.usageBucketMs ? { bucketMs: opts.usageBucketMs } : {}), knownTasks: () => [...mirror.tasks].flatMap(([job, byIndex]) => [...byIndex.keys()].map((index) => ({ job, index }))) });
  const ctx: ServerContext = { store, mirror, liveness, reconciler, hub, clock, timing, metrics, log, dataDir: opts.dataDir, streams: new Set(), cluster, taskMetrics, usage, recommendPolicy, tlsOn: tls !== null, secrets: secretBox, ...(tls !== null ? { ca: tls.live } : {}) };
  // Calls to agents follow the CA set: a rotation changes the trust and, at its finish, this server's certificate.
  ctx.agentDial = new AgentDial(tls === null ? null : () => ({ ca: tls.live.serverTls.caPem, cert: tls.live.serverTls.certPem, key: tls.live.serverTls.keyPem }));
  execCtx = ctx;
  const adapter = new Adapter(ctx, { policy: recommendPolicy, active: () => election.isLeader(), ...(adaptCheckMs ? { checkEveryMs: adaptCheckMs } : {}) });

  const router = new Router();
  jobRoutes(router, ctx);
  restartRoutes(router, ctx);
  rolloutRoutes(router, ctx);
  runRoutes(router, ctx);
  packageRoutes(router, ctx);
  const swarm = trackerRoutes(router, ctx, { adminToken: () => tokens.admin, ...opts.swarm });
  hostRoutes(router, ctx, hostChecks);
  hostRemoveRoute(router, ctx);
  maintenanceRoutes(router, ctx);
  agentRoutes(router, ctx);
  taskMetricsRoutes(router, ctx, taskMetrics, new LeaderRelay({ election, selfId: id, adminToken: () => tokens.admin }), rolloutSamples);
  recommendRoutes(router, ctx);
  streamRoutes(router, ctx);
  watchRoutes(router, ctx, opts.watch ?? {});
  serviceRoutes(router, ctx);
  execRoutes(router, ctx);
  execSessionRoutes(router, ctx);
  clusterRoutes(router, ctx);
  remediationRoutes(router, ctx, remediationConfig);
  healthRoutes(router, ctx);
  openApiRoute(router);
  tokenRoutes(router, ctx);
  secretRoutes(router, ctx);
  router.add("GET", "/metrics", "admin", async ({ req, res }) => {
    await sendMaybeGzipped(req, res, 200, metrics.registry.contentType, await metrics.registry.metrics());
  });

  agentCertRoutes(router, ctx, tls === null ? null : { live: tls.live, lifetimeMs: tls.hostCertLifetimeMs });
  caRoutes(router, ctx);
  const handler = (req: IncomingMessage, res: ServerResponse): void => void dispatch(ctx, router, tokens, req, res);
  // Slow clients (slowloris) are cut by the HTTP server's own timeouts, plain or TLS.
  const httpOpts = httpServerOptions(opts.httpTimeouts);
  // With TLS the listener is a plain net.Server in front of the HTTPS one (it refuses plain HTTP readably).
  const { listener, server } = tls === null ? ((h) => ({ listener: h, server: h }))(createServer(httpOpts, handler)) : ((l) => ({ listener: l.net, server: l.https }))(createTlsListener(tls.server, handler, httpOpts));
  // Upgraded sockets (exec sessions, refused upgrades) leave the server's books: closeAllConnections
  // would not end them, and close() would wait for them.
  const upgraded = new Set<Duplex>();
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    upgraded.add(socket);
    socket.once("close", () => upgraded.delete(socket));
    void dispatchUpgrade(ctx, router, tokens, req, socket, head);
  });
  server.keepAliveTimeout = 65_000;
  if (tls !== null && server instanceof https.Server) {
    tls.live.attach(server);
    tls.live.start();
  }
  const { host, port } = parseListen(opts.listen);
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(port, host, () => {
      listener.off("error", reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    hub.close();
    mirror.close();
    if (ownStore) await store.close();
    throw err;
  });
  const addr = listener.address() as AddressInfo;
  const scheme = tls === null ? "http" : "https";
  const listenUrl = `${scheme}://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
  url = opts.advertise?.replace(/\/+$/, "") ?? (addr.address === "0.0.0.0" || addr.address === "::" ? `${scheme}://${hostname()}:${addr.port}` : listenUrl);
  cluster.url = url;

  // Until elected, this server judges hosts by their leases only (liveness.ts).
  void liveness.setLeading(false);
  election.onChange((leading) => {
    if (leading) samplesSince = clock.now();
    void liveness.setLeading(leading).catch((err: unknown) => log.warn({ err }, "renewing host leases failed"));
    reconciler.trigger();
    endpoints.trigger();
  });
  const relay = new ContactRelay({ election, liveness, selfId: id, adminToken: () => tokens.admin, log, everyMs: Math.max(100, Math.min(500, Math.floor(timing.heartbeatMs / 2))) });
  try {
    await election.start();
  } catch (err) {
    swarm.close();
    await election.close();
    hub.close();
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    mirror.close();
    if (ownStore) await store.close();
    throw err;
  }
  let dns: DnsHandle | null = null;
  if (opts.dnsListen !== undefined) {
    try {
      dns = await startDns({ listen: parseListen(opts.dnsListen), lookup: mirrorLookup(mirror), stamp: () => mirror.endpointsStamp, log });
    } catch (err) {
      swarm.close();
      await election.close();
      hub.close();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      mirror.close();
      if (ownStore) await store.close();
      throw new TiffinError(ErrorCodes.Usage, `cannot answer DNS on ${opts.dnsListen}: ${(err as Error).message}`, { hint: "pick a free port with --dns-listen (e.g. 127.0.0.1:8600; port 53 needs root or CAP_NET_BIND_SERVICE)" });
    }
  }
  relay.start();
  reconciler.start();
  endpoints.start();
  remediation.start();
  drains.start();
  approvals.start();
  ctx.usage?.start();
  adapter.start();
  const schedules = new ScheduleController({ store, mirror, clock, log, active: () => election.isLeader(), ...(opts.scheduleTickMs ? { tickMs: opts.scheduleTickMs } : {}) });
  schedules.start();
  taskMetrics.start();
  const auditPruning = startAuditPruning({ store, clock, log, active: () => election.isLeader(), ...(opts.auditRetention ? { retention: opts.auditRetention } : {}) });
  log.info({ url: listenUrl, advertise: url, id, leader: election.isLeader(), dataDir: opts.dataDir }, "server listening");

  let closing: Promise<void> | null = null;
  return {
    url: listenUrl,
    ca: tls === null ? null : { hash: tls.ca.hash, certPem: tls.ca.certPem },
    adminToken: tokens.admin,
    joinToken: tokens.join,
    id,
    isLeader: () => election.isLeader(),
    routes: () => router.list(),
    dns: dns?.address ?? null,
    close() {
      closing ??= (async () => {
        relay.stop();
        tls?.live.stop();
        await dns?.close();
        swarm.close();
        auditPruning.stop();
        await adapter.close();
        await schedules.stop();
        await reconciler.stop();
        await endpoints.stop();
        await remediation.stop();
        await drains.stop();
        approvals.stop();
        // Resigning lets another server lead at once instead of after the lease TTL.
        await election.close();
        for (const s of [...ctx.streams]) s.close();
        ctx.agentDial?.close();
        hub.close();
        await new Promise<void>((resolve) => {
          listener.close(() => resolve());
          server.closeAllConnections();
          for (const s of upgraded) s.destroy();
        });
        await ctx.usage?.close().catch((err: unknown) => log.warn({ err }, "writing the last usage samples failed"));
        await taskMetrics.close().catch((err: unknown) => log.warn({ err }, "writing the last task metric points failed"));
        mirror.close();
        if (ownStore) await store.close();
        log.info({ url: listenUrl }, "server stopped");
      })();
      return closing;
    },
  };
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseListen(listen: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) throw new TiffinError(ErrorCodes.Usage, `listen address must be host:port, got "${listen}"`, { hint: "e.g. 127.0.0.1:7070, :7070 or [::1]:7070" });
  const host = m[1] ?? m[2];
  return { host: host === "" ? undefined : host, port: Number(m[3]) };
}
