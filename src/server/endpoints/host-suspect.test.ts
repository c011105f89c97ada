// Issue 15's host-down target, against a real server (SQLite, HTTP, SSE) and fake agents: the
// endpoints of a host whose heartbeats stop are gone in every watcher within the suspect timeout plus
// 0.5 s of its last heartbeat (the registry removes them when the host turns suspect, not when its
// lease expires), while the other host's endpoints stay listed. Enough endpoints and watchers that
// the removal is more than one store transaction and the fan-out is more than one stream. Then b
// heartbeats again (a silent by then) and its endpoints come back: a change only a contact shows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import type { Endpoint } from "../../model/index.ts";
import { specOf } from "../testing/fixtures.ts";
import { call, eventually, FakeAgent, startTestServer } from "../testing/harness.ts";

const SuspectMs = 600;
const Replicas = 300;
const Watchers = 40;

/** One SSE watch of the endpoint kind from `from`: the time each endpoint's removal was parsed. */
function watchRemovals(url: string, token: string, from: number): Promise<{ removed: Map<string, number>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const removed = new Map<string, number>();
    const req = request(`${url}/v1/watch?kinds=endpoint&from=${from}`, { headers: { authorization: `Bearer ${token}` }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch: ${res.statusCode}`));
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let at: number;
        while ((at = buf.indexOf("\n\n")) >= 0) {
          const msg = buf.slice(0, at);
          buf = buf.slice(at + 2);
          const name = msg.startsWith("event: removed") ? /"name":"([^"]+)"/.exec(msg)?.[1] : undefined;
          if (name !== undefined && !removed.has(name)) removed.set(name, Date.now());
        }
      });
      resolve({ removed, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

void test("a host whose heartbeats stop: its endpoints gone in every watcher within suspect + 0.5 s, the other host's kept", async (t) => {
  // Down (the lease) long after suspect: only suspicion can remove the endpoints in time.
  const ts = await startTestServer({ timing: { heartbeatMs: 150, suspectMs: SuspectMs, downMs: 10_000, fenceMs: 3000 } });
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const agents = [new FakeAgent(url, "a"), new FakeAgent(url, "b")];
  const lastBeat = new Map<string, number>();
  const beating = new Set(["a", "b"]);
  for (const a of agents) await a.register(joinToken, { labels: { rack: `rack-${a.name}` } });
  const beat = (): void => {
    for (const a of agents) {
      if (!beating.has(a.name)) continue;
      const sent = Date.now();
      void a.heartbeat().then(() => beating.has(a.name) && lastBeat.set(a.name, sent), () => undefined);
    }
  };
  beat();
  const beats = setInterval(beat, 100);
  t.after(() => clearInterval(beats));

  const spec = specOf({ name: "svc", replicas: Replicas, ports: ["p"], resources: { cpu: 0.01, memoryMiB: 1, diskMiB: 1 }, spread: "rack" });
  assert.equal((await call(url, "POST", "/v1/jobs", adminToken, { spec })).status, 200);
  const streams = agents.map((a) => ({ agent: a, s: a.assignments() }));
  t.after(() => streams.forEach(({ s }) => s.close()));
  const placed = await eventually("every task assigned", () => {
    const all = streams.flatMap(({ agent, s }) => (s.latest() ?? []).map((x) => ({ agent, id: x.attempt.id, index: x.attempt.index })));
    return all.length === Replicas ? all : null;
  });
  let port = 20000;
  for (const agent of agents) {
    const mine = placed.filter((p) => p.agent === agent);
    await agent.report(mine.map((p) => ({ id: p.id, state: "running" as const, pid: 10, startedAt: Date.now(), ports: { p: port++ } })));
  }
  const onB = placed.filter((p) => p.agent.name === "b").map((p) => `svc/${p.index}`);
  assert.ok(onB.length > 100 && onB.length < Replicas, `both hosts serve, b more than one transaction's worth (b has ${onB.length})`);
  const listed = async (): Promise<Endpoint[]> => (await call(url, "GET", "/v1/services/svc/endpoints", adminToken)).body as Endpoint[];
  await eventually("every endpoint listed", async () => (await listed()).length === Replicas);

  const rev = ((await call(url, "GET", "/v1/cluster", adminToken)).body as { revision: number }).revision;
  const watchers = await Promise.all(Array.from({ length: Watchers }, () => watchRemovals(url, adminToken, rev + 1)));
  t.after(() => watchers.forEach((w) => w.close()));

  beating.delete("b");
  // The last heartbeat b sent that the server answered (one still in flight is waited for).
  await new Promise((r) => setTimeout(r, 50));
  const last = lastBeat.get("b") ?? 0;
  const bound = SuspectMs + 500;
  await eventually("b's endpoints gone in every watcher", () => watchers.every((w) => onB.every((n) => w.removed.has(n))), bound + 5_000);
  const worst = Math.max(...watchers.flatMap((w) => onB.map((n) => (w.removed.get(n) ?? Infinity) - last)));
  t.diagnostic(`b's ${onB.length} endpoints gone in all ${Watchers} watchers ${worst} ms after its last heartbeat (suspect ${SuspectMs} ms)`);
  // Only b's went: a still serves all of its tasks.
  const now = await listed();
  assert.equal(now.length, Replicas - onB.length);
  assert.ok(now.every((e) => e.host === "a"), "the endpoints left are a's");
  assert.ok(watchers.every((w) => w.removed.size === onB.length), "no watcher saw one of a's endpoints removed");

  // a goes quiet too, then b heartbeats again. With both hosts suspect no clock deadline is left, and
  // suspect -> up is no store write: only the contact (Liveness.revivals) can bring b's endpoints
  // back, which must happen within a few ticks, not at the next write (a's lease ends 10 s on).
  beating.delete("a");
  await eventually("a's endpoints gone too", async () => (await listed()).length === 0, 5_000);
  const back = Date.now();
  beating.add("b");
  beat();
  await eventually("b's endpoints listed again", async () => (await listed()).length === onB.length, 5_000);
  t.diagnostic(`b's endpoints back ${Date.now() - back} ms after its first heartbeat again`);
  // Checked last, so a slow machine that misses the bound still shows whether b came back.
  assert.ok(worst <= bound, `b's ${onB.length} endpoints gone in all ${Watchers} watchers ${worst} ms after its last heartbeat: more than suspect (${SuspectMs} ms) + 0.5 s`);
});
