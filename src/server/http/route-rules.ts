// Who may call each route: ONE table, next to the router, keyed by method and pattern (upgrades
// apart). Every registered route must have a rule here: `route-rules.test.ts` enumerates
// Router.list() of a real server and fails on a route without one, and dispatch treats such a route
// as needing full admin (`*=admin`), so a forgotten rule locks users out rather than in.
//
// Namespaces (issue 17): a job route needs its capability on the request's namespace (`ns/<name>`,
// written `ns` below: http/namespaces.ts resolves it per request from `?namespace=` or the secrets'
// `:ns`), which the grants' patterns (`ns/*`, `ns/team-*`) match; a listing of every namespace
// (`namespace=*`) needs it on one of them and shows only the readable ones.

import { ErrorCodes, firstMissing, formatNeed } from "../../model/index.ts";
import type { AclCapability, Need } from "../../model/index.ts";
import { userHint } from "./principal.ts";
import type { Principal, Refusal } from "./principal.ts";
import type { AuthKind } from "./router.ts";

/**
 * How a route is audited: "call" (dispatch writes one entry when the call ends, with its outcome),
 * "own" (the route writes its own, richer entry, as exec does; dispatch writes one only when the call
 * was refused before the route ran) or "none" (reads, agents' traffic, servers' internal calls).
 */
export type AuditMode = "call" | "own" | "none";

/** Who may call a route: nobody in particular (probes), the join token, a host token, or a user
 * token (the admin token or a `tiffin token create` one) holding every capability of `needs`. */
export type RouteRule =
  | { who: "none" }
  | { who: "join"; audit: AuditMode }
  | { who: "host" }
  | { who: "user"; needs: Need[]; audit: AuditMode }
  /** Any identified token: a path no route has (404 or 405 once the caller is known). Never in the table. */
  | { who: "any" };

/** The resource a rule names for "the namespace of the request" (resolved per request by
 * http/namespaces.ts resolveRule; never matched as it stands: no grant may name braces). */
export const RequestNamespace = "ns/{request}";
const ns = RequestNamespace;

const user = (cap: AclCapability, on: string, audit: AuditMode): RouteRule => ({ who: "user", needs: [{ cap, on }], audit });
/** A read: no audit entry. */
const read = (cap: AclCapability, on: string): RouteRule => user(cap, on, "none");
/** A change: audited when it ends. */
const change = (cap: AclCapability, on: string): RouteRule => user(cap, on, "call");
const host: RouteRule = { who: "host" };

