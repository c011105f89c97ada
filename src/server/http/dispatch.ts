// One request, end to end: route, authenticate (every route, /metrics included, but the health probes
// and the dashboard's static files under /ui), run the handler,
// turn errors into ApiErrorBody, count the request by route and status.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import { UnmatchedRoute } from "../../model/http-metrics.ts";
import type { ServerContext } from "../context.ts";
import { tokenDigest } from "../mirror.ts";
import { bearerOf, sameSecret } from "../tokens.ts";
import { sendError, sendSocketError, statusOf } from "./io.ts";
import type { AuthKind, Router } from "./router.ts";
import { isUiPath, serveUi, UiPrefix } from "./ui-static.ts";

/** The tokens that guard the routes. */
export interface Tokens {
  admin: string;
  join: string;
}

const hints: Record<Exclude<AuthKind, "none">, string> = {
  admin: "send `Authorization: Bearer <token>` with the admin token from DATA_DIR/admin.token (the CLI reads TIFFIN_TOKEN)",
  join: "agents register with the join token from DATA_DIR/join.token",
  host: "use the hostToken that register returned; an agent whose token is refused should register again",
};

// Hints never point into source files: a user of an installed tiffin has none.
const endpointHint = "check the path; a client of another Tiffin release may call endpoints this server lacks (compare `tiffin version`)";

/** Checks the bearer token for a route; returns the host id for host routes. Throws UNAUTHORIZED. */
export function authenticate(ctx: ServerContext, tokens: Tokens, kind: AuthKind, header: string | undefined, what: string): string | null {
  if (kind === "none") return null;
  const token = bearerOf(header);
  if (token === null) throw new TiffinError(ErrorCodes.Unauthorized, `${what} needs a bearer token`, { hint: hints[kind] });
  const refused = (): TiffinError => new TiffinError(ErrorCodes.Unauthorized, `the token is not valid for ${what} (it needs the ${kind} token)`, { hint: hints[kind] });
  switch (kind) {
    case "admin":
      if (!sameSecret(token, tokens.admin)) throw refused();
      return null;
    case "join":
      if (!sameSecret(token, tokens.join)) throw refused();
      return null;
    case "host": {
      // A lookup by digest: the time taken does not depend on how much of a real token was guessed.
      const hostId = ctx.mirror.hostByTokenDigest.get(tokenDigest(token));
      if (hostId === undefined) throw refused();
      // The digest found the host; the token itself is still compared, in constant time.
      if (!sameSecret(token, ctx.mirror.hostTokens.get(hostId) ?? "")) throw refused();
      return hostId;
    }
  }
}

/** Handles one request. Never rejects. */
export async function dispatch(ctx: ServerContext, router: Router, tokens: Tokens, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://tiffin.invalid");
  const ui = isUiPath(url.pathname);
  const match = ui ? ({ kind: "none" } as const) : router.match(method, url.pathname);
  const route = ui ? UiPrefix : match.kind === "route" ? match.route.pattern : UnmatchedRoute;
  const t0 = process.hrtime.bigint();
  // "close" as well as "finish": a follow (logs -f, watch) the client ends is counted too.
  res.once("close", () => {
    ctx.metrics.requests.inc({ method, route, status: String(res.statusCode) });
    ctx.metrics.requestDuration.observe({ method, route, code: String(res.statusCode) }, Number(process.hrtime.bigint() - t0) / 1e9);
  });
  const what = `${method} ${url.pathname}`;
  try {
    // The dashboard's files carry no data: no token (the page sends one with each API call).
    if (ui) return await serveUi(req, res, url.pathname);
    const hostId = authenticate(ctx, tokens, match.kind === "route" ? match.route.auth : "admin", req.headers.authorization, what);
    if (match.kind === "none") throw new TiffinError(ErrorCodes.NotFound, `no such endpoint: ${what}`, { hint: endpointHint });
    if (match.kind === "method") {
      res.setHeader("allow", match.allowed.join(", "));
      sendError(res, new TiffinError(ErrorCodes.BadRequest, `${method} is not allowed on ${url.pathname}`, { hint: `use ${match.allowed.join(" or ")}` }), 405);
      return;
    }
    await match.route.handler({ req, res, params: match.params, url, hostId });
  } catch (err) {
    if (err instanceof TiffinError) {
      if (err.code !== ErrorCodes.NotFound) ctx.log.info({ method, path: url.pathname, code: err.code, msg: err.message }, "request refused");
      sendError(res, err);
      return;
    }
    ctx.log.error({ err, method, path: url.pathname }, "request failed");
    sendError(res, new TiffinError(ErrorCodes.Unavailable, `internal error while handling ${what}`, { hint: "this is a bug in the server; its log has the details" }), 500);
  }
}

/** Handles one upgrade request (`server.on("upgrade")`): route, authenticate, run. Never rejects. */
export async function dispatchUpgrade(ctx: ServerContext, router: Router, tokens: Tokens, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
  socket.on("error", () => undefined);
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://tiffin.invalid");
  const match = router.matchUpgrade(method, url.pathname);
  const route = match?.pattern ?? UnmatchedRoute;
  const t0 = process.hrtime.bigint();
  const what = `${method} ${url.pathname} (upgrade ${req.headers.upgrade ?? "?"})`;
  let status: number;
  try {
    const hostId = authenticate(ctx, tokens, match?.auth ?? "admin", req.headers.authorization, what);
    if (match === null) throw new TiffinError(ErrorCodes.NotFound, `no such upgrade endpoint: ${what}`, { hint: endpointHint });
    status = await match.handler({ req, socket, head, params: match.params, url, hostId });
  } catch (err) {
    const e = err instanceof TiffinError ? err : new TiffinError(ErrorCodes.Unavailable, `internal error while handling ${what}`, { hint: "this is a bug in the server; its log has the details" });
    if (!(err instanceof TiffinError)) ctx.log.error({ err, method, path: url.pathname }, "upgrade request failed");
    else if (err.code !== ErrorCodes.NotFound) ctx.log.info({ method, path: url.pathname, code: err.code, msg: err.message }, "request refused");
    status = err instanceof TiffinError ? statusOf(e.code) : 500;
    sendSocketError(socket, e, status);
  }
  ctx.metrics.requests.inc({ method, route, status: String(status) });
  ctx.metrics.requestDuration.observe({ method, route, code: String(status) }, Number(process.hrtime.bigint() - t0) / 1e9);
}
