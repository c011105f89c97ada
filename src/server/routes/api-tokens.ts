// API tokens (`tiffin token create|list|revoke|whoami`): made with a policy and a TTL, stored as the
// secret's sha256 under `/tokens/<id>`, revoked by a write every server's mirror follows. A token may
// hand out (and revoke) only what its own policy covers, and a token that expires may not make one
// that outlives it: no way up from a narrower token to a wider one.

import { randomBytes } from "node:crypto";
import type { Problem } from "../../model/index.ts";
import {
  ErrorCodes, formatGrant, formatTokenSecret, parseGrant, tokenCreateSchema, TiffinError, tokenView, uncovered,
} from "../../model/index.ts";
import type { ApiToken, Grant, TokenCreated, Whoami } from "../../model/index.ts";
import { casLoop } from "../context.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import { secretSha256 } from "../http/principal.ts";
import type { Principal } from "../http/principal.ts";
import type { Router } from "../http/router.ts";
import { Kinds } from "../kinds.ts";

const bodyShape = '{"name": "ci", "policy": ["ns/default=read"], "ttlMs": 2592000000}';

function callerOf(p: Principal | undefined): Principal {
  // The route table admits only user tokens here; a missing principal is a wiring bug.
  if (p === undefined) throw new Error("token route without a caller");
  return p;
}

function parsePolicy(texts: string[]): Grant[] {
  const problems: Problem[] = [];
  const grants: Grant[] = [];
  texts.forEach((t, i) => {
    const g = parseGrant(t);
    if (typeof g === "string") problems.push({ file: null, path: `policy[${i}]`, message: g, value: JSON.stringify(t) });
    else grants.push(g);
  });
  if (problems.length > 0) {
    throw new TiffinError(ErrorCodes.BadRequest, `the policy has ${problems.length} invalid grant(s)`, {
      hint: "write grants as RESOURCE=CAP[,CAP]: ns/default=read,logs; ns/*=read; hosts=drain; packages=write; tokens=write; cluster=read; *=admin",
      problems,
    });
  }
  return grants;
}

function notFound(id: string): TiffinError {
  return new TiffinError(ErrorCodes.NotFound, `token ${id} not found`, { hint: "`tiffin token list` shows the tokens" });
}

/** Registers the token routes. */
export function tokenRoutes(r: Router, ctx: ServerContext): void {
  const m = ctx.mirror;

  r.add("POST", "/v1/tokens", "admin", async ({ req, res, principal, note }) => {
    const caller = callerOf(principal);
    const body = parseBody(tokenCreateSchema, await readJsonObject(req, bodyShape), "the token request is not valid", `send ${bodyShape}`);
    const policy = parsePolicy(body.policy);
    const beyond = uncovered(caller.policy, policy);
    if (beyond.length > 0) {
      throw new TiffinError(ErrorCodes.Forbidden, `${caller.actor.name} cannot grant ${beyond.map(formatGrant).join(" ")}: its own policy does not include it`, { hint: "a token hands out only what it holds; ask a holder of a wider token" });
    }
    const now = ctx.clock.now();
    const expiresAt = body.ttlMs === undefined || body.ttlMs === null ? null : now + body.ttlMs;
    if (caller.expiresAt !== null && (expiresAt === null || expiresAt > caller.expiresAt)) {
      throw new TiffinError(ErrorCodes.Forbidden, `${caller.actor.name} expires at ${new Date(caller.expiresAt).toISOString()}: it cannot make a token that outlives it`, { hint: "give a shorter --ttl" });
    }
    const id = randomBytes(6).toString("hex");
    const secret = formatTokenSecret(id, randomBytes(32).toString("base64url"));
    const token: ApiToken = { id, name: body.name, secretSha256: secretSha256(secret), policy, createdAt: now, createdBy: caller.actor, expiresAt, revokedAt: null, revokedBy: null };
    const key = Kinds.token.key(id);
    const w = await ctx.store.txn({ compare: [{ key, target: "createRevision", op: "==", value: 0 }], success: [{ type: "put", key, value: Kinds.token.encode(token) }] });
    if (!w.succeeded) throw new Error(`token id ${id} was taken`);
    await m.waitFor(w.revision);
    note?.(`created token ${id} "${body.name}" with ${policy.map(formatGrant).join(" ")}${expiresAt === null ? "" : ` until ${new Date(expiresAt).toISOString()}`}`);
    sendJson(res, 200, { token: tokenView(token, now), secret } satisfies TokenCreated);
  });

  r.add("GET", "/v1/tokens", "admin", async ({ res }) => {
    const now = ctx.clock.now();
    sendJson(res, 200, [...m.apiTokens.values()].map((e) => tokenView(e.value, now)).sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id)));
  });

  r.add("DELETE", "/v1/tokens/:id", "admin", async ({ res, params, principal, note }) => {
    const caller = callerOf(principal);
    const id = params["id"] ?? "";
    const found = m.apiTokens.get(id)?.value;
    if (!found) throw notFound(id);
    const beyond = uncovered(caller.policy, found.policy);
    if (beyond.length > 0) {
      throw new TiffinError(ErrorCodes.Forbidden, `${caller.actor.name} cannot revoke token ${id}: it holds ${beyond.map(formatGrant).join(" ")}, which ${caller.actor.name} does not`, { hint: "revoke it with a token that covers its policy" });
    }
    const key = Kinds.token.key(id);
    await casLoop(ctx, `revoke token ${id}`, () => {
      const t = m.apiTokens.get(id)?.value;
      if (!t || t.revokedAt !== null) return null;
      const next: ApiToken = { ...t, revokedAt: ctx.clock.now(), revokedBy: caller.actor };
      return { compare: [{ key, target: "modRevision", op: "==", value: m.modRevision(key) }], success: [{ type: "put", key, value: Kinds.token.encode(next) }] };
    });
    const after = m.apiTokens.get(id)?.value;
    if (!after) throw notFound(id);
    note?.(`revoked token ${id} "${after.name}"`);
    sendJson(res, 200, tokenView(after, ctx.clock.now()));
  });

  r.add("GET", "/v1/whoami", "admin", async ({ res, principal }) => {
    const caller = callerOf(principal);
    const kind = caller.kind === "admin" ? "admin" : "token";
    sendJson(res, 200, { kind, id: caller.actor.id, name: caller.actor.name, policy: caller.policy, expiresAt: caller.expiresAt } satisfies Whoami);
  });
}
