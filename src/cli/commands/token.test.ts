// `tiffin token` and `tiffin audit --since` as users run them: bin/tiffin.js processes against a real
// server (SQLite file in a temp dir).
import assert from "node:assert/strict";
import { test } from "node:test";
import { cliWithServer } from "../real-cli.ts";
import { parseTtl, renderTokens } from "./token.ts";

void test("--ttl: days, hours, minutes", () => {
  assert.deepEqual(["30d", "12h", "1h30m", "0s", "3x", "d"].map(parseTtl), [30 * 86_400_000, 12 * 3_600_000, 5_400_000, null, null, null]);
});

void test("token create (secret printed once), whoami, a refused call naming the capability, revoke, audit --since", async (t) => {
  const { run } = await cliWithServer(t, "token");
  const created = await run("token", "create", "--name", "ci", "--policy", "ns/default=read", "--policy", "tokens=write", "--ttl", "30d");
  assert.equal(created.code, 0, created.err);
  const m = /^token ([0-9a-f]{12}) "ci" created \(ns\/default=read tokens=write; until \d{4}-.*\)\nsecret \(shown once.*\n(tfn_\S+)\n$/.exec(created.out);
  assert.ok(m, created.out);
  const [, id, secret] = m as unknown as [string, string, string];

  const who = await run("--token", secret, "token", "whoami", "--json");
  assert.deepEqual((JSON.parse(who.out) as { name: string; policy: unknown }).policy, [{ on: "ns/default", caps: ["read"] }, { on: "tokens", caps: ["write"] }]);

  const refused = await run("--token", secret, "hosts");
  assert.equal(refused.code, 1);
  assert.match(refused.err, /^error\[TIFFIN_FORBIDDEN\]: GET \/v1\/hosts needs read on hosts; token [0-9a-f]{12} \("ci"\) lacks it\nhint: use a token whose policy has hosts=read/);
  const escalate = await run("--token", secret, "token", "create", "--name", "root", "--policy", "*=admin", "--ttl", "1h");
  assert.match(escalate.err, /TIFFIN_FORBIDDEN\]: ci cannot grant \*=admin/);

  assert.equal((await run("token", "revoke", id)).out, `token ${id} "ci" revoked\n`);

  const audit = await run("audit", "--since", "1h");
  assert.match(audit.out, /^TIME +WHO +ACTION +WHAT +OUTCOME\n/);
  assert.match(audit.out, /admin \(admin\) +POST +\/v1\/tokens \(created token [0-9a-f]{12} "ci" .*\) +200\n/);
  assert.match(audit.out, /ci \([0-9a-f]{12}\) +POST +\/v1\/tokens +403 TIFFIN_FORBIDDEN\n/);
  assert.match(audit.out, /admin \(admin\) +DELETE +\/v1\/tokens\/[0-9a-f]{12} \(revoked token .*\) +200\n$/);
  assert.ok(!audit.out.includes(secret));
});

void test("the token table: id, name, state, policy, expiry; wide adds who created and revoked", () => {
  const base = { id: "0123456789ab", name: "ci", policy: [{ on: "ns/default", caps: ["read" as const] }], createdAt: Date.UTC(2026, 0, 1), createdBy: { id: "admin", name: "admin" }, expiresAt: null, revokedAt: null, revokedBy: null, state: "active" as const };
  const lines = renderTokens([base, { ...base, id: "ba9876543210", state: "revoked", revokedBy: { id: "admin", name: "admin" } }], true).split("\n");
  assert.match(lines[0] ?? "", /^ID +NAME +STATE +POLICY +EXPIRES +CREATED +CREATED BY +REVOKED BY$/);
  assert.match(lines[1] ?? "", /^0123456789ab +ci +active +ns\/default=read +never +2026-01-01.* +admin +-$/);
  assert.match(lines[2] ?? "", /revoked .* admin +admin$/);
  assert.equal(renderTokens([]), "no tokens yet (`tiffin token create --name NAME --policy ...`)\n");
});
