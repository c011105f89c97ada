// The health probes over a real server: /healthz and /readyz answer without a token and say nothing
// about the cluster; /readyz turns 503 when the store under the server stops answering.

import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { openSqliteStore } from "../state/sqlite.ts";
import { readiness } from "./routes/health.ts";
import { call, FakeAgent, startTestServer, tempDir } from "./testing/harness.ts";

void test("readiness: ready only when the store answers and the mirror follows it", () => {
  const cases: { name: string; store: boolean; mirror: boolean; ready: boolean }[] = [
    { name: "both fine", store: true, mirror: true, ready: true },
    { name: "store down", store: false, mirror: true, ready: false },
    { name: "mirror stale", store: true, mirror: false, ready: false },
    { name: "both down", store: false, mirror: false, ready: false },
  ];
  for (const c of cases) assert.equal(readiness(c.store, c.mirror).ready, c.ready, c.name);
});

void test("/healthz and /readyz answer without a token, carry no cluster data, and readyz fails when the store does", async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(join(dir, "state.db"));
  const ts = await startTestServer({ dir, store });
  let storeClosed = false;
  t.after(async () => {
    await ts.cleanup();
    if (!storeClosed) await store.close();
  });
  const { url, joinToken } = ts.server;
  await new FakeAgent(url, "alpha-host").register(joinToken);

  for (const token of [null, "wrong-token"]) {
    const health = await call(url, "GET", "/healthz", token);
    assert.equal(health.status, 200, `healthz with token ${token}`);
    assert.deepEqual(health.body, { status: "ok" });
    const ready = await call(url, "GET", "/readyz", token);
    assert.equal(ready.status, 200, `readyz with token ${token}`);
    assert.deepEqual(ready.body, { status: "ready", store: "ok", mirror: "ok" });
    assert.ok(!JSON.stringify(ready.body).includes("alpha-host"), "no host names in a probe");
  }
  // Other routes still need their token.
  assert.equal((await call(url, "GET", "/v1/hosts", null)).status, 401);

  // The store goes away under the running server: not ready (503), still alive.
  await store.close();
  storeClosed = true;
  const down = await call(url, "GET", "/readyz", null);
  assert.equal(down.status, 503);
  assert.equal((down.body as { status: string; store: string }).status, "not ready");
  assert.equal((down.body as { store: string }).store, "unreachable");
  assert.equal((await call(url, "GET", "/healthz", null)).status, 200);
});
