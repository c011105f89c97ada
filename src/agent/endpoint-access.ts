// Who may call what on the agent's endpoint under TLS (issue 17, mTLS). The endpoint asks for a
// client certificate at the handshake and this table decides per request, beside the bearer checks
// that stay (host token for logs, exec and /metrics; peer token for pieces):
//   logs, exec, exec sessions: a server's certificate only (O=tiffin server): the server authorizes
//     the user and audits; a host certificate (another agent, or a stolen one) is refused (403).
//   pieces: a peer's host certificate (O=tiffin host) or a server's.
//   /metrics: no certificate needed (a Prometheus that pins the CA scrapes it with the host token).
// Without TLS (a plain-HTTP cluster, `tiffin dev`) the bearer checks alone decide.

import { TLSSocket } from "node:tls";
import { ErrorCodes } from "../model/index.ts";
import type { ErrorCode } from "../model/index.ts";

/** What the TLS handshake proved of a caller: a server's certificate, a host's, or none verified. */
export type EndpointCaller = { kind: "server" } | { kind: "host"; hostId: string } | { kind: "none" };

/** The routes of the endpoint, as the access table knows them. */
export type EndpointRoute = "logs" | "exec" | "pieces" | "metrics";

/** A refusal of the access table. */
export interface EndpointRefusal {
  status: 401 | 403;
  code: ErrorCode;
  message: string;
  hint: string;
}

/** The route of a request, or null (404 later). Pure. */
export function endpointRouteOf(method: string, pathname: string): EndpointRoute | null {
  if (method === "GET" && /^\/v1\/pieces\/[0-9a-f]{64}$/.test(pathname)) return "pieces";
  if (method === "GET" && /^\/v1\/logs\/[A-Za-z0-9._-]+$/.test(pathname)) return "logs";
  if (method === "POST" && /^\/v1\/exec\/[A-Za-z0-9._-]+$/.test(pathname)) return "exec";
  if (method === "GET" && pathname === "/metrics") return "metrics";
  return null;
}

/** Whether `caller` may call `route` (null: yes), the endpoint speaking TLS or not. Pure. */
export function endpointAccess(tls: boolean, route: EndpointRoute, caller: EndpointCaller): EndpointRefusal | null {
  if (!tls || route === "metrics") return null;
  if (route === "pieces") {
    return caller.kind === "none" ? { status: 401, code: ErrorCodes.Unauthorized, message: "pieces: no client certificate of the cluster CA was presented", hint: "peers fetch pieces with their host certificate (the agent's DIR/host.crt)" } : null;
  }
  if (caller.kind === "server") return null;
  if (caller.kind === "host") {
    return { status: 403, code: ErrorCodes.Forbidden, message: `${route}: the certificate of host ${caller.hostId} may not ${route === "logs" ? "read logs" : "run exec"} on this agent`, hint: "only a Tiffin server calls logs and exec here: use `tiffin logs` / `tiffin exec` through the server" };
  }
  return { status: 401, code: ErrorCodes.Unauthorized, message: `${route}: no client certificate of a Tiffin server was presented`, hint: "only a Tiffin server (with its certificate from the cluster CA) calls logs and exec here" };
}

/** The caller the TLS handshake of `socket` verified against the cluster CA, checked now (a
 * kept-alive connection outlives certificates). Not TLS, or not verified: none. */
export function endpointCallerOf(socket: unknown, now: number): EndpointCaller {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return { kind: "none" };
  const cert = socket.getPeerCertificate();
  if (!(Date.parse(cert.valid_to) > now)) return { kind: "none" };
  // The CA forces these subjects: a host's request never chooses its own (ca.ts signHostCsr).
  const org = cert.subject?.O;
  const cn = cert.subject?.CN;
  if (org === "tiffin server") return { kind: "server" };
  if (org === "tiffin host" && typeof cn === "string" && cn !== "") return { kind: "host", hostId: cn };
  return { kind: "none" };
}
