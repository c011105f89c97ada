// One request, end to end: route, authenticate (every route, /metrics included, but the health probes
// and the dashboard's static files under /ui), run the handler,
// turn errors into ApiErrorBody, count the request by route and status.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import type { PeerCertificate } from "node:tls";
import { DefaultNamespace, ErrorCodes, TiffinError } from "../../model/index.ts";
import { isNamespaced, namespaceOrRefusal, qualifyParams, resolveRule } from "./namespaces.ts";
import { UnmatchedRoute } from "../../model/http-metrics.ts";
import type { ServerContext } from "../context.ts";
import { writeCallAudit } from "./call-audit.ts";
import { sendError, sendSocketError, statusOf } from "./io.ts";
import { identify, isPrincipal } from "./principal.ts";
import type { BootstrapTokens, Principal } from "./principal.ts";
import { decide, ruleOf, UnmatchedRule } from "./route-rules.ts";
import type { RouteRule } from "./route-rules.ts";
import type { Router } from "./router.ts";
import { isUiPath, serveUi, UiPrefix } from "./ui-static.ts";

/** The tokens that guard the routes (the bootstrap ones; API and host tokens come from the mirror). */
export type Tokens = BootstrapTokens;

// Hints never point into source files: a user of an installed tiffin has none.
const endpointHint = "check the path; a client of another Tiffin release may call endpoints this server lacks (compare `tiffin version`)";

/** Identifies the caller and checks the route's rule: the caller (null for routes that need no
 * token), or throws UNAUTHORIZED (401: no, unknown, expired or revoked token) or FORBIDDEN (403). */
export function authenticate(ctx: ServerContext, tokens: Tokens, rule: RouteRule, header: string | undefined, what: string, seen?: (p: Principal) => void, tls: PeerCert = { certHost: null, pattern: null }): Principal | null {
  if (rule.who === "none") return null;
  const p = identify(ctx.mirror, tokens, header, ctx.clock.now(), tls.certHost);
  if (!isPrincipal(p)) throw new TiffinError(p.unavailable ? ErrorCodes.Unavailable : ErrorCodes.Unauthorized, `${what}: ${p.message}`, { hint: p.hint });
  seen?.(p);
  const refused = decide(rule, p, what);
  if (refused !== null) throw new TiffinError(refused.code, refused.message, { hint: refused.hint });
  // Under TLS a host token alone (stolen from a disk, say) is not enough: the host's key must sign the handshake.
  if (ctx.tlsOn === true && rule.who === "host" && p.viaCert !== true && tls.pattern !== CertBootstrapRoute) {
    throw new TiffinError(ErrorCodes.Forbidden, `${what} needs the host's client certificate: this server speaks mTLS, and a host token alone only gets a certificate`, { hint: "the agent gets one with POST /v1/agent/certificate after registering; restart the agent if it has none" });
  }
  return p;
}

/** The one host route a host token alone may call under TLS: getting the certificate. */
const CertBootstrapRoute = "/v1/agent/certificate";

/** What the TLS layer says of a request: the host id of its verified client certificate, and the route's pattern. */
export interface PeerCert {
  certHost: string | null;
  pattern: string | null;
}

/** The client certificate `socket` verified against the cluster CA and still valid and trusted, or null. */
function verifiedPeer(socket: unknown, now: number, trusted?: (raw: Buffer) => boolean): PeerCertificate | null {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  // Checked on every request, not only at the handshake: a kept-alive connection outlives certificates,
  // and the CA that signed it (a finished CA rotation drops the old one).
  if (!(Date.parse(cert.valid_to) > now)) return null;
  if (trusted !== undefined && !trusted(cert.raw)) return null;
  return cert;
}

/** The host id (CN) of the client certificate `socket` verified against the cluster CA, or null (no TLS, no or an unverified certificate). */
export function certHostOf(socket: unknown, now: number, trusted?: (raw: Buffer) => boolean): string | null {
  const cn = verifiedPeer(socket, now, trusted)?.subject?.CN;
  return typeof cn === "string" && cn !== "" ? cn : null;
}

/** Whether `socket` presented a verified, trusted server certificate of the cluster (ca.ts: O = "tiffin server"). */
export function serverCertOn(socket: unknown, now: number, trusted?: (raw: Buffer) => boolean): boolean {
  return verifiedPeer(socket, now, trusted)?.subject?.O === "tiffin server";
}

/** Servers' calls to each other (`/v1/internal/...`): under TLS they take a server's certificate as
 * well as the admin token, so servers verify each other, not only a token. */
const InternalPrefix = "/v1/internal/";

/** The per-request trust check of client certificates (the CA set of now), when the server has TLS. */
function trustedBy(ctx: ServerContext): ((raw: Buffer) => boolean) | undefined {
  const ca = ctx.ca;
  return ca ? (raw) => ca.issuedByTrusted(raw) : undefined;
}

