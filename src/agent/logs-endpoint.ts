// The agent's logs endpoint: the server proxies users' log requests here, since the segments live on
// this host. Only the server knows the host token, so it is the only caller let in. Under TLS it
// speaks HTTPS with the host certificate and callers present theirs (endpoint-access.ts).
//   GET /v1/logs/:attemptId?stream=stdout|stderr&tail=N&follow=1&since=EPOCHMS&grep=REGEX   Authorization: Bearer <hostToken>
//   POST /v1/exec/:attemptId {command}                               (exec-endpoint.ts)
//   GET /v1/pieces/:sha256   Authorization: Bearer <peerToken>       (other agents; swarm/serve.ts)
//   POST /v1/exec/:attemptId?command=..., Upgrade: tiffin-exec.v1    (exec-session.ts: stdin, terminal)
//   GET /metrics   Authorization: Bearer <hostToken>                 (metrics/agent-metrics.ts)

import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { ApiErrorBody } from "../api/types.ts";
import { readLogs } from "../helper/logs.ts";
import { execPlan, runExec } from "./exec-endpoint.ts";
import { handleExecUpgrade } from "./exec-session.ts";
import { compileGrep, GrepBudgetExceeded, grepLines, LineMatcher, MaxGrepThreads } from "./log-filter.ts";
import { httpServerOptions } from "../model/http-timeouts.ts";
import { ErrorCodes, valueAt } from "../model/index.ts";
import type { ErrorCode } from "../model/index.ts";
import { bearerMatches } from "./bearer.ts";
import { endpointRoute } from "./metrics/agent-metrics.ts";
import { endpointAccess, endpointCallerOf, endpointRouteOf } from "./endpoint-access.ts";
import type { ServingTls } from "./tls.ts";
import type { AgentMetrics } from "./metrics/agent-metrics.ts";

/** What the endpoint needs from the agent. */
export interface LogsEndpointOptions {
  host: string;
  port: number;
  /** The host token now in force (null before the first registration: everything is refused). */
  token: () => string | null;
  /** Directory of an attempt (it may not exist). */
  attemptDir: (attemptId: string) => string;
  log: Logger;
  /** Serves package pieces to peers (swarm/peer.ts `handle`); false when the request is not one. */
  pieces?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  /** The agent's metrics: served on GET /metrics (host token), and each request's latency. @default none */
  metrics?: AgentMetrics;
  /** How long `--grep` may match one batch of lines (log-filter.ts). @default 2000 */
  grepBudgetMs?: number;
  /** HTTPS with the host certificate (issue 17): callers present a certificate of the cluster CA
   * (endpoint-access.ts says who may call what). @default plain HTTP */
  tls?: { serving(): ServingTls | null; onChange(cb: (t: ServingTls) => void): void };
}

/** A listening logs endpoint. */
export interface LogsEndpoint {
  port: number;
  close(): Promise<void>;
}

