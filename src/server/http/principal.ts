// Who is calling: the bearer token identified (the admin, join or a host token, or an API token of
// `tiffin token create`), or why it is refused (401: no token, an unknown, expired or revoked one);
// route-rules.ts decide() then says whether the route lets it in (403). It reads only the mirror and
// the time, so every server refuses a revoked token once its watch brings the revocation.

import { createHash, timingSafeEqual } from "node:crypto";
import { FullAdmin, tokenIdOf, tokenState } from "../../model/index.ts";
import type { Actor, ApiToken, Policy } from "../../model/index.ts";
import type { Mirror } from "../mirror.ts";
import { bearerOf } from "../tokens.ts";

/** An identified caller. */
export interface Principal {
  /** admin: DATA_DIR/admin.token; token: an API token; host: an agent's host token; join: the join token. */
  kind: "admin" | "token" | "host" | "join";
  /** Who, as the audit records it (a host token: the host id). */
  actor: Actor;
  policy: Policy;
  /** Set for host tokens. */
  hostId: string | null;
  /** When the token stops working (API tokens with a TTL). */
  expiresAt: number | null;
  /** Set when a host was identified by its client certificate (mTLS), not its host token alone. */
  viaCert?: true;
}

/** The secrets identify compares with (the bootstrap tokens; the rest comes from the mirror). */
export interface BootstrapTokens {
  admin: string;
  join: string;
}

/** Why a token was refused: a message and a hint; 401, or 503 when this server cannot tell. */
export interface Refusal {
  message: string;
  hint: string;
  /** Set when the refusal is this server's state, not the token's: the client should try another server. */
  unavailable?: true;
}

/** The hint of a refused user token. */
export const userHint = "send `Authorization: Bearer <token>`: the admin token (DATA_DIR/admin.token) or one made by `tiffin token create` (the CLI reads TIFFIN_TOKEN)";

/** sha256 of a secret, hex: what `/tokens/<id>` stores. */
export function secretSha256(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The caller of `header` at `now`, or why it is refused. `certHost`: the host id (CN) of the client
 * certificate the TLS handshake verified against the cluster CA, if any. A certificate stands in for
 * its host's token; sent with a host token, both must name the same host (one host's certificate
 * never lends itself to another host's stolen token). User, admin and join tokens ignore it.
 */
export function identify(mirror: Mirror, boot: BootstrapTokens, header: string | undefined, now: number, certHost: string | null = null): Principal | Refusal {
  const secret = bearerOf(header);
  const byCert = (): Principal | Refusal =>
    certHost !== null && mirror.hosts.has(certHost)
      ? { kind: "host", actor: { id: certHost, name: mirror.hosts.get(certHost)?.value.name ?? certHost }, policy: [], hostId: certHost, expiresAt: null, viaCert: true }
      : { message: `the client certificate names host ${certHost ?? "?"}, which is not registered here`, hint: "an agent whose host was removed registers again with the join token" };
  if (secret === null) return certHost !== null ? byCert() : { message: "no bearer token was sent", hint: userHint };
  // The caller's token is hashed once per request (a host calls every second: 1,000 agents made
  // seven sha256 runs per heartbeat a visible share of the server's CPU); the fixed tokens' digests
  // are kept. Comparing digests in constant time is what sameSecret does.
  const given = createHash("sha256").update(secret).digest();
  if (timingSafeEqual(given, digestOf(boot.admin))) return { kind: "admin", actor: { id: "admin", name: "admin" }, policy: FullAdmin, hostId: null, expiresAt: null };
  if (timingSafeEqual(given, digestOf(boot.join))) return { kind: "join", actor: { id: "join", name: "join" }, policy: [], hostId: null, expiresAt: null };
  const id = tokenIdOf(secret);
  // Fail closed: a server whose mirror lost the store's watch cannot know of a revocation made since.
  if (id !== null && !mirror.following) return { message: "this server lost the store's watch and cannot check API tokens for revocation now", hint: "retry, or use another server (the CLI moves on by itself with --addr a,b,c)", unavailable: true };
  if (id !== null) return apiToken(mirror.apiTokens.get(id)?.value, secret, now);
  // A lookup by digest: the time taken does not depend on how much of a real token was guessed.
  const hostId = mirror.hostByTokenDigest.get(given.toString("hex"));
  // The digest found the host; the token itself is still compared, in constant time.
  if (hostId !== undefined && timingSafeEqual(given, digestOf(mirror.hostTokens.get(hostId) ?? ""))) {
    if (certHost !== null && certHost !== hostId) return { message: `the host token is host ${hostId}'s but the client certificate is host ${certHost}'s`, hint: "an agent sends its own host's token with its own certificate" };
    if (certHost !== null) return byCert();
    return { kind: "host", actor: { id: hostId, name: mirror.hosts.get(hostId)?.value.name ?? hostId }, policy: [], hostId, expiresAt: null };
  }
  return { message: "the token is not valid here", hint: `${userHint}; an agent whose host token is refused registers again` };
}

// Digests of the tokens compared on every request (admin, join, host tokens), by token: a bounded
// memo, emptied when full (tokens change rarely; a miss costs one hash, as before).
const digests = new Map<string, Buffer>();
const DigestsKept = 20_000;
function digestOf(token: string): Buffer {
  let d = digests.get(token);
  if (d === undefined) {
    if (digests.size >= DigestsKept) digests.clear();
    digests.set(token, (d = createHash("sha256").update(token).digest()));
  }
  return d;
}

function apiToken(t: ApiToken | undefined, secret: string, now: number): Principal | Refusal {
  if (t === undefined || !sameDigest(secretSha256(secret), t.secretSha256)) return { message: "the token is not valid here", hint: userHint };
  const state = tokenState(t, now);
  if (state === "revoked") return { message: `token ${t.id} ("${t.name}") was revoked at ${new Date(t.revokedAt ?? 0).toISOString()}`, hint: "ask for a new token (`tiffin token create`)" };
  if (state === "expired") return { message: `token ${t.id} ("${t.name}") expired at ${new Date(t.expiresAt ?? 0).toISOString()}`, hint: "ask for a new token (`tiffin token create --ttl ...`)" };
  return { kind: "token", actor: { id: t.id, name: t.name }, policy: t.policy, hostId: null, expiresAt: t.expiresAt };
}

/** True when identify found a caller. */
export function isPrincipal(p: Principal | Refusal): p is Principal {
  return "kind" in p;
}
