// Which tracker answers an agent when its server does not lead, with real servers (real SQLite file,
// real HTTP on loopback, a clock the test moves): one whose leader lease lapsed answers from its own
// tracker; a follower whose leader is hung stops calling it for a while after a call got no answer.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import type { ApiErrorBody, ClusterView, SwarmPlan } from "../../api/types.ts";
import { ManualClock } from "../../model/index.ts";
import { openSqliteStore } from "../../state/sqlite.ts";
import type { Store } from "../../state/store.ts";
import { wrapStore } from "../../state/store-wrap.ts";
import { LeaderKey } from "../leader.ts";
import type { LeaderValue } from "../leader.ts";
import { metricOf } from "../testing/fixtures.ts";
import { call, eventually, FakeAgent, startTestServer, tempDir } from "../testing/harness.ts";

const pkg = "c".repeat(64);

/** The store, except that between `stall()` and `release()` the renewals and the revocation of the
 * leader's lease, and new lease grants, hang (then fail): a lone server whose renewals stopped getting
 * through, and whose campaigns do not either (a store stalled under load). Every other call goes
 * through: reads, writes, the hosts' leases. */
function stallableLeaderLease(store: Store): { store: Store; stall: () => void; release: () => void } {
  const leaderLeases = new Set<string>();
  let stalled: { promise: Promise<void>; reject: (err: Error) => void } | null = null;
  const held = (lease: string): Promise<void> | null => (stalled && leaderLeases.has(lease) ? stalled.promise : null);
  return {
    stall: () => {
      stalled = Promise.withResolvers<void>();
      // Nobody may be waiting when it is released.
      stalled.promise.catch(() => undefined);
    },
    release: () => stalled?.reject(new Error("the store call stalled and failed")),
    store: wrapStore(store, {
      txn: (r) => {
        for (const op of r.success) if (op.type === "put" && op.key === LeaderKey && op.lease !== undefined) leaderLeases.add(op.lease);
        return store.txn(r);
      },
      grantLease: (ttl) => (stalled ? stalled.promise.then(() => "") : store.grantLease(ttl)),
      keepAlive: (l) => held(l) ?? store.keepAlive(l),
      revokeLease: (l) => held(l) ?? store.revokeLease(l),
    }),
  };
}