/** Starts the logs endpoint. */
export async function startLogsEndpoint(o: LogsEndpointOptions): Promise<LogsEndpoint> {
  // Slow clients are cut as by the server (a peer trickling a request holds no connection for minutes).
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const metrics = o.metrics;
    if (metrics) {
      const t0 = process.hrtime.bigint();
      const route = endpointRoute(req.method ?? "GET", new URL(req.url ?? "/", "http://agent").pathname);
      res.once("close", () => metrics.request(req.method ?? "GET", route, res.statusCode, Number(process.hrtime.bigint() - t0) / 1e9));
    }
    void handle(o, req, res);
  };
  // Under TLS a client certificate is asked for at the handshake and judged per request (endpoint-access.ts):
  // /metrics needs none. Before the first host certificate no handshake succeeds; each renewal swaps it in.
  const now = o.tls?.serving() ?? null;
  const server: http.Server = o.tls === undefined ? http.createServer(httpServerOptions(), handler) : https.createServer({ ...httpServerOptions(), requestCert: true, rejectUnauthorized: false, ...(now ?? {}) }, handler);
  if (o.tls !== undefined && server instanceof https.Server) {
    const tlsServer = server;
    o.tls.onChange((t) => tlsServer.setSecureContext({ ca: t.ca, cert: t.cert, key: t.key }));
  }
  const tls = o.tls !== undefined;
  // Upgraded sockets leave the server's books: closeAllConnections would not end them.
  const sessions = new Set<Duplex>();
  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    sessions.add(socket);
    socket.once("close", () => sessions.delete(socket));
    const refused = endpointAccess(tls, "exec", endpointCallerOf(req.socket, Date.now()));
    if (refused !== null) {
      const body = JSON.stringify({ error: { code: refused.code, message: refused.message, hint: refused.hint, problems: [] } } satisfies ApiErrorBody);
      socket.end(`HTTP/1.1 ${refused.status} ${refused.status === 401 ? "Unauthorized" : "Forbidden"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    const t0 = process.hrtime.bigint();
    // An exec session is timed to its end, as a followed log is.
    void handleExecUpgrade(o, req, socket, head).then((code) =>
      o.metrics?.request(req.method ?? "GET", endpointRoute(req.method ?? "GET", new URL(req.url ?? "/", "http://agent").pathname), code, Number(process.hrtime.bigint() - t0) / 1e9),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Followers would hold the server open for ever.
        server.closeAllConnections();
        for (const s of sessions) s.destroy();
      }),
  };
}

function fail(res: http.ServerResponse, status: number, code: ErrorCode, message: string, hint: string | null = null): void {
  const body: ApiErrorBody = { error: { code, message, hint, problems: [] } };
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function handle(o: LogsEndpointOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://agent");
  const route = endpointRouteOf(req.method ?? "GET", url.pathname);
  const refused = route === null ? null : endpointAccess(o.tls !== undefined, route, endpointCallerOf(req.socket, Date.now()));
  if (refused !== null) {
    req.resume();
    return fail(res, refused.status, refused.code, refused.message, refused.hint);
  }
  if (o.pieces?.(req, res)) return;
  if (req.method === "GET" && url.pathname === "/metrics" && o.metrics) return metrics(o, o.metrics, req, res);
  const ex = /^\/v1\/exec\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
  const m = /^\/v1\/logs\/([A-Za-z0-9._-]+)$/.exec(url.pathname);
  if (!(req.method === "GET" && m) && !(req.method === "POST" && ex)) return fail(res, 404, ErrorCodes.NotFound, `no such endpoint: ${req.method} ${url.pathname}`);
  const token = o.token();
  if (!bearerMatches(req.headers.authorization, token)) {
    req.resume();
    return fail(res, 401, ErrorCodes.Unauthorized, "agent endpoint: missing or wrong host token", "only the Tiffin server reads logs from agents and runs exec through them");
  }
  if (ex) return exec(o, ex[1]!, req, res);
  if (!m) return;
  const attemptId = m[1]!;
  const stream = url.searchParams.get("stream") ?? "stdout";
  if (stream !== "stdout" && stream !== "stderr") return fail(res, 400, ErrorCodes.BadRequest, `stream must be stdout or stderr, got ${JSON.stringify(stream)}`);
  const tailText = url.searchParams.get("tail");
  const tail = tailText === null ? null : Number(tailText);
  if (tail !== null && !(Number.isInteger(tail) && tail >= 0)) return fail(res, 400, ErrorCodes.BadRequest, `tail must be a whole number, got ${JSON.stringify(tailText)}`);
  const follow = url.searchParams.get("follow") === "1" || url.searchParams.get("follow") === "true";
  const sinceText = url.searchParams.get("since");
  const since = sinceText === null ? null : Number(sinceText);
  if (since !== null && !(Number.isSafeInteger(since) && since >= 0)) return fail(res, 400, ErrorCodes.BadRequest, `since must be epoch ms, got ${JSON.stringify(sinceText)}`);
  const grepText = url.searchParams.get("grep");
  const grep = grepText === null ? null : compileGrep(grepText);
  if (typeof grep === "string") return fail(res, 400, ErrorCodes.BadRequest, grep, "--grep takes a JavaScript regular expression");
  const dir = o.attemptDir(attemptId);
  if (attemptId === "." || attemptId === ".." || !fs.existsSync(path.join(dir, "attempt.json"))) {
    return fail(res, 404, ErrorCodes.NotFound, `attempt ${attemptId} is not on this host`, "its directory may have been cleaned up");
  }
  // Matching runs in its own thread, never on this one (log-filter.ts).
  const matcher = grepText === null ? null : LineMatcher.open(grepText, o.grepBudgetMs);
  if (grepText !== null && matcher === null) {
    return fail(res, 503, ErrorCodes.Unavailable, `logs --grep: ${MaxGrepThreads} greps already run on this host`, "retry when some have finished, or read without --grep");
  }
  const ac = new AbortController();
  res.on("close", () => ac.abort());
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "x-content-type-options": "nosniff" });
  res.flushHeaders();
  try {
    const raw = readLogs(dir, stream, { ...(tail !== null ? { tail } : {}), ...(since !== null ? { since } : {}), follow, signal: ac.signal });
    for await (const chunk of matcher === null ? raw : grepLines(raw, matcher)) {
      if (!res.write(chunk)) await new Promise<void>((r) => res.once("drain", r).once("close", r));
      if (ac.signal.aborted) break;
    }
  } catch (err) {
    if (err instanceof GrepBudgetExceeded) {
      o.log.info({ attemptId, stream, grep: grepText }, "logs --grep stopped at its time budget");
      res.write(`\n[tiffin: ${err.message}; ${err.hint}]\n`);
    } else if (!ac.signal.aborted) {
      o.log.warn({ attemptId, stream, err: err instanceof Error ? err.message : String(err) }, "reading logs failed");
      res.write(`\n[tiffin: reading logs failed: ${err instanceof Error ? err.message : String(err)}]\n`);
    }
  } finally {
    await matcher?.close();
  }
  res.end();
}

/** GET /metrics: Prometheus text, for the host token as every other call here. */
async function metrics(o: LogsEndpointOptions, m: AgentMetrics, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (!bearerMatches(req.headers.authorization, o.token())) {
    return fail(res, 401, ErrorCodes.Unauthorized, "agent /metrics: missing or wrong host token", "send the agent's host token (`hostToken` in the agent's DATA/agent.json) as a bearer token");
  }
  const text = await m.registry.metrics();
  res.writeHead(200, { "content-type": m.registry.contentType, "cache-control": "no-store" });
  res.end(text);
}

async function exec(o: LogsEndpointOptions, attemptId: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 1 << 20) return fail(res, 413, ErrorCodes.TooLarge, "exec: request body over 1 MiB");
    chunks.push(c);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch {
    return fail(res, 400, ErrorCodes.BadRequest, "exec: request body is not JSON");
  }
  if (attemptId === "." || attemptId === "..") return fail(res, 404, ErrorCodes.NotFound, `attempt ${attemptId} is not on this host`);
  const command = valueAt(body, ["command"]); // checked by execPlan
  const plan = execPlan(o.attemptDir(attemptId), command);
  if ("status" in plan) return fail(res, plan.status, plan.code, plan.message, plan.hint);
  o.log.info({ attemptId, command }, "exec");
  await runExec(plan, res, o.log);
}
