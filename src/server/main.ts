// `tiffin server`: the control plane. Opens the store (SQLite at DIR/state.db unless one is given),
// mirrors it in memory, serves the HTTP API and runs the reconcilers. See README.md.

import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { pino } from "pino";
import type { Logger } from "pino";
import { ErrorCodes, systemClock, TiffinError } from "../model/index.ts";
import type { Clock } from "../model/index.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import type { Store } from "../state/store.ts";
import { AssignmentHub } from "./assignments.ts";
import type { ServerContext } from "./context.ts";
import { dispatch } from "./http/dispatch.ts";
import { Router } from "./http/router.ts";
import { DefaultTiming, Liveness } from "./liveness.ts";
import type { Timing } from "./liveness.ts";
import { createMetrics } from "./metrics.ts";
import { Mirror } from "./mirror.ts";
import { Reconciler } from "./reconcile/loop.ts";
import { agentRoutes } from "./routes/agent.ts";
import { hostRoutes } from "./routes/hosts.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { streamRoutes } from "./routes/streams.ts";
import { loadOrCreateToken } from "./tokens.ts";
import { taskStates } from "./views.ts";

export { openStore } from "./open-store.ts";
export type { StoreSpec } from "./open-store.ts";

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
}

/** A running server. */
export interface ServerHandle {
  /** `http://host:port`. */
  url: string;
  adminToken: string;
  joinToken: string;
  /** Stops serving, ends the streams and the loops, closes the store it opened. */
  close(): Promise<void>;
}

/** Starts the control plane. Resolves once it listens. */
export async function startServer(opts: ServerOptions): Promise<ServerHandle> {
  const clock = opts.clock ?? systemClock;
  const timing: Timing = { ...DefaultTiming, ...opts.timing };
  const log = typeof opts.log === "object" ? opts.log : pino({ level: opts.log ?? "info", base: { component: "server" } }, pino.destination(2));
  mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const tokens = { admin: loadOrCreateToken(opts.dataDir, "admin.token"), join: loadOrCreateToken(opts.dataDir, "join.token") };
  const store = opts.store ?? openSqliteStore(join(opts.dataDir, "state.db"), { clock });
  const ownStore = opts.store === undefined;

  let mirror: Mirror;
  try {
    mirror = await Mirror.load(store, log);
  } catch (err) {
    if (ownStore) await store.close();
    throw err;
  }
  const liveness = new Liveness({ store, mirror, clock, timing, log });
  const metrics = createMetrics({
    hostStatuses: () => [...mirror.hosts.keys()].map((id) => liveness.status(id)),
    taskStates: () => taskStates(mirror),
  });
  const reconciler = new Reconciler({ store, mirror, liveness, clock, fenceMs: timing.fenceMs, metrics, log });
  const hub = new AssignmentHub(mirror);
  const ctx: ServerContext = { store, mirror, liveness, reconciler, hub, clock, timing, metrics, log, dataDir: opts.dataDir, streams: new Set() };

  const router = new Router();
  jobRoutes(router, ctx);
  hostRoutes(router, ctx);
  agentRoutes(router, ctx);
  streamRoutes(router, ctx);
  router.add("GET", "/metrics", "admin", async ({ res }) => {
    const text = await metrics.registry.metrics();
    res.writeHead(200, { "content-type": metrics.registry.contentType });
    res.end(text);
  });

  const server = createServer((req, res) => void dispatch(ctx, router, tokens, req, res));
  server.keepAliveTimeout = 65_000;
  const { host, port } = parseListen(opts.listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  }).catch(async (err: unknown) => {
    hub.close();
    mirror.close();
    if (ownStore) await store.close();
    throw err;
  });
  reconciler.start();
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === "IPv6" ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url, dataDir: opts.dataDir }, "server listening");

  let closing: Promise<void> | null = null;
  return {
    url,
    adminToken: tokens.admin,
    joinToken: tokens.join,
    close() {
      closing ??= (async () => {
        await reconciler.stop();
        for (const s of [...ctx.streams]) s.close();
        hub.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        mirror.close();
        if (ownStore) await store.close();
        log.info({ url }, "server stopped");
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
