// identify() over a real mirror of a real SQLite store: the bootstrap, host and API tokens; an API
// token's digest, expiry and revocation; and failing closed when the mirror stops following the store.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import type { ApiToken } from "../../model/index.ts";
import { formatTokenSecret } from "../../model/index.ts";
import { openSqliteStore } from "../../state/sqlite.ts";
import { Kinds } from "../kinds.ts";
import { Mirror } from "../mirror.ts";
import { tempDir } from "../testing/harness.ts";
import { identify, isPrincipal, secretSha256 } from "./principal.ts";

void test("identify: bootstrap, host and API tokens; wrong digest, expired, revoked; fails closed without the store's watch", async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(join(dir, "state.db"));
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const secret = (id: string): string => formatTokenSecret(id, "A".repeat(43));
  const token = (id: string, over: Partial<ApiToken> = {}): ApiToken => ({ id, name: `n-${id}`, secretSha256: secretSha256(secret(id)), policy: [{ on: "ns/default", caps: ["read"] }], createdAt: 0, createdBy: { id: "admin", name: "admin" }, expiresAt: null, revokedAt: null, revokedBy: null, ...over });
  await store.put(Kinds.token.key("aaaaaaaaaaaa"), Kinds.token.encode(token("aaaaaaaaaaaa")));
  await store.put(Kinds.token.key("bbbbbbbbbbbb"), Kinds.token.encode(token("bbbbbbbbbbbb", { expiresAt: 1000 })));
  await store.put(Kinds.token.key("cccccccccccc"), Kinds.token.encode(token("cccccccccccc", { revokedAt: 500 })));
  await store.put(Kinds.hostToken.key("h1"), Kinds.hostToken.encode("host-secret"));
  const mirror = await Mirror.load(store, pino({ level: "silent" }));
  const boot = { admin: "admin-secret", join: "join-secret" };
  const who = (s: string | null, now = 999): string => {
    const p = identify(mirror, boot, s === null ? undefined : `Bearer ${s}`, now);
    return isPrincipal(p) ? `${p.kind}:${p.actor.id}` : `${p.unavailable ? 503 : 401}: ${p.message}`;
  };
  assert.equal(who(null), "401: no bearer token was sent");
  assert.equal(who("admin-secret"), "admin:admin");
  assert.equal(who("join-secret"), "join:join");
  assert.equal(who("host-secret"), "host:h1");
  assert.equal(who(secret("aaaaaaaaaaaa")), "token:aaaaaaaaaaaa");
  assert.equal(who(formatTokenSecret("aaaaaaaaaaaa", "B".repeat(43))), "401: the token is not valid here", "the right id with another secret");
  assert.equal(who(secret("dddddddddddd")), "401: the token is not valid here", "no such id");
  assert.equal(who(secret("bbbbbbbbbbbb"), 999), "token:bbbbbbbbbbbb", "not expired yet");
  assert.match(who(secret("bbbbbbbbbbbb"), 1000), /^401: token bbbbbbbbbbbb \("n-bbbbbbbbbbbb"\) expired at 1970-01-01T00:00:01.000Z$/);
  assert.match(who(secret("cccccccccccc")), /^401: token cccccccccccc \("n-cccccccccccc"\) was revoked at /);
  // A revocation written to the store reaches the mirror, and the token is refused.
  const rev = await store.put(Kinds.token.key("aaaaaaaaaaaa"), Kinds.token.encode(token("aaaaaaaaaaaa", { revokedAt: 1 })));
  await mirror.waitFor(rev);
  assert.match(who(secret("aaaaaaaaaaaa")), /was revoked/);
  // Without the store's watch a revocation could be missed: API tokens are refused with 503 (try
  // another server); the bootstrap and host tokens, which cannot be revoked this way, still work.
  mirror.close();
  assert.match(who(secret("bbbbbbbbbbbb")), /^503: this server lost the store's watch/);
  assert.equal(who("admin-secret"), "admin:admin");
});
