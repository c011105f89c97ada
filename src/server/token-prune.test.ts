// Token retention: which tokens go (a table), and the deletion from a real SQLite store.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import type { ApiToken } from "../model/index.ts";
import { openSqliteStore } from "../state/index.ts";
import { Kinds } from "./kinds.ts";
import { tempDir } from "./testing/harness.ts";
import { pruneTokens, tokensToPrune } from "./token-prune.ts";

const day = 86_400_000;
const now = 1_800_000_000_000;
const token = (id: string, over: Partial<ApiToken> = {}): ApiToken => ({ id, name: id, secretSha256: "0".repeat(64), policy: [], createdAt: 0, createdBy: { id: "admin", name: "admin" }, expiresAt: null, revokedAt: null, revokedBy: null, ...over });
const tokens = [
  token("live"),
  token("live-with-ttl", { expiresAt: now + day }),
  token("revoked-lately", { revokedAt: now - 89 * day }),
  token("revoked-long-ago", { revokedAt: now - 91 * day }),
  token("expired-lately", { expiresAt: now - day }),
  token("expired-long-ago", { expiresAt: now - 91 * day }),
];

void test("tokensToPrune: revoked or expired before the audit's age limit", () => {
  assert.deepEqual(tokensToPrune(tokens, now, 90), ["revoked-long-ago", "expired-long-ago"]);
  assert.deepEqual(tokensToPrune(tokens, now, 1), ["revoked-lately", "revoked-long-ago", "expired-long-ago"]);
  assert.deepEqual(tokensToPrune(tokens, now, 0), [], "no age limit: kept");
});

void test("pruneTokens deletes them from a real store", async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(path.join(dir, "state.db"));
  t.after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const tk of tokens) await store.put(Kinds.token.key(tk.id), Kinds.token.encode(tk));
  assert.equal(await pruneTokens(store, now, 90, pino({ level: "silent" })), 2);
  assert.deepEqual((await store.range("/tokens/")).kvs.map((kv) => kv.key.slice("/tokens/".length)), ["expired-lately", "live", "live-with-ttl", "revoked-lately"]);
});