void test("a lone server whose leader lease lapsed answers announces and plans from its own tracker (counted as no-leader), and kept what it heard while leading", { timeout: 20_000 }, async (t) => {
  const dir = tempDir();
  const clock = new ManualClock();
  const sqlite = openSqliteStore(join(dir, "state.db"), { clock, leaseCheckMs: 50 });
  const { store, stall, release } = stallableLeaderLease(sqlite);
  // Hosts stay up whatever the clock does here: only the leader lease is at stake.
  const ts = await startTestServer({ dir, clock, store, timing: { downMs: 600_000, suspectMs: 600_000 } });
  t.after(async () => {
    release();
    await ts.stop();
    await sqlite.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const url = ts.server.url;
  const noLeader = async (): Promise<number> => metricOf(await ts.api.metrics(), "tiffin_swarm_forwarded_total", { result: "no-leader" });
  const [a, b, me] = ["a", "b", "me"].map((n) => new FakeAgent(url, n)) as [FakeAgent, FakeAgent, FakeAgent];
  for (const h of [a, b, me]) await h.register(ts.server.joinToken);
  const announce = async (h: FakeAgent): Promise<void> => {
    const r = await call(url, "POST", "/v1/agent/swarm/announce", h.reg!.hostToken, { address: `127.0.0.1:${h.name === "a" ? 7001 : 7002}`, full: true, packages: [{ id: pkg, complete: true, pieces: [] }] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  assert.equal(ts.server.isLeader(), true, "alone on its store, it leads");
  await announce(a);
  assert.equal(await noLeader(), 0, "a leader answers from its tracker as the leader");

  // Renewals stop getting through: the server steps down before the store could expire its lease,
  // then the store expires it and deletes the key, and the campaign for a new term hangs: between
  // terms, with no other server to lead.
  stall();
  const cluster = async (): Promise<ClusterView> => (await call(url, "GET", "/v1/cluster", ts.server.adminToken)).body as ClusterView;
  for (let i = 0; i < 100 && (ts.server.isLeader() || (await cluster()).leader !== null); i++) {
    clock.advance(100);
    await new Promise((r) => setTimeout(r, 2));
  }
  const view = await cluster();
  assert.equal(ts.server.isLeader(), false, "the lease lapsed");
  assert.equal(view.self.leader, false);
  assert.equal(view.leader, null, "the leader key expired: nobody leads");

  await announce(b);
  const r = await call(url, "POST", "/v1/agent/swarm/plan", me.reg!.hostToken, { packageId: pkg, address: "127.0.0.1:7003", total: 2, missing: [0, 1], inflight: [] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const plan = r.body as SwarmPlan;
  const peers = new Set(plan.pieces.flatMap((p) => p.sources.flatMap((s) => (s.kind === "peer" ? [s.host] : []))));
  assert.deepEqual([...peers].sort(), [a.hostId, b.hostId].sort(), "the plan names the peer announced while leading and the one announced since");
  assert.equal(plan.pieces.length, 2);
  assert.equal(await noLeader(), 2, "the announce and the plan were answered here with nobody else leading");
  assert.equal(ts.server.isLeader(), false, "still not leading: the answers did not come from a new term");
});

void test("a follower whose leader is hung answers 503 at once for a while after a passed-on call got no answer, then tries the leader again, one call at a time", { timeout: 30_000 }, async (t) => {
  // The "leader": accepts connections and requests, and never answers.
  const asked: string[] = [];
  // Except GET /v1/swarm/fetches, answered (with the token it was asked with) until the leader hangs.
  const fetchesAsked: string[] = [];
  const hung = http.createServer((req, res) => {
    asked.push(req.url ?? "");
    if (req.url !== "/v1/swarm/fetches") return;
    fetchesAsked.push(req.headers.authorization ?? "");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ epoch: "leader", at: 1, keepMs: 60_000, packages: [] }));
  });
  await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
  const dir = tempDir();
  const clock = new ManualClock();
  const store = openSqliteStore(join(dir, "state.db"), { clock, leaseCheckMs: 50 });
  t.after(async () => {
    await new Promise<void>((r) => {
      hung.close(() => r());
      hung.closeAllConnections();
    });
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // The election names it: its key, with no lease, is there before our server starts, so it follows.
  const leader: LeaderValue = { id: "hung", incarnation: "1", url: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`, since: clock.now() };
  await store.put(LeaderKey, JSON.stringify(leader));
  const timeoutMs = 1500;
  const ts = await startTestServer({ dir, clock, store, timing: { downMs: 600_000, suspectMs: 600_000 }, swarm: { forwardTimeoutMs: timeoutMs, forwardRetryMs: 5000 } });
  t.after(() => ts.stop());
  assert.equal(ts.server.isLeader(), false);
  const me = new FakeAgent(ts.server.url, "me");
  await me.register(ts.server.joinToken);
  const forwarded = async (result: string): Promise<number> => metricOf(await ts.api.metrics(), "tiffin_swarm_forwarded_total", { result });
  const swarmCalls = (): number => asked.filter((u) => u.startsWith("/v1/internal/swarm/")).length;
  const plan = async (): Promise<{ status: number; message: string; ms: number }> => {
    const started = Date.now();
    const r = await call(ts.server.url, "POST", "/v1/agent/swarm/plan", me.reg!.hostToken, { packageId: pkg, address: "127.0.0.1:7003", total: 2, missing: [0, 1], inflight: [] });
    return { status: r.status, message: (r.body as ApiErrorBody).error.message, ms: Date.now() - started };
  };

  // The fetches in flight are the leader's: asked there with the caller's own token, its answer passed on.
  const fetches = await call(ts.server.url, "GET", "/v1/swarm/fetches", ts.server.adminToken);
  assert.equal(fetches.status, 200, JSON.stringify(fetches.body));
  assert.deepEqual(fetches.body, { epoch: "leader", at: 1, keepMs: 60_000, packages: [] });
  assert.deepEqual(fetchesAsked, [`Bearer ${ts.server.adminToken}`]);

  const first = await plan();
  assert.equal(first.status, 503);
  assert.match(first.message, /did not answer:/);
  assert.ok(first.ms >= timeoutMs - 100, `the first call waited for the leader: ${first.ms} ms`);
  assert.equal(swarmCalls(), 1);
  assert.equal(await forwarded("unreachable"), 1);
  // The leader did not answer: the fetches read fails at once too, without asking it.
  const started = Date.now();
  const refused = await call(ts.server.url, "GET", "/v1/swarm/fetches", ts.server.adminToken);
  assert.equal(refused.status, 503);
  assert.match((refused.body as ApiErrorBody).error.message, /did not answer recently/);
  assert.ok(Date.now() - started < timeoutMs / 2, "not waited for");
  assert.equal(fetchesAsked.length, 1);

  // For the next 5 s (of the server's clock), calls fail at once without reaching the leader.
  for (const advance of [0, 2000, 2999]) {
    clock.advance(advance);
    const r = await plan();
    assert.equal(r.status, 503);
    assert.match(r.message, /did not answer recently/);
    assert.ok(r.ms < timeoutMs / 2, `answered at once: ${r.ms} ms`);
  }
  assert.equal(swarmCalls(), 1, "the leader was not called again");
  assert.equal(await forwarded("skipped"), 3);

  // Then one call tries the leader again; another one meanwhile still fails at once.
  clock.advance(1);
  const trial = plan();
  await eventually("the trial call reached the leader", () => swarmCalls() === 2);
  const meanwhile = await plan();
  assert.equal(meanwhile.status, 503);
  assert.ok(meanwhile.ms < timeoutMs / 2, `answered at once: ${meanwhile.ms} ms`);
  const tried = await trial;
  assert.equal(tried.status, 503);
  assert.match(tried.message, /did not answer:/);
  assert.equal(swarmCalls(), 2);
  assert.equal(await forwarded("unreachable"), 2);
  assert.equal(await forwarded("skipped"), 4);
});
