// Streaming endpoints: task logs proxied from the agent, and two servers on one store that never
// double-book a host (the typed watch: watch.test.ts).

import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ApiClient } from "../api/client.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import { startServer } from "./main.ts";
import { specOf } from "./testing/fixtures.ts";
import { eventually, FakeAgent, startTestServer, tempDir } from "./testing/harness.ts";
import { rmSync } from "node:fs";

void test("logs are proxied from the task's agent with the host token, and follow streams", async (t) => {
  let seenAuth = "";
  let seenUrl = "";
  let upstreamClosed = false;
  const fakeAgent = createServer((req, res) => {
    seenAuth = req.headers.authorization ?? "";
    seenUrl = req.url ?? "";
    res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
    res.write("line 1\n");
    const timer = setTimeout(() => res.write("line 2\n"), 100);
    req.on("close", () => {
      upstreamClosed = true;
      clearTimeout(timer);
    });
  });
  await new Promise<void>((r) => fakeAgent.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => fakeAgent.close(() => r())));
  fakeAgent.unref();
  const address = `127.0.0.1:${(fakeAgent.address() as AddressInfo).port}`;

  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agent = new FakeAgent(ts.server.url, "alpha");
  await agent.register(ts.server.joinToken, { address });
  await ts.api.apply(specOf());
  const s = await eventually("placed", async () => {
    const x = await ts.api.job("web");
    return x.tasks[0]?.attemptId ? x : null;
  });
  const attemptId = s.tasks[0]?.attemptId ?? "";

  const ac = new AbortController();
  let text = "";
  for await (const chunk of ts.api.logs("web", 0, { stream: "stderr", tail: 5, follow: true, signal: ac.signal })) {
    text += chunk;
    if (text.includes("line 2")) break;
  }
  assert.equal(text, "line 1\nline 2\n");
  assert.equal(seenAuth, `Bearer ${agent.reg?.hostToken}`);
  const q = new URL(seenUrl, "http://x");
  assert.equal(q.pathname, `/v1/logs/${attemptId}`);
  assert.deepEqual(Object.fromEntries(q.searchParams), { stream: "stderr", tail: "5", follow: "1" });
  await eventually("the agent's stream is closed when the client goes", () => upstreamClosed);

  // An agent that cannot be reached is a clear 503.
  await new Promise<void>((r) => fakeAgent.close(() => r()));
  fakeAgent.closeAllConnections();
  const r = await fetch(`${ts.server.url}/v1/tasks/web/0/logs`, { headers: { authorization: `Bearer ${ts.server.adminToken}` } });
  assert.equal(r.status, 503);
  assert.equal(((await r.json()) as { error: { code: string } }).error.code, "TIFFIN_UNAVAILABLE");
});

void test("two servers on one store never double-book a host", async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(join(dir, "state.db"));
  const a = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log: "silent" });
  const b = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log: "silent" });
  t.after(async () => {
    await a.close();
    await b.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  for (const name of ["alpha", "beta"]) await new FakeAgent(a.url, name).register(a.joinToken, { cores: 2, memoryMiB: 1024, labels: { rack: name } });
  const apiA = new ApiClient({ addr: a.url, token: a.adminToken });
  const apiB = new ApiClient({ addr: b.url, token: b.adminToken });
  // Four 1-core tasks fill the two 2-core hosts exactly; a fifth from another job must not fit.
  await Promise.all([apiA.apply(specOf({ name: "web", replicas: 4 })), apiB.apply(specOf({ name: "api", replicas: 1 }))]);
  await eventually("every task placed or explained", async () => {
    const jobs = await Promise.all([apiA.job("web"), apiB.job("api")]);
    const tasks = jobs.flatMap((j) => j.tasks);
    return tasks.length === 5 && tasks.every((x) => x.hostId !== null || x.reason !== null);
  });
  await new Promise((r) => setTimeout(r, 300));
  const hosts = await apiB.hosts();
  for (const h of hosts) assert.ok(h.used.cpu <= h.cores, `${h.name}: ${h.used.cpu} of ${h.cores} cores`);
  const tasks = [...(await apiA.job("web")).tasks, ...(await apiA.job("api")).tasks];
  assert.equal(tasks.filter((x) => x.hostId !== null).length, 4);
  const unplaced = tasks.find((x) => x.hostId === null);
  assert.match(unplaced?.reason ?? "", /no host fits: cpu on 2 hosts/);
});
