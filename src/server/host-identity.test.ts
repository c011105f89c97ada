// A host's identity over a real server and SQLite file: registering an existing host's name needs that
// host's token (the join token alone took over any host, its address and its token), inventory
// figures are bounded, and an admin removes a host record (re-provisioning) only once it is down and
// nothing of it can still run.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiErrorBody, RegisterResponse } from "../api/types.ts";
import { ManualClock } from "../model/index.ts";
import { inventoryOf, specOf } from "./testing/fixtures.ts";
import { call, eventually, FakeAgent, startTestServer } from "./testing/harness.ts";

function codeOf(body: unknown): string | undefined {
  return (body as ApiErrorBody).error?.code;
}

void test("register: an existing host's name needs its host token; the join token alone takes over nothing", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, joinToken } = ts.server;
  const real = new FakeAgent(url, "alpha");
  const reg = await real.register(joinToken, { address: "10.0.0.1:7071" });

  const cases: { name: string; hostToken?: unknown; status: number; code: string }[] = [
    { name: "no host token", status: 409, code: "TIFFIN_CONFLICT" },
    { name: "a wrong host token", hostToken: "x".repeat(43), status: 401, code: "TIFFIN_UNAUTHORIZED" },
    { name: "its token with one character changed", hostToken: `${reg.hostToken.slice(0, -1)}${reg.hostToken.endsWith("A") ? "B" : "A"}`, status: 401, code: "TIFFIN_UNAUTHORIZED" },
    { name: "the join token as host token", hostToken: joinToken, status: 401, code: "TIFFIN_UNAUTHORIZED" },
    { name: "a host token that is not a string", hostToken: 42, status: 400, code: "TIFFIN_BAD_REQUEST" },
  ];
  for (const c of cases) {
    const body = { inventory: inventoryOf("alpha", { address: "10.6.6.6:7071" }), ...(c.hostToken === undefined ? {} : { hostToken: c.hostToken }) };
    const r = await call(url, "POST", "/v1/agent/register", joinToken, body);
    assert.equal(r.status, c.status, `${c.name}: ${JSON.stringify(r.body)}`);
    assert.equal(codeOf(r.body), c.code, c.name);
    assert.ok(!JSON.stringify(r.body).includes(reg.hostToken), `${c.name}: the host token is not handed out`);
    if (c.status === 409) assert.match((r.body as ApiErrorBody).error.hint ?? "", /tiffin hosts remove alpha/, `${c.name}: the hint names the admin action`);
  }
  const hosts = await ts.api.hosts();
  assert.equal(hosts.length, 1);
  assert.equal(hosts[0]?.address, "10.0.0.1:7071", "the address is the real host's");

  // The real agent, with its token, re-registers and may change its inventory.
  const again = await call(url, "POST", "/v1/agent/register", joinToken, { inventory: inventoryOf("alpha", { address: "10.0.0.2:7071", cores: 8 }), hostToken: reg.hostToken });
  assert.equal(again.status, 200, JSON.stringify(again.body));
  assert.equal((again.body as RegisterResponse).hostToken, reg.hostToken);
  assert.equal((again.body as RegisterResponse).hostId, reg.hostId);
  const after = (await ts.api.hosts())[0];
  assert.equal(after?.address, "10.0.0.2:7071");
  assert.equal(after?.cores, 8);
});

void test("register: a first registration whose answer was lost is retried with the token its agent proposed; another proposal is still refused", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, joinToken } = ts.server;
  const proposed = "p".repeat(43);
  const body = { inventory: inventoryOf("beta", { address: "10.0.0.3:7071" }), proposedToken: proposed };
  // The first call registers; its answer is "lost" (the agent never reads it) and the agent asks again.
  const first = await call(url, "POST", "/v1/agent/register", joinToken, body);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal((first.body as RegisterResponse).hostToken, proposed, "a new name gets the proposed token");
  const retry = await call(url, "POST", "/v1/agent/register", joinToken, body);
  assert.equal(retry.status, 200, `the retry is the same host: ${JSON.stringify(retry.body)}`);
  assert.equal((retry.body as RegisterResponse).hostId, (first.body as RegisterResponse).hostId);
  assert.equal((retry.body as RegisterResponse).hostToken, proposed);
  // Another agent under the name, proposing its own token: 409 as without one, and nothing handed out.
  const other = await call(url, "POST", "/v1/agent/register", joinToken, { ...body, proposedToken: "q".repeat(43) });
  assert.equal(other.status, 409, JSON.stringify(other.body));
  assert.ok(!JSON.stringify(other.body).includes(proposed));
  // A weak proposal is refused at its field.
  const weak = await call(url, "POST", "/v1/agent/register", joinToken, { inventory: inventoryOf("gamma"), proposedToken: "short" });
  assert.equal(weak.status, 400);
  assert.match(JSON.stringify(weak.body), /proposedToken/);
});

