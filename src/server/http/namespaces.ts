// The request's namespace (issue 17): which namespace a call acts in, how its route rule's
// namespace need becomes `ns/<that namespace>`, how the job and task names in its path become the
// ids the state is keyed by (model/namespace.ts), and which namespaces a listing may show the caller.
// Dispatch runs these for every route before its handler, so no handler reads `?namespace=` itself.

import { AllNamespaces, allows, DefaultNamespace, ErrorCodes, isNamespace, jobId, namespaceOfId, namespaceResource, TiffinError } from "../../model/index.ts";
import type { AclCapability, Need } from "../../model/index.ts";
import type { Principal } from "./principal.ts";
import { RequestNamespace } from "./route-rules.ts";
import type { RouteRule } from "./route-rules.ts";

/** The routes that may list across namespaces (`namespace=*`): each shows only what the caller may read. */
const Listings = new Set(["GET /v1/jobs", "GET /v1/services", "GET /v1/recommendations", "GET /v1/prometheus/sd", "GET /v1/watch", "GET /v1/secrets"]);

/** True when `METHOD PATTERN` may list across namespaces (`namespace=*`). */
export function listsNamespaces(method: string, pattern: string): boolean {
  return Listings.has(`${method} ${pattern}`);
}

/** The path parameters that name a job (or a service, named like its job) of the request's namespace. */
const NamedParams = ["name", "job"] as const;

/** The namespace a call acts in: the route's `:ns` (secrets), else `?namespace=` (default "default");
 * `*` only on listings. Throws 400 for anything else. */
export function requestNamespace(method: string, pattern: string, url: URL, params: Readonly<Record<string, string>>): string {
  const fromPath = pattern.includes("/:ns/") ? params["ns"] : undefined;
  const ns = fromPath ?? url.searchParams.get("namespace") ?? DefaultNamespace;
  if (ns === AllNamespaces) {
    if (Listings.has(`${method} ${pattern}`)) return ns;
    throw new TiffinError(ErrorCodes.BadRequest, `${method} ${url.pathname}: namespace "*" only lists (jobs, services, watch...); this call acts in one namespace`, { hint: "name one namespace with -n NS (namespace=NS)" });
  }
  if (!isNamespace(ns)) {
    throw new TiffinError(ErrorCodes.BadRequest, `${method} ${url.pathname}: namespace "${ns}" is not a namespace name (a DNS label: a-z, 0-9 and "-", at most 63 characters)`, { hint: "use -n NS with a name like team-a, or -n '*' to list every namespace" });
  }
  return ns;
}

/** requestNamespace, or its 400 as a value (dispatch identifies the caller before it answers it). */
export function namespaceOrRefusal(method: string, pattern: string, url: URL, params: Readonly<Record<string, string>>): string | TiffinError {
  try {
    return requestNamespace(method, pattern, url, params);
  } catch (err) {
    if (err instanceof TiffinError) return err;
    throw err;
  }
}

/** `rule` with its request-namespace needs made concrete for `ns` (`*`: one readable namespace is enough). */
export function resolveRule(rule: RouteRule, ns: string): RouteRule {
  if (rule.who !== "user" || !rule.needs.some((n) => n.on === RequestNamespace)) return rule;
  const needs = rule.needs.map((n): Need => (n.on !== RequestNamespace ? n : ns === AllNamespaces ? { cap: n.cap, on: namespaceResource("*"), some: true } : { cap: n.cap, on: namespaceResource(ns) }));
  return { ...rule, needs };
}

/** True when `rule` acts in the request's namespace (its path's job names are then of that namespace). */
export function isNamespaced(rule: RouteRule): boolean {
  return rule.who === "user" && rule.needs.some((n) => n.on === RequestNamespace);
}

/** `params` with the job (or service) names made ids of namespace `ns` (`web` in team-a: `web.team-a`),
 * for a namespaced route that names its namespace by query (not by a `:ns` of its own). */
export function qualifyParams(params: Record<string, string>, ns: string, pattern: string): Record<string, string> {
  if (ns === AllNamespaces || pattern.includes("/:ns/")) return params;
  const out = { ...params };
  for (const p of NamedParams) {
    const v = out[p];
    // A name holding the separator would reach into another namespace: never a job name, so refused.
    if (v !== undefined && v.includes(".")) throw new TiffinError(ErrorCodes.BadRequest, `"${v}" is not a job name (no "." in names)`, { hint: "name the namespace with -n NS (namespace=NS) and the job by its name" });
    if (v !== undefined) out[p] = jobId(ns, v);
  }
  return out;
}

/** Which job ids a call may see: those of namespace `ns` (or, for `*`, of every namespace where the
 * caller has `cap`). Null principal (no token needed): nothing namespaced. */
export function namespaceFilter(principal: Principal | undefined, ns: string, cap: AclCapability = "read"): (id: string) => boolean {
  const visible = namespaceVisible(principal, ns, cap);
  return (id) => visible(namespaceOfId(id));
}

/** Which namespaces a call may see (by name): `ns`, or for `*` every one where the caller has `cap`. */
export function namespaceVisible(principal: Principal | undefined, ns: string, cap: AclCapability = "read"): (namespace: string) => boolean {
  if (principal === undefined) return () => false;
  if (ns !== AllNamespaces) return (n) => n === ns;
  const seen = new Map<string, boolean>();
  return (n) => {
    let ok = seen.get(n);
    if (ok === undefined) seen.set(n, (ok = allows(principal.policy, { cap, on: namespaceResource(n) })));
    return ok;
  };
}