/** The table: `METHOD /pattern` (and `UPGRADE METHOD /pattern`) -> rule. */
export const RouteRules: Readonly<Record<string, RouteRule>> = {
  // Probes carry no cluster data.
  "GET /healthz": { who: "none" },
  "GET /readyz": { who: "none" },
  // Jobs and their tasks: the namespace's objects.
  "GET /v1/jobs": read("read", ns),
  "POST /v1/jobs": change("write", ns),
  "GET /v1/jobs/:name": read("read", ns),
  "DELETE /v1/jobs/:name": change("write", ns),
  "POST /v1/jobs/:name/revert": change("write", ns),
  "POST /v1/jobs/:name/scale": change("write", ns),
  "POST /v1/jobs/:name/restart": change("write", ns),
  "GET /v1/jobs/:name/versions": read("read", ns),
  "GET /v1/jobs/:name/versions/:v": read("read", ns),
  "GET /v1/jobs/:name/versions/:v/diff": read("read", ns),
  "GET /v1/jobs/:name/rollout": read("read", ns),
  "GET /v1/jobs/:name/rollouts": read("read", ns),
  "POST /v1/jobs/:name/rollout/:command": change("write", ns),
  "GET /v1/jobs/:name/metrics": read("read", ns),
  "GET /v1/jobs/:name/recommendation": read("read", ns),
  "GET /v1/recommendations": read("read", ns),
  // Batch runs (start or dispatch, list, show, cancel).
  "POST /v1/jobs/:name/runs": change("write", ns),
  "GET /v1/jobs/:name/runs": read("read", ns),
  "GET /v1/runs/:job/:id": read("read", ns),
  "POST /v1/runs/:job/:id/cancel": change("write", ns),
  // A plan changes nothing, but shows what an apply would do: the apply's capability, not audited.
  "POST /v1/plan": user("write", ns, "none"),
  "GET /v1/tasks/:job/:index/logs": read("logs", ns),
  "GET /v1/tasks/:job/:index/usage": read("read", ns),
  "POST /v1/tasks/:job/:index/exec": user("exec", ns, "own"),
  "UPGRADE POST /v1/tasks/:job/:index/exec": user("exec", ns, "own"),
  "GET /v1/services": read("read", ns),
  "GET /v1/services/:name/endpoints": read("read", ns),
  "GET /v1/prometheus/sd": read("read", ns),
  // The watch streams job and host kinds alike: both reads (until it filters kinds by capability).
  "GET /v1/watch": { who: "user", needs: [{ cap: "read", on: ns }, { cap: "read", on: "hosts" }], audit: "none" },
  // Hosts.
  "GET /v1/hosts": read("read", "hosts"),
  "POST /v1/hosts/:idOrName/drain": change("drain", "hosts"),
  "POST /v1/hosts/:idOrName/undrain": change("drain", "hosts"),
  "DELETE /v1/hosts/:idOrName": change("write", "hosts"),
  "GET /v1/hosts/:idOrName": read("read", "hosts"),
  "POST /v1/hosts/:idOrName/decommission": change("drain", "hosts"),
  // Maintenance windows: planned disruption of hosts, as drains are.
  "GET /v1/maintenance": read("read", "hosts"),
  "POST /v1/maintenance": change("drain", "hosts"),
  "POST /v1/maintenance/:id/cancel": change("drain", "hosts"),
  "GET /v1/hosts/:idOrName/checks": read("read", "hosts"),
  "GET /v1/remediations": read("read", "hosts"),
  // Packages (a peer server fetches pieces with the admin token).
  "GET /v1/packages": read("read", "packages"),
  "GET /v1/packages/:name": read("read", "packages"),
  "GET /v1/packages/pieces/:sha256": read("read", "packages"),
  "GET /v1/packages/manifests/:id": read("read", "packages"),
  // Asks which pieces an upload still needs: part of a push, changes nothing.
  "POST /v1/packages/missing": user("write", "packages", "none"),
  // One call per 4 MiB piece of a push: the push is audited once, at its registration (POST /v1/packages).
  "POST /v1/packages/pieces/:sha256": user("write", "packages", "none"),
  "POST /v1/packages": change("write", "packages"),
  "PUT /v1/packages/:name/tags/:tag": change("write", "packages"),
  "DELETE /v1/packages/:name/:version": change("write", "packages"),
  // Tokens.
  "GET /v1/tokens": read("read", "tokens"),
  "POST /v1/tokens": change("write", "tokens"),
  "DELETE /v1/tokens/:id": change("write", "tokens"),
  "GET /v1/whoami": { who: "user", needs: [], audit: "none" },
  // Secrets of the namespace: names and versions only ever leave the server (values go to agents).
  "GET /v1/secrets": read("secrets", ns),
  "PUT /v1/secrets/:ns/:name": change("secrets", ns),
  "DELETE /v1/secrets/:ns/:name": change("secrets", ns),
  // The cluster: servers, metrics, the API description, the audit log.
  "GET /v1/cluster": read("read", "cluster"),
  "GET /metrics": read("read", "cluster"),
  "GET /v1/openapi.json": read("read", "cluster"),
  "GET /v1/audit": read("read", "cluster"),
  "POST /v1/swarm/peer-token/rotate": change("admin", "cluster"),
  // The cluster CA (issue 17, rotation): its status and rotation are the admin's; the trust bundle is
  // what `tiffin context refresh-ca` fetches, over the connection the context already trusts.
  "GET /v1/ca": read("admin", "cluster"),
  "GET /v1/ca/trust": { who: "user", needs: [], audit: "none" },
  "POST /v1/ca/rotate": change("admin", "cluster"),
  "POST /v1/ca/finish": change("admin", "cluster"),
  "GET /v1/swarm/fetches": read("read", "packages"),
  // Servers' calls to each other (the admin token they share and, under TLS, a server's certificate:
  // dispatch.ts), every 500 ms: not audited.
  "POST /v1/internal/contacts": user("admin", "cluster", "none"),
  "POST /v1/internal/swarm/:what": user("admin", "cluster", "none"),
  // A follower passes agents' metrics reports to the leader (metrics-relay.ts), every scrape interval.
  "POST /v1/internal/metrics": user("admin", "cluster", "none"),
  // Agents.
  "POST /v1/agent/register": { who: "join", audit: "call" },
  "POST /v1/agent/heartbeat": host,
  // The host's client certificate (mTLS): the one host route a host token alone may call under TLS.
  "POST /v1/agent/certificate": host,
  "POST /v1/agent/attempts": host,
  "GET /v1/agent/assignments": host,
  "POST /v1/agent/metrics": host,
  "GET /v1/agent/packages/pieces/:sha256": host,
  "GET /v1/agent/packages/manifests/:id": host,
  "POST /v1/agent/swarm/announce": host,
  "POST /v1/agent/swarm/plan": host,
  "POST /v1/agent/swarm/report": host,
  // The endpoints of the services an agent's tasks use (its local proxies and start holds).
  "GET /v1/agent/endpoints": host,
};

