// End-to-end: the behaviours the core issue names, on a real server, real agents, real helpers and
// real task processes (see harness.ts). Timing defaults: heartbeat 1 s, suspect 3 s, down 5 s, fence 3 s.
// "At most one live copy" has its own file (at-most-one.test.ts). Time bounds are derived from the
// configured timings plus StartAllowanceMs (harness.ts), measured from the instant they count from.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readlinkSync } from "node:fs";
import { Cluster, compile, waitFor, alive, webServerSource, StartAllowanceMs, Timing } from "./harness.ts";

function web(replicas: number) {
  return compile({
    name: "web",
    command: ["node", "server.mjs"],
    files: { "server.mjs": webServerSource },
    replicas,
    ports: { http: {} },
    resources: { cpu: 0.1, memory: "64Mi", disk: "64Mi" },
    health: { kind: "http", port: "http", path: "/healthz", every: "500ms", timeout: "400ms", failures: 3, then: "restart" },
    restart: { backoff: { initial: "100ms", max: "1s" }, moveAfterFailures: 5 },
    stop: { signal: "SIGTERM", grace: "1s" },
  });
}

void test("a 6-replica service on 3 agents: all running, 2 per rack, health checks pass", { timeout: 90_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  const started = Date.now();
  await c.apply(web(6));
  const s = await c.waitRunning("web", 30_000, ["healthy"]);
  t.diagnostic(`apply to all healthy: ${Date.now() - started} ms`);
  const hosts = await c.hosts();
  const rackOf = new Map(hosts.map((h) => [h.id, h.domain.rack]));
  const perRack = new Map<string, number>();
  for (const task of s.tasks) {
    const rack = rackOf.get(task.hostId ?? "") ?? "?";
    perRack.set(rack, (perRack.get(rack) ?? 0) + 1);
  }
  assert.deepEqual([...perRack.entries()].sort(), [["r1", 2], ["r2", 2], ["r3", 2]]);
  // Sandboxed by default: every host found a runtime, every task has its own pid namespace.
  for (const h of hosts) assert.match(h.runtime, /^(crun|runc) \d/, `${h.name} runtime`);
  const pidNs = (pid: number) => readlinkSync(`/proc/${pid}/ns/pid`);
  for (const x of s.tasks) assert.notEqual(pidNs(x.pid ?? 0), pidNs(process.pid), `${x.id} is not in a sandbox`);
  // The service answers on its allocated port.
  const task = s.tasks[0];
  assert.ok(task?.ports["http"]);
  const res = await fetch(`http://127.0.0.1:${task.ports["http"]}/`);
  assert.match(await res.text(), /hello from web\/\d/);
});

void test("kill -9 of a task: a new attempt runs within its back-off, a reconcile tick and a start, the old one is recorded with its signal", { timeout: 90_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  await c.apply(web(3));
  const before = await c.waitRunning("web", 30_000);
  const victim = before.tasks[0];
  assert.ok(victim?.pid && victim.attemptId);
  process.kill(victim.pid, "SIGKILL");
  const killedAt = Date.now();
  const after = await waitFor("replacement attempt", 10_000, async () => {
    const s = await c.status("web");
    const t0 = s.tasks.find((x) => x.index === victim.index);
    return t0 && t0.attemptId !== victim.attemptId && t0.pid !== null && ["running", "healthy"].includes(t0.state) ? t0 : undefined;
  });
  const took = Date.now() - killedAt;
  // The first restart waits backoff.initial (100 ms); the pass that decides it runs within a tick.
  const bound = 100 + Timing.reconcileTickMs + StartAllowanceMs;
  t.diagnostic(`replacement running after ${took} ms (bound ${bound})`);
  assert.ok(took <= bound, `replacement took ${took} ms (bound ${bound})`);
  assert.notEqual(after.pid, victim.pid);
  const old = after.attempts.find((a) => a.id === victim.attemptId);
  assert.equal(old?.signal, "SIGKILL");
  assert.ok(old && ["exited", "failed"].includes(old.state));
});

void test("kill -9 of an agent: its tasks run elsewhere once it is down (from its last heartbeat); on restart its stale attempts stop; none runs twice", { timeout: 120_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  await c.apply(web(6));
  const before = await c.waitRunning("web", 30_000);
  const hosts = await c.hosts();
  const victimHost = hosts.find((h) => h.name === "host-1");
  assert.ok(victimHost);
  const onVictim = before.tasks.filter((x) => x.hostId === victimHost.id);
  assert.equal(onVictim.length, 2);
  c.killAgent(0);
  // The server's last heartbeat from it: where "down" counts from.
  const lastBeat = (await c.hosts()).find((h) => h.id === victimHost.id)?.lastHeartbeatAt ?? Date.now();
  await waitFor("tasks moved off host-1", 30_000, async () => {
    const s = await c.status("web");
    return s.tasks.every((x) => x.hostId !== victimHost.id && x.pid !== null && ["running", "healthy"].includes(x.state));
  });
  const took = Date.now() - lastBeat;
  // Down when its lease expires (downMs after the last heartbeat), then a tick and a start.
  const bound = Timing.downMs + Timing.reconcileTickMs + StartAllowanceMs;
  t.diagnostic(`tasks of the killed agent running elsewhere ${took} ms after its last heartbeat (bound ${bound})`);
  assert.ok(took >= Timing.downMs, `moved ${took} ms after the last heartbeat: before the host was down (${Timing.downMs} ms)`);
  assert.ok(took <= bound, `took ${took} ms after the last heartbeat (bound ${bound})`);
  c.startAgent(0);
  await waitFor("host-1 back up", 15_000, async () => (await c.hosts()).find((h) => h.name === "host-1")?.status === "up");
  // Settle (host-1's rack gets its share back, one make-before-break move at a time), then: every old
  // task pid on host-1 is gone and each task has exactly one live process.
  await new Promise((r) => setTimeout(r, 3_000));
  for (const old of onVictim) assert.equal(alive(old.pid ?? -1), false, `stale task ${old.id} pid ${old.pid} still alive`);
  const settled = async () => {
    const s = await c.status("web");
    const livePids = c.recordedPids().filter((p) => p.task !== null && alive(p.task));
    const same = livePids.length === 6 && s.tasks.every((x) => ["running", "healthy"].includes(x.state) && livePids.some((p) => p.task === x.pid));
    return { same, livePids, s };
  };
  await waitFor("one live process per task, spread restored", 40_000, async () => (await settled()).same && (await c.status("web")).tasks.filter((x) => x.hostId === victimHost.id).length === 2);
  const { livePids, s } = await settled();
  assert.equal(livePids.length, 6, `live task processes: ${JSON.stringify(livePids)}`);
  assert.deepEqual(new Set(livePids.map((p) => p.task)), new Set(s.tasks.map((x) => x.pid)));
});

void test("kill -9 of an agent restarted at once: its tasks keep running with the same pids, re-adopted", { timeout: 90_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  await c.apply(web(3));
  const before = await c.waitRunning("web", 30_000);
  c.killAgent(1);
  c.startAgent(1);
  await new Promise((r) => setTimeout(r, Timing.downMs + 2_000)); // past fence and down timeouts
  const after = await c.waitRunning("web", 10_000);
  for (const task of before.tasks) {
    const now = after.tasks.find((x) => x.index === task.index);
    assert.equal(now?.pid, task.pid, `task ${task.id} changed pid`);
    assert.equal(now?.attemptId, task.attemptId, `task ${task.id} changed attempt`);
    assert.ok(alive(task.pid ?? -1));
  }
});
