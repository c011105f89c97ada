// The registry's watch across a leader change of etcd (issue 15): a server on a real 3-member etcd, a
// fake agent whose tasks fail and recover one at a time, and a watcher resumed from a revision that
// follows the endpoint kind while etcd's leader is killed with kill -9 mid-way. It must get every
// change once and in order: exactly the removals and additions the tasks caused, the same events a
// second watcher reads from the same revision afterwards, and a watcher resumed from a revision in
// the middle gets exactly the rest.
import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { ApiClient } from "../../api/client.ts";
import type { WatchEvent, WatchMessage } from "../../api/watch-types.ts";
import { openEtcdStore } from "../../state/etcd.ts";
import { etcdAvailable, startEtcd } from "../../state/etcd-testing.ts";
import { startServer } from "../main.ts";
import { specOf } from "../testing/fixtures.ts";
import { eventually, FakeAgent, tempDir } from "../testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

/** The member leading etcd's raft, from each member's status (-1 when none answers as leader). */
async function etcdLeader(endpoints: string[]): Promise<number> {
  for (const [i, e] of endpoints.entries()) {
    try {
      const res = await fetch(`${e}/v3/maintenance/status`, { method: "POST", body: "{}", signal: AbortSignal.timeout(1000) });
      const st = (await res.json()) as { leader?: string; header?: { member_id?: string } };
      if (st.leader && st.leader === st.header?.member_id) return i;
    } catch {
      // a stopped member: ask the next
    }
  }
  return -1;
}

/** An event as compared: what changed, which endpoint, at which revision, served by which attempt. */
const shown = (e: WatchEvent): string => `${e.type} ${e.name}@${e.revision} ${e.object === null ? "" : (e.object as { attemptId?: string }).attemptId ?? ""}`;

/** Follows `from` on until aborted; the events (bookmarks and resets left out, resets counted). */
function follow(api: ApiClient, from: number): { events: WatchEvent[]; resets: () => number; stop: () => void } {
  const events: WatchEvent[] = [];
  let resets = 0;
  const ac = new AbortController();
  void (async () => {
    for await (const m of api.watch({ kinds: ["endpoint"], from, signal: ac.signal, maxRetryMs: 200 }) as AsyncGenerator<WatchMessage>) {
      if (m.type === "reset") resets++;
      else if (m.type !== "bookmark") events.push(m);
    }
  })().catch(() => undefined);
  return { events, resets: () => resets, stop: () => ac.abort() };
}

void test("endpoint watch: every change once and in order across a kill -9 of etcd's leader, resumed from a revision", { skip, timeout: 120_000 }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  const etcd = await startEtcd({ members: 3 });
  undo.push(() => etcd.stop());
  const dir = tempDir();
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  // A short call timeout: a call caught on the dead member fails over sooner (the test's time is mostly that).
  const store = await openEtcdStore(etcd.endpoints, { prefix: "/tiffin-endpoints-ha", callTimeoutMs: 2000 });
  undo.push(() => store.close());
  // Liveness slow enough that the etcd election never turns the host suspect: every change is the tasks'.
  // The registry has no periodic full pass: every endpoint change here comes from the trigger its
  // task's change gave (a lapse of leadership during etcd's election once dropped one: leader.test.ts).
  const server = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log: process.env["TIFFIN_TEST_LOG"] ?? "silent", timing: { suspectMs: 30_000, downMs: 60_000 } });
  undo.push(() => server.close());
  const api = new ApiClient({ addr: server.url, token: server.adminToken });
  const agent = new FakeAgent(server.url, "a");
  await agent.register(server.joinToken);
  const beat = setInterval(() => void agent.heartbeat().catch(() => undefined), 300);
  undo.push(() => clearInterval(beat));
  await agent.heartbeat();

  await api.apply(specOf({ name: "web", ports: ["http"], replicas: 3 }));
  const assigned = agent.assignments();
  undo.push(() => assigned.close());
  const attempts = await eventually("3 tasks assigned", () => {
    const a = (assigned.latest() ?? []).filter((x) => x.attempt.job === "web");
    return a.length === 3 ? a.map((x) => x.attempt).sort((x, y) => x.index - y.index) : null;
  });
  // Retried as agents retry: a write during etcd's election may time out (and may have been applied: reports are idempotent).
  const report = async (i: number, state: "running" | "unhealthy"): Promise<void> => {
    await eventually(`web/${i} reported ${state}`, () => agent.report([{ id: attempts[i]?.id ?? "", state, pid: 100 + i, startedAt: 1, ports: { http: 20_000 + i } }]).then(() => true, () => false), 30_000);
  };
  for (const i of [0, 1, 2]) await report(i, "running");
  const listed = async (): Promise<number[]> => (await api.endpoints("web")).map((e) => e.index);
  await eventually("3 endpoints", async () => (await listed()).length === 3, 20_000);

  const from = (await store.revision()) + 1;
  const watcher = follow(api, from);
  undo.push(() => watcher.stop());
  const expected: string[] = [];
  /** Task i fails its health check, then serves again: its endpoint removed, then added back. */
  const toggle = async (i: number): Promise<void> => {
    await report(i, "unhealthy");
    await eventually(`web/${i} removed`, async () => !(await listed()).includes(i), 30_000);
    await report(i, "running");
    await eventually(`web/${i} back`, async () => (await listed()).includes(i), 30_000);
    expected.push(`removed ${i}`, `added ${i}`);
  };
  await toggle(0);
  await toggle(1);
  const leader = await etcdLeader(etcd.endpoints);
  assert.ok(leader >= 0, "etcd has a leader");
  etcd.kill(leader);
  await toggle(2);
  await toggle(0);
  const next = await eventually("a new etcd leader", async () => {
    const l = await etcdLeader(etcd.endpoints);
    return l >= 0 ? l : null;
  }, 20_000);
  assert.notEqual(next, leader, "etcd's leader changed");
  await toggle(1);

  const what = (e: WatchEvent): string => `${e.type} ${Number(e.name.split("/").at(-1))}`;
  await eventually("the watcher has every change", () => watcher.events.length >= expected.length, 20_000);
  await new Promise((r) => setTimeout(r, 200)); // nothing more may come
  assert.deepEqual(watcher.events.map(what), expected, "every change once, in order");
  const revisions = watcher.events.map((e) => e.revision);
  assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), "in revision order");

  // Read again from the same revision after the fact, and from the middle: the same history.
  const again = follow(api, from);
  undo.push(() => again.stop());
  await eventually("the second watcher has every change", () => again.events.length >= expected.length, 20_000);
  assert.deepEqual(again.events.map(shown), watcher.events.map(shown));
  const mid = watcher.events[4];
  assert.ok(mid);
  const rest = follow(api, mid.revision);
  undo.push(() => rest.stop());
  await eventually("the resumed watcher has the rest", () => rest.events.length >= expected.length - 4, 20_000);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(rest.events.map(shown), watcher.events.slice(4).map(shown));
  assert.equal(watcher.resets() + again.resets() + rest.resets(), 0, "no watcher had to list again");
});
