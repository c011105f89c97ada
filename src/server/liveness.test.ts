// Host liveness with a clock the test moves: suspect, down, re-placement, the at-most-one delay,
// upgrade windows, hosts coming back, and a restart that does not kill the fleet.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { HostStatus } from "../model/index.ts";
import { ManualClock } from "../model/index.ts";
import { specOf } from "./testing/fixtures.ts";
import { eventually, FakeAgent, startTestServer } from "./testing/harness.ts";
import { effectiveTiming } from "./liveness.ts";
import type { TestServer } from "./testing/harness.ts";

/** Moves the clock in small steps, letting I/O run between them; `each` runs after every step. */
async function advance(clock: ManualClock, ms: number, each: () => Promise<unknown> = async () => undefined): Promise<void> {
  const step = 250;
  for (let done = 0; done < ms; done += step) {
    clock.advance(Math.min(step, ms - done));
    await each();
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function statusOf(ts: TestServer, name: string): Promise<HostStatus | undefined> {
  return (await ts.api.hosts()).find((h) => h.name === name)?.status;
}

async function setup(t: { after: (fn: () => Promise<void>) => void }, clock: ManualClock): Promise<{ ts: TestServer; alpha: FakeAgent; beta: FakeAgent }> {
  const ts = await startTestServer({ clock });
  t.after(() => ts.cleanup());
  const alpha = new FakeAgent(ts.server.url, "alpha");
  const beta = new FakeAgent(ts.server.url, "beta");
  await alpha.register(ts.server.joinToken);
  return { ts, alpha, beta };
}

/** Applies a one-task job while alpha is the only host, reports it running, then registers beta. */
async function runOnAlpha(ts: TestServer, alpha: FakeAgent, beta: FakeAgent, over: Parameters<typeof specOf>[0] = {}): Promise<string> {
  await ts.api.apply(specOf(over));
  const s = await eventually("placed", async () => {
    const x = await ts.api.job("web");
    return x.tasks[0]?.attemptId ? x : null;
  });
  const t0 = s.tasks[0];
  assert.ok(t0?.attemptId);
  assert.equal(t0.hostId, alpha.hostId, "the task landed on alpha");
  await alpha.report([{ id: t0.attemptId, state: "running", pid: 77, startedAt: Date.now() }]);
  await beta.register(ts.server.joinToken);
  return t0.attemptId;
}

void test("a host without heartbeats turns suspect, then down, and its tasks are placed elsewhere", async (t) => {
  const clock = new ManualClock();
  const { ts, alpha, beta } = await setup(t, clock);
  const attemptId = await runOnAlpha(ts, alpha, beta);
  await advance(clock, 2000, () => Promise.all([alpha.heartbeat(), beta.heartbeat()]));
  assert.equal(await statusOf(ts, "alpha"), "up");

  await advance(clock, 3500, () => beta.heartbeat());
  assert.equal(await statusOf(ts, "alpha"), "suspect", "no heartbeat for 3.5 s");
  assert.equal((await ts.api.job("web")).tasks[0]?.hostId, alpha.hostId, "suspect hosts keep their tasks");

  await advance(clock, 2000, () => beta.heartbeat());
  await eventually("alpha down", async () => (await statusOf(ts, "alpha")) === "down");
  const moved = await eventually("re-placed on beta", async () => {
    const x = await ts.api.job("web");
    return x.tasks[0]?.hostId === beta.hostId ? x : null;
  });
  const lost = moved.tasks[0]?.attempts.find((a) => a.id === attemptId);
  assert.equal(lost?.state, "lost");
  assert.equal(moved.tasks[0]?.failures, 0, "a lost host is not the task's failure");

  // alpha comes back: it is up again and its assignment set no longer holds the old attempt.
  assert.deepEqual({ ...(await alpha.heartbeat()), serverTime: 0 }, { ok: true, reregister: false, heartbeatMs: 1000, serverTime: 0 });
  await eventually("alpha up", async () => (await statusOf(ts, "alpha")) === "up");
  const stream = alpha.assignments();
  t.after(() => stream.close());
  await stream.ready;
  assert.deepEqual(stream.latest(), [], "the agent stops what is not in its set");
});

void test("an at-most-one job is re-placed only after max(heartbeat, stopAfter) + fence + grace + 1 s", async (t) => {
  const clock = new ManualClock();
  const { ts, alpha, beta } = await setup(t, clock);
  const lastHeartbeat = clock.now();
  await runOnAlpha(ts, alpha, beta, { disconnect: { stopAfterMs: 8000 }, stop: { signal: "SIGTERM", graceMs: 2000 } });
  // Deadline: last heartbeat + max(heartbeat 1 s, stopAfter 8 s) + fence 3 s + grace 2 s + 1 s = 14 s.
  await advance(clock, 7000, () => beta.heartbeat());
  await eventually("alpha down", async () => (await statusOf(ts, "alpha")) === "down");
  await advance(clock, 13_500 - (clock.now() - lastHeartbeat), () => beta.heartbeat());
  await new Promise((r) => setTimeout(r, 100));
  const waiting = (await ts.api.job("web")).tasks[0];
  assert.equal(waiting?.hostId, alpha.hostId, "still waiting for the helper to have stopped it");
  assert.equal(waiting?.state, "running");

  await advance(clock, 1000, () => beta.heartbeat());
  const moved = await eventually("re-placed on beta", async () => {
    const x = await ts.api.job("web");
    return x.tasks[0]?.hostId === beta.hostId ? x : null;
  });
  assert.equal(moved.tasks[0]?.attempts.find((a) => a.hostId === alpha.hostId)?.state, "lost");
});

void test("an announced upgrade keeps a silent host out of suspect and down for its window", async (t) => {
  const clock = new ManualClock();
  const { ts, alpha, beta } = await setup(t, clock);
  await runOnAlpha(ts, alpha, beta);
  await alpha.heartbeat(20_000);
  assert.equal(await statusOf(ts, "alpha"), "upgrading");
  await advance(clock, 18_000, () => beta.heartbeat());
  assert.equal(await statusOf(ts, "alpha"), "upgrading");
  assert.equal((await ts.api.job("web")).tasks[0]?.hostId, alpha.hostId);
  await alpha.heartbeat();
  assert.equal(await statusOf(ts, "alpha"), "up");
  // Back to the normal lease: silent for longer than downMs means down.
  await advance(clock, 6000, () => beta.heartbeat());
  await eventually("alpha down", async () => (await statusOf(ts, "alpha")) === "down");
});

void test("a fresh server start gives every host a full lease: nobody is declared dead for the restart", async (t) => {
  const clock = new ManualClock();
  const { ts, alpha, beta } = await setup(t, clock);
  await runOnAlpha(ts, alpha, beta);
  await ts.stop();
  // The server was away for an hour.
  const later = new ManualClock(clock.now() + 3_600_000);
  const again = await startTestServer({ dir: ts.dir, clock: later });
  t.after(() => again.cleanup());
  assert.deepEqual((await again.api.hosts()).map((h) => h.status), ["up", "up"]);
  await advance(later, 4500);
  assert.deepEqual((await again.api.hosts()).map((h) => h.status), ["suspect", "suspect"], "not down within downMs of the start");
  assert.equal((await again.api.job("web")).tasks[0]?.hostId, alpha.hostId);
  // The leases are real: heartbeats keep alpha, beta stays silent and goes down.
  const alpha2 = alpha.at(again.server.url);
  await advance(later, 1500, () => alpha2.heartbeat());
  await eventually("beta down", async () => (await statusOf(again, "beta")) === "down");
  assert.equal(await statusOf(again, "alpha"), "up");
  assert.ok(beta.reg, "beta had registered before the restart");
});

void test("timing stretches with the fleet past maxHeartbeatsPerSecond, and only then", () => {
  const base = { heartbeatMs: 1000, suspectMs: 3000, downMs: 5000, fenceMs: 3000, maxHeartbeatsPerSecond: 2000 };
  const cases: [string, number, { heartbeatMs: number; suspectMs: number; downMs: number; fenceMs: number }][] = [
    ["small fleet: defaults", 3, { heartbeatMs: 1000, suspectMs: 3000, downMs: 5000, fenceMs: 3000 }],
    ["at the limit: defaults", 2000, { heartbeatMs: 1000, suspectMs: 3000, downMs: 5000, fenceMs: 3000 }],
    ["10,000 hosts: 5x, fencing unchanged", 10_000, { heartbeatMs: 5000, suspectMs: 15_000, downMs: 25_000, fenceMs: 3000 }],
  ];
  for (const [name, hosts, want] of cases) {
    const t = effectiveTiming(base, hosts);
    assert.deepEqual({ heartbeatMs: t.heartbeatMs, suspectMs: t.suspectMs, downMs: t.downMs, fenceMs: t.fenceMs }, want, name);
  }
});