/** The key of a route in RouteRules. */
export function ruleKey(method: string, pattern: string, upgrade: boolean): string {
  return `${upgrade ? "UPGRADE " : ""}${method} ${pattern}`;
}

/** What a route without a rule needs: its AuthKind, a user route as full admin (see the top). */
export function fallbackRule(auth: AuthKind): RouteRule {
  switch (auth) {
    case "none":
      return { who: "none" };
    case "join":
      return { who: "join", audit: "call" };
    case "host":
      return host;
    case "admin":
      return { who: "user", needs: [{ cap: "admin", on: "*" }], audit: "call" };
  }
}

/** The rule of a route: its entry in RouteRules, or the fallback of its AuthKind. */
export function ruleOf(method: string, pattern: string, upgrade: boolean, auth: AuthKind): RouteRule {
  return RouteRules[ruleKey(method, pattern, upgrade)] ?? fallbackRule(auth);
}

/** The rule of a path no route has: the caller must be known (no probing for routes without a
 * token), then it learns 404 or 405, whatever its capabilities. */
export const UnmatchedRule: RouteRule = { who: "any" };

/** The AuthKind a rule corresponds to (a route registered with another one is a mistake the test finds). */
export function authKindOf(rule: RouteRule): AuthKind {
  return rule.who === "user" || rule.who === "any" ? "admin" : rule.who;
}

/** Whether `rule` lets `p` call `what`: null, or the 403 refusal (with its code) naming what is missing. Pure. */
export function decide(rule: RouteRule, p: Principal, what: string): (Refusal & { code: typeof ErrorCodes.Forbidden }) | null {
  const code = ErrorCodes.Forbidden;
  const as = p.kind === "token" ? `token ${p.actor.id} ("${p.actor.name}")` : `the ${p.kind} token`;
  switch (rule.who) {
    case "none":
    case "any":
      return null;
    case "join":
      return p.kind === "join" ? null : { code, message: `${what} needs the join token; ${as} cannot register hosts`, hint: "agents register with the join token from DATA_DIR/join.token" };
    case "host":
      return p.kind === "host" ? null : { code, message: `${what} needs a host token; ${as} is not an agent's`, hint: "only agents call this, with the hostToken that register returned" };
    case "user": {
      if (p.kind === "host" || p.kind === "join") return { code, message: `${what} needs a user token; ${as} is for agents`, hint: userHint };
      const missing = firstMissing(p.policy, rule.needs);
      if (missing === null) return null;
      return { code, message: `${what} needs ${formatNeed(missing)}; ${as} lacks it`, hint: `use a token whose policy has ${missing.on}=${missing.cap} (\`tiffin token whoami\` shows yours)` };
    }
  }
}
