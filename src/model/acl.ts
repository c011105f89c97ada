// Access control, pure: what a token's policy allows. A policy is a list of grants, each naming a
// resource pattern and capabilities on it. Resources are strings so namespaces plug in without a
// new shape: `ns/<namespace>` (every job object; today only `ns/default` exists), and the cluster
// objects `hosts`, `packages`, `tokens` and `cluster` (servers, metrics, the API description).
// A pattern is a resource, or a prefix ending in `*` (`ns/*`, `ns/team-*`, `*` = everything): a
// trailing `*` only, so "does grant A include grant B" is a prefix test (covers), which keeps token
// creation from handing out more than its creator holds.

import { z } from "zod";

/** The capabilities a grant may give. */
export const AclCapabilities = {
  read: "read",
  write: "write",
  exec: "exec",
  logs: "logs",
  drain: "drain",
  /** Set, list and remove the namespace's secrets (never read their values: only tasks get those). */
  secrets: "secrets",
  admin: "admin",
} as const;
/** One capability. */
export type AclCapability = (typeof AclCapabilities)[keyof typeof AclCapabilities];

/** Capabilities that include others: admin is every capability on its resources; write and drain include read. */
const implied: Record<AclCapability, readonly AclCapability[]> = {
  read: [],
  write: ["read"],
  exec: [],
  logs: [],
  drain: ["read"],
  secrets: [],
  admin: ["read", "write", "exec", "logs", "drain", "secrets"],
};

/** Which capabilities mean something on each kind of resource (`*` takes any). */
const meaningful: Record<string, readonly AclCapability[]> = {
  ns: ["read", "write", "exec", "logs", "secrets", "admin"],
  hosts: ["read", "write", "drain", "admin"],
  packages: ["read", "write", "admin"],
  tokens: ["read", "write", "admin"],
  cluster: ["read", "admin"],
  "*": Object.values(AclCapabilities),
};

/** The namespace every job lives in until namespaces exist (issue 17, a later increment). */
export const DefaultNamespace = "default";

/** The resource of a namespace's objects (jobs, tasks, logs, exec, history). */
export function namespaceResource(ns: string): string {
  return `ns/${ns}`;
}

/** One grant: capabilities on the resources a pattern matches. */
export const grantSchema = z.object({ on: z.string().min(1).max(200), caps: z.array(z.enum(AclCapabilities)).min(1) });
/** One grant (grantSchema). */
export type Grant = z.infer<typeof grantSchema>;
/** A token's policy: what it may do is the union of its grants. */
export type Policy = Grant[];

/** What a route needs: one capability on one resource. */
export interface Need {
  cap: AclCapability;
  on: string;
  /** `on` is a pattern (`ns/*`) and one matching resource is enough: a listing that shows only those. */
  some?: true;
}

/** The policy of the bootstrap admin token: everything. */
export const FullAdmin: Policy = [{ on: "*", caps: ["admin"] }];

/** True when `pattern` (a resource, or a prefix ending in `*`) matches the resource `resource`. */
export function patternMatches(pattern: string, resource: string): boolean {
  return pattern.endsWith("*") ? resource.startsWith(pattern.slice(0, -1)) : pattern === resource;
}

/** True when every resource `inner` matches is matched by `outer`. */
export function patternCovers(outer: string, inner: string): boolean {
  if (!outer.endsWith("*")) return outer === inner;
  return inner.startsWith(outer.slice(0, -1));
}

function gives(caps: readonly AclCapability[], cap: AclCapability): boolean {
  return caps.some((c) => c === cap || implied[c].includes(cap));
}

/** True when the policy gives `need.cap` on `need.on`; for a need `some` (a listing across namespaces),
 * on at least one resource the need's pattern matches (the listing then shows only those). */
export function allows(policy: Policy, need: Need): boolean {
  if (need.some === true) return policy.some((g) => patternsOverlap(g.on, need.on) && gives(g.caps, need.cap));
  return policy.some((g) => patternMatches(g.on, need.on) && gives(g.caps, need.cap));
}

/** True when some resource matches both patterns. */
function patternsOverlap(a: string, b: string): boolean {
  const stem = (p: string): string => (p.endsWith("*") ? p.slice(0, -1) : p);
  if (a.endsWith("*") && b.endsWith("*")) return stem(a).startsWith(stem(b)) || stem(b).startsWith(stem(a));
  if (a.endsWith("*")) return b.startsWith(stem(a));
  if (b.endsWith("*")) return a.startsWith(stem(b));
  return a === b;
}

/** The first need the policy does not give, or null when it gives them all. */
export function firstMissing(policy: Policy, needs: readonly Need[]): Need | null {
  return needs.find((n) => !allows(policy, n)) ?? null;
}

/** True when `holder` gives every capability of `grant` on everything the grant's pattern matches
 * (so a token holding it may hand it out, or revoke a token made of such grants). */
export function coversGrant(holder: Policy, grant: Grant): boolean {
  const wanted = new Set<AclCapability>(grant.caps.flatMap((c) => [c, ...implied[c]]));
  return [...wanted].every((cap) => holder.some((h) => patternCovers(h.on, grant.on) && gives(h.caps, cap)));
}

/** The grants of `policy` that `holder` does not cover. */
export function uncovered(holder: Policy, policy: Policy): Grant[] {
  return policy.filter((g) => !coversGrant(holder, g));
}

/** A grant as users write it: `ns/default=read,logs`. */
export function formatGrant(g: Grant): string {
  return `${g.on}=${g.caps.join(",")}`;
}

/** A need as messages say it: `read on ns/default`. */
export function formatNeed(n: Need): string {
  return n.some === true ? `${n.cap} on one of ${n.on}` : `${n.cap} on ${n.on}`;
}

const resourcePattern = /^(?:\*|ns\/\*|ns\/[a-z0-9][a-z0-9-]{0,62}\*?|hosts|packages|tokens|cluster)$/;

/** Parses a grant as users write it (`RESOURCE=CAP[,CAP]`); a string is what is wrong with it. */
export function parseGrant(text: string): Grant | string {
  const eq = text.indexOf("=");
  const on = eq < 0 ? "" : text.slice(0, eq).trim();
  const caps = eq < 0 ? [] : text.slice(eq + 1).split(",").map((c) => c.trim()).filter((c) => c !== "");
  if (eq < 0 || on === "" || caps.length === 0) return `"${text}" is not RESOURCE=CAPABILITY[,CAPABILITY...]`;
  return checkGrant({ on, caps }, text);
}

/** Checks a grant's resource pattern and capabilities; the grant, or what is wrong with it. */
export function checkGrant(g: { on: string; caps: readonly string[] }, shown = formatGrant({ on: g.on, caps: g.caps as AclCapability[] })): Grant | string {
  if (!resourcePattern.test(g.on)) return `"${shown}": the resource "${g.on}" is not ns/NAME, ns/PREFIX*, ns/*, hosts, packages, tokens, cluster or *`;
  const kind = g.on === "*" ? "*" : (g.on.split("/")[0] ?? "");
  const allowed = meaningful[kind] ?? [];
  const caps: AclCapability[] = [];
  for (const c of g.caps) {
    const cap = allowed.find((a) => a === c);
    if (cap === undefined) return `"${shown}": "${c}" is not a capability on ${kind === "ns" ? "a namespace" : g.on} (one of ${allowed.join(", ")})`;
    if (!caps.includes(cap)) caps.push(cap);
  }
  return { on: g.on, caps };
}
