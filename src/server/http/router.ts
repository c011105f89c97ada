// A small router: method + path pattern (`/v1/jobs/:name`) to a handler, with the credential each
// route needs. Written here rather than taken from a framework: the API has fifteen routes, and
// node:http gives us direct control over streaming (SSE, log proxying) and body limits.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Principal } from "./principal.ts";

/** Which token a route accepts: the admin token, the join token, a host token, or none at all (the
 * health probes, which carry no data). */
export type AuthKind = "admin" | "join" | "host" | "none";

/** What a handler gets. `hostId` is set for host-token routes. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  url: URL;
  /** The namespace the call acts in (http/namespaces.ts; `*` for a listing of every readable one);
   * "default" for routes outside namespaces. Job names in `params` are already its ids. */
  namespace: string;
  hostId: string | null;
  /** The caller (absent for routes that need no token). */
  principal?: Principal;
  /** Says what the call did, for its audit entry (`created token ...`); never a secret. */
  note?: (detail: string) => void;
}

/** A route handler; it sends the response (or throws a TiffinError, which is sent for it). */
export type Handler = (c: RouteContext) => Promise<void>;

/** What an upgrade handler gets (`Connection: Upgrade` requests): the raw socket, no response object. */
export interface UpgradeContext {
  req: IncomingMessage;
  socket: Duplex;
  /** Bytes the client sent after the headers. */
  head: Buffer;
  params: Record<string, string>;
  url: URL;
  /** As RouteContext.namespace. */
  namespace: string;
  hostId: string | null;
  /** The caller (absent for routes that need no token). */
  principal?: Principal;
}

/** An upgrade handler; it answers on the socket and resolves with the status it answered (101 when it
 * switched), or throws a TiffinError, which is sent for it. */
export type UpgradeHandler = (c: UpgradeContext) => Promise<number>;

/** One registered route. */
export interface Route {
  method: string;
  /** The pattern, also the `route` label of request metrics. */
  pattern: string;
  auth: AuthKind;
  handler: Handler;
}

/** The outcome of matching a request. */
export type Match = { kind: "route"; route: Route; params: Record<string, string> } | { kind: "method"; allowed: string[] } | { kind: "none" };

/** Routes by pattern. */
export class Router {
  readonly #routes: { route: Route; parts: string[] }[] = [];
  readonly #upgrades: { method: string; pattern: string; auth: AuthKind; handler: UpgradeHandler; parts: string[] }[] = [];

  /** Registers the handler of upgrade requests (`Upgrade: <protocol>`) to `pattern`. */
  upgrade(method: string, pattern: string, auth: AuthKind, handler: UpgradeHandler): this {
    this.#upgrades.push({ method, pattern, auth, handler, parts: pattern.split("/").slice(1) });
    return this;
  }

  /** Finds the upgrade handler of a request path, or null. */
  matchUpgrade(method: string, path: string): { pattern: string; auth: AuthKind; handler: UpgradeHandler; params: Record<string, string> } | null {
    const segs = path.split("/").slice(1);
    for (const u of this.#upgrades) {
      const params = u.method === method ? matchParts(u.parts, segs) : null;
      if (params) return { pattern: u.pattern, auth: u.auth, handler: u.handler, params };
    }
    return null;
  }

  /** Registers a route. */
  add(method: string, pattern: string, auth: AuthKind, handler: Handler): this {
    this.#routes.push({ route: { method, pattern, auth, handler }, parts: pattern.split("/").slice(1) });
    return this;
  }

  /** Every registered route and upgrade, in registration order (the OpenAPI document lists them). */
  list(): { method: string; pattern: string; auth: AuthKind; upgrade: boolean }[] {
    return [
      ...this.#routes.map(({ route }) => ({ method: route.method, pattern: route.pattern, auth: route.auth, upgrade: false })),
      ...this.#upgrades.map((u) => ({ method: u.method, pattern: u.pattern, auth: u.auth, upgrade: true })),
    ];
  }

  /** Finds the route of a request path (already without the query). */
  match(method: string, path: string): Match {
    const segs = path.split("/").slice(1);
    const allowed: string[] = [];
    for (const { route, parts } of this.#routes) {
      const params = matchParts(parts, segs);
      if (!params) continue;
      if (route.method === method) return { kind: "route", route, params };
      allowed.push(route.method);
    }
    return allowed.length > 0 ? { kind: "method", allowed } : { kind: "none" };
  }
}

function matchParts(parts: string[], segs: string[]): Record<string, string> | null {
  if (parts.length !== segs.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i] ?? "";
    const s = segs[i] ?? "";
    if (p.startsWith(":")) {
      if (s === "") return null;
      try {
        params[p.slice(1)] = decodeURIComponent(s);
      } catch {
        return null;
      }
    } else if (p !== s) return null;
  }
  return params;
}
