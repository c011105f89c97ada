// Scoped tokens against a real server (SQLite file, real HTTP): every registered route (upgrades
// included) is called with every kind of token, and the answer must be the one its rule in
// http/route-rules.ts gives; a route without a rule fails here. Then a token's life (create, whoami,
// list, refused escalation, revoke) and the audit it leaves; two servers on one etcd share revocations.
import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { ApiClient } from "../api/client.ts";
import type { AuditEntry, TokenCreated } from "../api/types.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import { authKindOf, RequestNamespace, ruleKey, RouteRules } from "./http/route-rules.ts";
import { openStore, startServer } from "./main.ts";
import { call, eventually, FakeAgent, startTestServer, tempDir } from "./testing/harness.ts";

/** One raw call; resolves with the status as soon as the answer's head arrives (streams are cut then). */
function statusOf(url: string, method: string, path: string, token: string | null, upgrade: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const body = method === "GET" ? undefined : "{}";
    const req = request(`${url}${path}`, {
      method,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) }),
        ...(upgrade ? { connection: "Upgrade", upgrade: "tiffin-exec.v1" } : {}),
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: "" });
    });
    req.on("response", (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 401 && status !== 403) {
        res.destroy();
        return resolve({ status, body: "" });
      }
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve({ status, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

void test("every route answers every kind of token as its rule says; a route without a rule fails", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { server } = ts;
  const admin = new ApiClient({ addr: server.url, token: server.adminToken });
  const agent = new FakeAgent(server.url, "alpha");
  await agent.register(server.joinToken);
  const make = async (name: string, policy: string[], ttlMs?: number): Promise<TokenCreated> => admin.createToken({ name, policy, ...(ttlMs ? { ttlMs } : {}) });
  const revoked = await make("revoked", ["*=admin"]);
  await admin.revokeToken(revoked.token.id);
  const expired = await make("expired", ["*=admin"], 1);
  const tokens: Record<string, string | null> = {
    none: null,
    wrong: "not-a-token",
    "wrong secret of a real id": `${(await make("real", ["*=admin"])).secret.slice(0, -4)}AAAA`,
    expired: expired.secret,
    revoked: revoked.secret,
    host: agent.reg?.hostToken ?? "",
    join: server.joinToken,
    "read-only": (await make("reader", ["ns/default=read"])).secret,
    "other namespace": (await make("other", ["ns/other=admin"])).secret,
    // The same token, calling in its own namespace (`?namespace=other`, or the secrets' `:ns`), and listing every one.
    "other namespace, in its namespace": (await make("other-here", ["ns/other=admin"])).secret,
    "other namespace, every namespace": (await make("other-all", ["ns/other=admin"])).secret,
    admin: server.adminToken,
  };
  await new Promise((r) => setTimeout(r, 5)); // the 1 ms TTL has run out

  const routes = server.routes();
  const keys = routes.map((r) => ruleKey(r.method, r.pattern, r.upgrade));
  assert.deepEqual(keys.filter((k) => RouteRules[k] === undefined), [], "every route declares its rule in http/route-rules.ts (RouteRules)");
  assert.deepEqual(Object.keys(RouteRules).filter((k) => !keys.includes(k)), [], "every rule names a registered route");
  assert.ok(routes.length >= 60 && routes.some((r) => r.upgrade), `${routes.length} routes, upgrades among them`);

  const wrong: string[] = [];
  for (const r of routes) {
    const rule = RouteRules[ruleKey(r.method, r.pattern, r.upgrade)];
    if (!rule) continue;
    assert.equal(authKindOf(rule), r.auth, `${r.method} ${r.pattern}: registered as "${r.auth}" but its rule is for ${rule.who}`);
    const plain = r.pattern.replace(/:[a-zA-Z]+/g, "x");
    const pathOf = (kind: string): string =>
      kind === "other namespace, in its namespace" ? `${r.pattern.replace(":ns", "other").replace(/:[a-zA-Z]+/g, "x")}?namespace=other` : kind === "other namespace, every namespace" ? `${plain}?namespace=*` : plain;
    // What each kind may do, said independently of decide(): a reader holds read on the default
    // namespace only (the one a call without `namespace=` acts in), the other-namespace token admin
    // on ns/other only: there it may do whatever needs nothing but its namespace, and list every
    // namespace (seeing only its own) where a listing allows `*`.
    const inNs = rule.who === "user" && rule.needs.every((n) => n.on === RequestNamespace);
    const listing = ["GET /v1/jobs", "GET /v1/services", "GET /v1/recommendations", "GET /v1/prometheus/sd", "GET /v1/secrets"].includes(`${r.method} ${r.pattern}`);
    const userMay = (kind: string): boolean =>
      rule.who === "user" &&
      (kind === "admin" ||
        (kind === "read-only" && rule.needs.every((n) => n.cap === "read" && n.on === RequestNamespace)) ||
        (kind.startsWith("other namespace") && rule.needs.length === 0) ||
        (kind === "other namespace, in its namespace" && inNs) ||
        (kind === "other namespace, every namespace" && inNs && listing));
    for (const [kind, token] of Object.entries(tokens)) {
      const path = pathOf(kind);
      const unknown = ["none", "wrong", "wrong secret of a real id", "expired", "revoked"].includes(kind);
      const allowed = rule.who === "none" || (rule.who === "host" && kind === "host") || (rule.who === "join" && kind === "join") || userMay(kind);
      const want = allowed ? "allowed" : unknown ? 401 : 403;
      const got = await statusOf(server.url, r.method, path, token, r.upgrade);
      const as = got.status === 401 || got.status === 403 ? got.status : "allowed";
      if (as !== want) wrong.push(`${r.upgrade ? "UPGRADE " : ""}${r.method} ${r.pattern} with ${kind}: ${got.status}, want ${want} ${got.body}`);
      if (got.status === 403) {
        const msg = (JSON.parse(got.body) as { error: { code: string; message: string } }).error;
        if (msg.code !== "TIFFIN_FORBIDDEN" || !/needs (\w+ on \S+|a host token|the join token|a user token)/.test(msg.message)) wrong.push(`${r.method} ${r.pattern} with ${kind}: 403 names no capability: ${got.body}`);
      }
      if (got.status === 401 && kind === "revoked" && !got.body.includes("was revoked")) wrong.push(`${r.method} ${r.pattern}: a revoked token is not told so: ${got.body}`);
      if (got.status === 401 && kind === "expired" && !got.body.includes("expired at")) wrong.push(`${r.method} ${r.pattern}: an expired token is not told so: ${got.body}`);
    }
  }
  assert.deepEqual(wrong, []);
  // A path no route has: 401 to strangers (no probing), 404 (or 405) to any known token.
  const unmatched = await Promise.all([[null, "GET"], [tokens["read-only"], "GET"], [tokens.host, "GET"], [tokens["read-only"], "DELETE"]].map(async ([token, method]) => (await statusOf(server.url, method ?? "GET", method === "DELETE" ? "/v1/jobs" : "/v1/nothing", token ?? null, false)).status));
  assert.deepEqual(unmatched, [401, 404, 404, 405]);

  // The registration is audited as the join token's, naming the host.
  const reg = await eventually("the registration audited", async () => (await admin.audit(1000)).find((e) => e.action === "call" && e.route === "/v1/agent/register" && e.status === 200));
  assert.ok(reg.action === "call" && reg.by?.name === "join" && new RegExp(`^host alpha \\(${agent.hostId}\\) at `).test(reg.detail ?? ""), JSON.stringify(reg));

  // Every route that changes something is audited, unless it is listed here with why.
  const unaudited = new Set(["POST /v1/plan", "POST /v1/packages/missing", "POST /v1/packages/pieces/:sha256", "POST /v1/internal/contacts", "POST /v1/internal/swarm/:what", "POST /v1/internal/metrics"]);
  for (const r of routes) {
    const rule = RouteRules[ruleKey(r.method, r.pattern, r.upgrade)];
    assert.notEqual(rule?.who, "any", "no route takes any token");
    if (r.method === "GET" || !rule || rule.who === "host" || rule.who === "none" || rule.who === "any" || unaudited.has(`${r.method} ${r.pattern}`)) continue;
    assert.notEqual(rule.audit, "none", `${r.method} ${r.pattern} changes something: audit it`);
  }
});

void test("a token's life: created with a policy (secret shown once, stored hashed), whoami, no escalation, revoked at once; all audited without secrets", async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(`${dir}/state.db`);
  const ts = await startTestServer({ dir, store });
  t.after(async () => {
    await ts.cleanup();
    await store.close();
  });
  const { server } = ts;
  const admin = new ApiClient({ addr: server.url, token: server.adminToken });
  const made = await admin.createToken({ name: "ci", policy: ["ns/default=read,write", "tokens=write"], ttlMs: 3_600_000 });
  assert.match(made.secret, /^tfn_[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/);
  assert.deepEqual([made.token.name, made.token.state, made.token.createdBy], ["ci", "active", { id: "admin", name: "admin" }]);
  assert.ok(made.token.expiresAt !== null && made.token.expiresAt > Date.now() + 3_500_000);
  const ci = new ApiClient({ addr: server.url, token: made.secret });
  assert.deepEqual(await ci.whoami(), { kind: "token", id: made.token.id, name: "ci", policy: [{ on: "ns/default", caps: ["read", "write"] }, { on: "tokens", caps: ["write"] }], expiresAt: made.token.expiresAt });
  assert.equal((await admin.whoami()).kind, "admin");

  // The store and the list hold no secret: only its sha256.
  const { kvs } = await store.range("/tokens/");
  assert.equal(kvs.length, 1);
  assert.ok(!kvs[0]!.value.includes(made.secret.split(".")[1]!), "the stored record holds no secret");
  assert.ok(!JSON.stringify(await admin.tokens()).includes("secretSha256"));

  // A token hands out only what it holds, and no longer than it lives.
  const sub = await ci.createToken({ name: "ci-reader", policy: ["ns/default=read"], ttlMs: 60_000 });
  await assert.rejects(ci.createToken({ name: "up", policy: ["*=admin"], ttlMs: 60_000 }), { code: "TIFFIN_FORBIDDEN", message: /ci cannot grant \*=admin/ });
  await assert.rejects(ci.createToken({ name: "long", policy: ["ns/default=read"] }), { code: "TIFFIN_FORBIDDEN", message: /cannot make a token that outlives it/ });
  await assert.rejects(ci.createToken({ name: "bad", policy: ["jobs=read"] }), { code: "TIFFIN_BAD_REQUEST", message: /1 invalid grant/ });
  await assert.rejects(ci.hosts(), { code: "TIFFIN_FORBIDDEN", message: /needs read on hosts/ });
  // A narrower token cannot revoke a wider one.
  const reader = new ApiClient({ addr: server.url, token: sub.secret });
  assert.deepEqual((await reader.jobs()), []);
  await assert.rejects(reader.revokeToken(made.token.id), { code: "TIFFIN_FORBIDDEN", message: /needs write on tokens/ });

  // Revoked: refused by the very next call.
  assert.equal((await ci.revokeToken(sub.token.id)).state, "revoked");
  await assert.rejects(reader.jobs(), { code: "TIFFIN_UNAUTHORIZED", message: /was revoked at/ });
  assert.deepEqual((await admin.tokens()).map((x) => [x.name, x.state]), [["ci", "active"], ["ci-reader", "revoked"]]);

  // The audit: who (token id and name), what, from where, the outcome; refusals by known tokens too.
  const audit = await eventually("the revoke audited", async () => {
    const all = await admin.audit(100);
    return all.some((e) => e.action === "call" && e.method === "DELETE" && e.status === 200) ? all : null;
  });
  const calls = audit.flatMap((e: AuditEntry) => (e.action === "call" ? [[e.by?.name, e.method, e.route, e.status, e.error] as const] : []));
  // Sorted: entries are in time order to the millisecond, and two calls may share one.
  const order = (x: readonly unknown[]): string => JSON.stringify(x);
  assert.deepEqual(calls.filter((c) => c[2] === "/v1/tokens" || c[2] === "/v1/tokens/:id").map(order).sort(), [
    ["admin", "POST", "/v1/tokens", 200, null],
    ["ci", "POST", "/v1/tokens", 200, null],
    ["ci", "POST", "/v1/tokens", 403, "TIFFIN_FORBIDDEN"],
    ["ci", "POST", "/v1/tokens", 403, "TIFFIN_FORBIDDEN"],
    ["ci", "POST", "/v1/tokens", 400, "TIFFIN_BAD_REQUEST"],
    ["ci-reader", "DELETE", "/v1/tokens/:id", 403, "TIFFIN_FORBIDDEN"],
    ["ci", "DELETE", "/v1/tokens/:id", 200, null],
  ].map(order).sort());
  const first = audit.find((e) => e.action === "call");
  assert.ok(first?.action === "call" && first.remote === "127.0.0.1" && first.by?.id === "admin" && /created token [0-9a-f]{12} "ci" with ns\/default=read,write tokens=write until /.test(first.detail ?? ""), JSON.stringify(first));
  // Reads are not audited, and no secret is ever in the audit.
  assert.ok(!audit.some((e) => e.action === "call" && e.method === "GET"));
  for (const s of [made.secret, sub.secret, server.adminToken]) assert.ok(!JSON.stringify(audit).includes(s));
  const since = await admin.audit(100, Date.now() + 60_000);
  assert.deepEqual(since, []);
});

void test("two servers on one etcd: a token made on one works on the other, and its revocation is refused there at once", { skip: etcdAvailable() ? false : "etcd is not installed" }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const servers = [];
  for (const _ of [1, 2]) {
    const store = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix: "/acl" });
    undo.push(() => store.close());
    const s = await startServer({ dataDir: tempDir(), listen: "127.0.0.1:0", store, log: process.env["TIFFIN_TEST_LOG"] ?? "silent" });
    undo.push(() => s.close());
    servers.push(s);
  }
  const [a, b] = servers as [Awaited<ReturnType<typeof startServer>>, Awaited<ReturnType<typeof startServer>>];
  const made = await new ApiClient({ addr: a.url, token: a.adminToken }).createToken({ name: "shared", policy: ["ns/default=read"] });
  const onB = new ApiClient({ addr: b.url, token: made.secret });
  await eventually("b knows the token", async () => (await call(b.url, "GET", "/v1/jobs", made.secret)).status === 200, 5000);
  assert.deepEqual(await onB.jobs(), []);
  await new ApiClient({ addr: a.url, token: a.adminToken }).revokeToken(made.token.id);
  const t0 = Date.now();
  await eventually("b refuses the revoked token", async () => (await call(b.url, "GET", "/v1/jobs", made.secret)).status === 401, 5000);
  // The watch's latency: milliseconds on an idle machine; bounded loosely for a loaded CI.
  const lag = Date.now() - t0;
  t.diagnostic(`refused on the other server ${lag} ms after the revoke answered`);
  assert.ok(lag < 3000, `refused on the other server ${lag} ms after the revoke answered`);
});
