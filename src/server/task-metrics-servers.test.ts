// Task metric series through real servers: an agent's summaries reach one server; after its blocks
// are written, another server on the same etcd answers `GET /v1/jobs/:name/metrics?series=1` with the
// same points, and a server restarted on its SQLite file answers what it had before. Blocks of 1 s and
// points every 100 ms (ServerOptions.taskMetrics) stand for the 10-minute blocks of one-minute points.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { ApiClient } from "../api/client.ts";
import type { JobMetricsView } from "../api/types.ts";
import { createAgentClient } from "../api/agent-client.ts";
import type { TaskMetrics } from "../model/index.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import { openStore, startServer } from "./main.ts";
import type { ServerHandle } from "./main.ts";
import { specOf } from "./testing/fixtures.ts";
import { eventually, FakeAgent, tempDir } from "./testing/harness.ts";

// A read is one range a block of the keep: a minute of 1-s blocks is 60 (24 h of 10-minute blocks, 144).
const taskMetrics = { blockMs: 1000, bucketMs: 100, keepMs: 60_000 };
const log = process.env["TIFFIN_TEST_LOG"] ?? "silent";
const summary = (attemptId: string, at: number, n: number): TaskMetrics => ({
  attemptId, at, up: true, scrapes: n, scrapeErrors: 0, lastError: null, series: 4, scrapeMs: 1, clients: n, errorsPerSec: n / 10, latencySeconds: 0.05,
});

/** A job of one task placed on a fake agent of `server`, running; its attempt id. */
async function runningTask(server: ServerHandle, agent: FakeAgent): Promise<string> {
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  await agent.register(server.joinToken);
  await api.apply(specOf({ replicas: 1 }));
  const placed = await eventually("the task placed", async () => (await api.job("web")).tasks[0]?.attemptId ?? null);
  await agent.report([{ id: placed, state: "running", startedAt: Date.now() }]);
  return placed;
}

/** Summaries every 50 ms for `ms`, to `server`. */
async function report(server: ServerHandle, agent: FakeAgent, attemptId: string, ms: number): Promise<void> {
  const client = createAgentClient(server.url);
  const end = Date.now() + ms;
  for (let n = 1; Date.now() < end; n++) {
    const r = await client.reportMetrics!(agent.reg?.hostToken ?? "", { hostId: agent.hostId, tasks: [summary(attemptId, Date.now(), n)] });
    assert.ok(r.ok, r.ok ? "" : r.message);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function series(server: ServerHandle): Promise<{ at: number; clients: number | null }[]> {
  const res = await fetch(`${server.url}/v1/jobs/web/metrics?series=1`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  const view = (await res.json()) as JobMetricsView;
  return (view.tasks[0]?.series ?? []).map((p) => ({ at: p.at, clients: p.clients }));
}

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

void test("two servers on one etcd answer the same series, whichever received the reports", { skip, timeout: 60_000 }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const servers: ServerHandle[] = [];
  for (let i = 0; i < 2; i++) {
    const dir = tempDir();
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix: "/tmha" });
    undo.push(() => store.close());
    const s = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log, taskMetrics });
    undo.push(() => s.close());
    servers.push(s);
  }
  const [a, b] = servers as [ServerHandle, ServerHandle];
  const agent = new FakeAgent(a.url, "m1");
  const attemptId = await runningTask(a, agent);
  await report(a, agent, attemptId, 2500);
  // Closed blocks are written just after each boundary (+25 ms here): wait for the last one.
  await new Promise((r) => setTimeout(r, 1200));
  const fromA = await series(a);
  const fromB = await series(b);
  assert.ok(fromA.length >= 15, `one point every 100 ms on the receiving server: ${fromA.length}`);
  assert.deepEqual(fromB, fromA, "the other server answers the same points");
});

void test("a server restarted on its SQLite file answers the series it had", { timeout: 60_000 }, async (t) => {
  const dir = tempDir();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  let s = await startServer({ dataDir: dir, listen: "127.0.0.1:0", log, taskMetrics });
  const agent = new FakeAgent(s.url, "m1");
  const attemptId = await runningTask(s, agent);
  await report(s, agent, attemptId, 1500);
  const before = await series(s);
  assert.ok(before.length >= 10, `points held: ${before.length}`);
  await s.close(); // writes the open block too
  s = await startServer({ dataDir: dir, listen: "127.0.0.1:0", log, taskMetrics });
  t.after(() => s.close());
  assert.deepEqual(await series(s), before);
});

void test("HA: summaries sent to a follower are passed to the leader; both servers answer the latest summary and the open block at once", { skip, timeout: 60_000 }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const servers: ServerHandle[] = [];
  for (let i = 0; i < 2; i++) {
    const dir = tempDir();
    undo.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix: "/tmha2" });
    undo.push(() => store.close());
    // Blocks of a minute: nothing reaches the store during the test, so only memory can answer.
    const s = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log, taskMetrics: { blockMs: 60_000, bucketMs: 100, keepMs: 600_000 } });
    undo.push(() => s.close());
    servers.push(s);
  }
  const leader = await eventually("a leader", () => servers.find((s) => s.isLeader()) ?? null);
  const follower = servers.find((s) => s !== leader);
  assert.ok(follower);
  const agent = new FakeAgent(follower.url, "m1");
  const attemptId = await runningTask(follower, agent);
  await report(follower, agent, attemptId, 800);
  const view = async (s: ServerHandle): Promise<JobMetricsView> => (await (await fetch(`${s.url}/v1/jobs/web/metrics?series=1`, { headers: { authorization: `Bearer ${s.adminToken}` } })).json()) as JobMetricsView;
  const [fromLeader, fromFollower] = [await view(leader), await view(follower)];
  assert.ok((fromLeader.tasks[0]?.series ?? []).length >= 5, `the leader holds the open block's points: ${fromLeader.tasks[0]?.series?.length}`);
  assert.equal(fromLeader.tasks[0]?.metrics?.attemptId, attemptId, "and the latest summary");
  assert.deepEqual(fromFollower.tasks[0]?.series, fromLeader.tasks[0]?.series, "the follower answers the same points");
  assert.deepEqual(fromFollower.tasks[0]?.metrics, fromLeader.tasks[0]?.metrics, "and the same latest summary");
  // The leader's own Prometheus output has the task's series (the one server Prometheus finds them on).
  const prom = await (await fetch(`${leader.url}/metrics`, { headers: { authorization: `Bearer ${leader.adminToken}` } })).text();
  assert.match(prom, /^tiffin_task_clients\{job="web",namespace="default",index="0",host="m1",version="1"\} \d+/m);
});