void test("register: inventory figures and strings are bounded", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, joinToken } = ts.server;
  const cases: { name: string; over: Record<string, unknown>; path: string }[] = [
    { name: "memory 1e308", over: { memoryMiB: 1e308 }, path: "inventory.memoryMiB" },
    { name: "disk 1e308", over: { diskMiB: 1e308 }, path: "inventory.diskMiB" },
    { name: "a million cores", over: { cores: 1e6 }, path: "inventory.cores" },
    { name: "an address that is not host:port", over: { address: "evil.example/x?" }, path: "inventory.address" },
    { name: "a 10 kB kernel string", over: { kernel: "k".repeat(10_000) }, path: "inventory.kernel" },
    { name: "1000 labels", over: { labels: Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`l${i}`, "v"])) }, path: "inventory.labels" },
  ];
  for (const c of cases) {
    const r = await call(url, "POST", "/v1/agent/register", joinToken, { inventory: { ...inventoryOf("alpha"), ...c.over } });
    assert.equal(r.status, 400, `${c.name}: ${JSON.stringify(r.body).slice(0, 300)}`);
    assert.ok((r.body as ApiErrorBody).error.problems.some((p) => p.path === c.path), `${c.name}: a problem at ${c.path}`);
  }
  assert.deepEqual(await ts.api.hosts(), [], "nothing registered");
  // What a big real machine sends is taken.
  const big = await call(url, "POST", "/v1/agent/register", joinToken, { inventory: inventoryOf("big", { cores: 512, memoryMiB: 24 * 1024 * 1024, diskMiB: 1024 * 1024 * 1024, address: "[fd00::1]:7071" }) });
  assert.equal(big.status, 200, JSON.stringify(big.body));
});

void test("tiffin hosts remove: refused while the host is up or its tasks may run, then the name is free", async (t) => {
  const clock = new ManualClock();
  const ts = await startTestServer({ clock });
  t.after(() => ts.cleanup());
  const { url, joinToken, adminToken } = ts.server;
  const alpha = new FakeAgent(url, "alpha");
  await alpha.register(joinToken);
  // At most one live copy: its task must not be declared lost the moment the record goes.
  await ts.api.apply(specOf({ disconnect: { stopAfterMs: 60_000 } }));
  const att = await eventually("placed", async () => (await ts.api.job("web")).tasks[0]?.attemptId ?? null);
  await alpha.report([{ id: att, state: "running", pid: 77, startedAt: clock.now() }]);

  const up = await call(url, "DELETE", "/v1/hosts/alpha", adminToken);
  assert.equal(up.status, 409, JSON.stringify(up.body));
  assert.match((up.body as ApiErrorBody).error.message, /alpha.*up/);

  assert.equal((await call(url, "DELETE", "/v1/hosts/nosuch", adminToken)).status, 404);
  assert.equal((await call(url, "DELETE", "/v1/hosts/alpha", joinToken)).status, 403, "an admin action, which the join token may not do");

  // Down (no heartbeats past the lease), but its task may still run there until the fence wait is over.
  for (let i = 0; i < 30; i++) {
    clock.advance(250);
    await new Promise((r) => setTimeout(r, 5));
  }
  await eventually("alpha down", async () => (await ts.api.hosts())[0]?.status === "down");
  const busy = await call(url, "DELETE", "/v1/hosts/alpha", adminToken);
  assert.equal(busy.status, 409, JSON.stringify(busy.body));
  assert.match((busy.body as ApiErrorBody).error.message, /web\/0/, "names the task still there");

  // Past the stop-after wait the attempt is lost and the task leaves alpha: now it can go.
  clock.advance(70_000);
  await eventually("task unplaced from alpha", async () => (await ts.api.job("web")).tasks[0]?.hostId !== alpha.hostId);
  const removed = await call(url, "DELETE", "/v1/hosts/alpha", adminToken);
  assert.equal(removed.status, 200, JSON.stringify(removed.body));
  assert.deepEqual(await ts.api.hosts(), []);
  assert.equal((await call(url, "DELETE", "/v1/hosts/alpha", adminToken)).status, 404, "gone");
  // The old token is worthless; a re-provisioned machine registers under the name without one.
  assert.equal((await call(url, "POST", "/v1/agent/heartbeat", alpha.reg?.hostToken ?? null, { hostId: alpha.hostId })).status, 401);
  const fresh = await new FakeAgent(url, "alpha").register(joinToken);
  assert.equal(fresh.hostId, alpha.hostId, "the same name, the same id");
  assert.notEqual(fresh.hostToken, alpha.reg?.hostToken, "a new token");
});