/** Handles one request. Never rejects. */
export async function dispatch(ctx: ServerContext, router: Router, tokens: Tokens, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://tiffin.invalid");
  const ui = isUiPath(url.pathname);
  const match = ui ? ({ kind: "none" } as const) : router.match(method, url.pathname);
  const route = ui ? UiPrefix : match.kind === "route" ? match.route.pattern : UnmatchedRoute;
  const t0 = process.hrtime.bigint();
  const at = ctx.clock.now();
  const rule = match.kind === "route" ? ruleOf(method, match.route.pattern, false, match.route.auth) : UnmatchedRule;
  const audit = { caller: null as Principal | null, ran: false, error: null as string | null, detail: null as string | null };
  // "close" as well as "finish": a follow (logs -f, watch) the client ends is counted too.
  res.once("close", () => {
    ctx.metrics.requests.inc({ method, route, status: String(res.statusCode) });
    ctx.metrics.requestDuration.observe({ method, route, code: String(res.statusCode) }, Number(process.hrtime.bigint() - t0) / 1e9);
    const mode = rule.who === "user" || rule.who === "join" ? rule.audit : "none";
    if (audit.caller !== null && match.kind === "route" && (mode === "call" || (mode === "own" && !audit.ran))) {
      writeCallAudit(ctx, { at, by: audit.caller.actor, remote: req.socket.remoteAddress ?? null, method, route, path: url.pathname, status: res.statusCode, error: audit.error, detail: audit.detail });
    }
  });
  const what = `${method} ${url.pathname}`;
  try {
    // The dashboard's files carry no data: no token (the page sends one with each API call).
    if (ui) return await serveUi(req, res, url.pathname);
    // The namespace the call acts in: its rule's need on it, and its path's job names as ids.
    const scope = match.kind === "route" && isNamespaced(rule) ? namespaceOrRefusal(method, match.route.pattern, url, match.params) : null;
    const ns = typeof scope === "string" ? scope : null;
    const principal = authenticate(ctx, tokens, ns === null ? rule : resolveRule(rule, ns), req.headers.authorization, what, (p) => void (audit.caller = p), { certHost: certHostOf(req.socket, ctx.clock.now(), trustedBy(ctx)), pattern: match.kind === "route" ? match.route.pattern : null });
    // A bad namespace is said only to a known caller (strangers learn 401 first, as everywhere).
    if (scope instanceof TiffinError) throw scope;
    if (match.kind === "none") throw new TiffinError(ErrorCodes.NotFound, `no such endpoint: ${what}`, { hint: endpointHint });
    if (match.kind === "method") {
      res.setHeader("allow", match.allowed.join(", "));
      sendError(res, new TiffinError(ErrorCodes.BadRequest, `${method} is not allowed on ${url.pathname}`, { hint: `use ${match.allowed.join(" or ")}` }), 405);
      return;
    }
    if (ctx.tlsOn === true && match.route.pattern.startsWith(InternalPrefix) && !serverCertOn(req.socket, ctx.clock.now(), trustedBy(ctx))) {
      throw new TiffinError(ErrorCodes.Forbidden, `${what} is for servers: under TLS it takes a server's certificate of the cluster`, { hint: "servers call it themselves; nothing else needs it" });
    }
    audit.ran = true;
    const params = ns === null ? match.params : qualifyParams(match.params, ns, match.route.pattern);
    await match.route.handler({ req, res, params, url, namespace: ns ?? DefaultNamespace, hostId: principal?.hostId ?? null, ...(principal ? { principal } : {}), note: (d) => void (audit.detail = d.slice(0, 500)) });
  } catch (err) {
    audit.error = err instanceof TiffinError ? err.code : "internal";
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
  const at = ctx.clock.now();
  const rule = match ? ruleOf(method, match.pattern, true, match.auth) : UnmatchedRule;
  const seen = { caller: null as Principal | null };
  let status: number;
  try {
    const scope = match !== null && isNamespaced(rule) ? namespaceOrRefusal(method, match.pattern, url, match.params) : null;
    const ns = typeof scope === "string" ? scope : null;
    const principal = authenticate(ctx, tokens, ns === null ? rule : resolveRule(rule, ns), req.headers.authorization, what, (p) => void (seen.caller = p), { certHost: certHostOf(req.socket, ctx.clock.now(), trustedBy(ctx)), pattern: match?.pattern ?? null });
    if (scope instanceof TiffinError) throw scope;
    if (match === null) throw new TiffinError(ErrorCodes.NotFound, `no such upgrade endpoint: ${what}`, { hint: endpointHint });
    const params = ns === null ? match.params : qualifyParams(match.params, ns, match.pattern);
    status = await match.handler({ req, socket, head, params, url, namespace: ns ?? DefaultNamespace, hostId: principal?.hostId ?? null, ...(principal ? { principal } : {}) });
  } catch (err) {
    const e = err instanceof TiffinError ? err : new TiffinError(ErrorCodes.Unavailable, `internal error while handling ${what}`, { hint: "this is a bug in the server; its log has the details" });
    if (!(err instanceof TiffinError)) ctx.log.error({ err, method, path: url.pathname }, "upgrade request failed");
    else if (err.code !== ErrorCodes.NotFound) ctx.log.info({ method, path: url.pathname, code: err.code, msg: err.message }, "request refused");
    status = err instanceof TiffinError ? statusOf(e.code) : 500;
    sendSocketError(socket, e, status);
    // Refused before the route ran (an upgrade route audits what it runs itself).
    const mode = rule.who === "user" || rule.who === "join" ? rule.audit : "none";
    const who = seen.caller;
    if (who !== null && match !== null && mode !== "none") {
      writeCallAudit(ctx, { at, by: who.actor, remote: req.socket.remoteAddress ?? null, method, route, path: url.pathname, status, error: e.code, detail: "upgrade" });
    }
  }
  ctx.metrics.requests.inc({ method, route, status: String(status) });
  ctx.metrics.requestDuration.observe({ method, route, code: String(status) }, Number(process.hrtime.bigint() - t0) / 1e9);
}
