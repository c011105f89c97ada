// Tasks end to end over real HTTP and SQLite, with fake agents (register, assignments, reports).

import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobStatus, TaskView } from "../api/types.ts";
import { bookedMemoryMiB } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import { specOf } from "./testing/fixtures.ts";
import { eventually, FakeAgent, startTestServer } from "./testing/harness.ts";
import type { TestServer } from "./testing/harness.ts";

async function cluster(ts: TestServer, names: string[]): Promise<Map<string, FakeAgent>> {
  const byId = new Map<string, FakeAgent>();
  for (const name of names) {
    const a = new FakeAgent(ts.server.url, name);
    await a.register(ts.server.joinToken, { labels: { rack: `rack-${name}` } });
    byId.set(a.hostId, a);
  }
  return byId;
}

async function placed(ts: TestServer, job: string, n: number, also: (s: JobStatus) => boolean = () => true): Promise<JobStatus> {
  return eventually(`${job}: ${n} tasks placed`, async () => {
    const s = await ts.api.job(job);
    return s.tasks.length === n && s.tasks.every((x) => x.hostId !== null && x.attemptId !== null) && also(s) ? s : null;
  });
}

/** Reports every current attempt of the job as running, through its host's agent. */
async function runAll(ts: TestServer, agents: Map<string, FakeAgent>, job: string): Promise<JobStatus> {
  const s = await ts.api.job(job);
  for (const t of s.tasks) {
    const cur = t.attempts.find((a) => a.id === t.attemptId);
    if (!t.hostId || !cur || cur.state === "running") continue;
    await agents.get(t.hostId)?.report([{ id: cur.id, state: "running", pid: 1000 + t.index, startedAt: Date.now() }]);
  }
  return eventually(`${job}: all running`, async () => {
    const x = await ts.api.job(job);
    return x.tasks.every((t) => t.state === "running") ? x : null;
  });
}

function task(s: JobStatus, index: number): TaskView {
  const t = s.tasks.find((x) => x.index === index);
  assert.ok(t, `task ${index}`);
  return t;
}

void test("apply places tasks on registered hosts, assignments deliver them, reports show in status", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = await cluster(ts, ["alpha", "beta", "gamma"]);
  const streams = [...agents.values()].map((a) => ({ a, s: a.assignments() }));
  t.after(() => streams.forEach((x) => x.s.close()));
  await Promise.all(streams.map((x) => x.s.ready));

  await ts.api.apply(specOf({ replicas: 3, spread: "rack" }));
  const s = await placed(ts, "web", 3);
  assert.equal(new Set(s.tasks.map((x) => x.hostId)).size, 3, "spread over the three racks");
  for (const x of s.tasks) {
    const agent = agents.get(x.hostId ?? "");
    const stream = streams.find((y) => y.a === agent)?.s;
    const set = await eventually(`assignment of ${x.id}`, () => stream?.latest()?.some((a) => a.attempt.id === x.attemptId) && stream.latest());
    const mine = set.find((a) => a.attempt.id === x.attemptId);
    assert.equal(mine?.attempt.desired, "run");
    assert.equal(mine?.spec.name, "web");
    assert.equal(set.length, 1, "only the host's own attempts");
  }

  const t0 = task(s, 0);
  const agent0 = agents.get(t0.hostId ?? "");
  await agent0?.report([{ id: t0.attemptId ?? "", state: "running", pid: 4242, ports: { http: 31000 }, startedAt: Date.now() }]);
  const after = await eventually("status shows the report", async () => {
    const x = task(await ts.api.job("web"), 0);
    return x.state === "running" ? x : null;
  });
  assert.equal(after.pid, 4242);
  assert.deepEqual(after.ports, { http: 31000 });
  const hosts = await ts.api.hosts();
  assert.deepEqual(hosts.map((h) => h.tasks), [1, 1, 1]);

  // Stale reports change nothing: an unknown attempt, another host's attempt, a terminal attempt.
  const t1 = task(s, 1);
  await agent0?.report([{ id: "nosuchattempt", state: "running" }, { id: t1.attemptId ?? "", state: "failed" }]);
  await agent0?.report([{ id: t0.attemptId ?? "", state: "exited", exitCode: 0, endedAt: Date.now() }]);
  await agent0?.report([{ id: t0.attemptId ?? "", state: "running", pid: 1 }]);
  const final = await ts.api.job("web");
  assert.equal(task(final, 1).state, "pending", "another host cannot report for this attempt");
  const old = task(final, 0).attempts.find((a) => a.id === t0.attemptId);
  assert.equal(old?.state, "exited", "never out of a terminal state");
});

void test("an exited attempt restarts with back-off, and moves after moveAfterFailures", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = await cluster(ts, ["alpha", "beta"]);
  const spec: JobSpec = specOf({ restart: { backoffInitialMs: 1000, backoffMaxMs: 30_000, moveAfterFailures: 3 } });
  await ts.api.apply(spec);
  let s = await placed(ts, "web", 1);
  const firstHost = task(s, 0).hostId ?? "";
  for (const [failures, delay] of [[1, 1000], [2, 2000]] as const) {
    const cur = task(s, 0);
    await agents.get(firstHost)?.report([{ id: cur.attemptId ?? "", state: "exited", exitCode: 1, endedAt: Date.now() }]);
    s = await eventually(`restart ${failures}`, async () => {
      const x = await ts.api.job("web");
      return task(x, 0).attemptId !== cur.attemptId ? x : null;
    });
    const next = task(s, 0);
    const a = next.attempts[0];
    assert.equal(next.hostId, firstHost, "restarted in place");
    assert.equal(next.failures, failures);
    assert.equal(a?.id, next.attemptId);
    assert.equal((a?.startAfter ?? 0) - (a?.createdAt ?? 0), delay, "back-off doubles");
  }
  const cur = task(s, 0);
  await agents.get(firstHost)?.report([{ id: cur.attemptId ?? "", state: "failed", reason: "exit 1", endedAt: Date.now() }]);
  s = await placed(ts, "web", 1, (x) => task(x, 0).attemptId !== cur.attemptId);
  const moved = task(s, 0);
  assert.notEqual(moved.hostId, firstHost, "moved to the other host");
  assert.equal(moved.failures, 3);
  const newest = moved.attempts[0];
  // The back-off is the task's, not the host's: a moved task waits too (it used to start at once, so a
  // broken spec hopped between hosts about every 0.7 s).
  assert.equal((newest?.startAfter ?? 0) - (newest?.createdAt ?? 0), 4000, "the third failure's back-off, on the new host");
});

void test("an attempt whose start failed incurable is not restarted or moved: the task shows it failed with its reason (issue 10 item 8)", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = await cluster(ts, ["alpha", "beta"]);
  await ts.api.apply(specOf({ restart: { backoffInitialMs: 1, backoffMaxMs: 30_000, moveAfterFailures: 1 } }));
  const s = await placed(ts, "web", 1);
  const cur = task(s, 0);
  const agent = agents.get(cur.hostId ?? "");
  await assert.rejects(agent!.report([{ id: cur.attemptId ?? "", state: "failed", incurable: "yes" as unknown as boolean }]), /400/);
  const reason = "start failed: the kernel cannot run this spec: env.A: an env value may not contain a NUL byte (at character 1)";
  await agent?.report([{ id: cur.attemptId ?? "", state: "failed", reason, incurable: true, endedAt: Date.now() }]);
  await eventually("the failure is stored", async () => (task(await ts.api.job("web"), 0).state === "failed" ? true : null));
  // A plain failure is restarted within one reconcile pass; give it several.
  await new Promise((r) => setTimeout(r, 1500));
  const after = task(await ts.api.job("web"), 0);
  assert.deepEqual([after.hostId, after.attemptId, after.state, after.attempts.length], [cur.hostId, cur.attemptId, "failed", 1]);
  assert.equal(after.attempts[0]?.reason, reason);
});

void test("a health failure reported with its typed end cause moves the task (health action move), whatever the reason's text", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = await cluster(ts, ["alpha", "beta"]);
  const health = { kind: "tcp" as const, port: "http", intervalMs: 1000, timeoutMs: 500, failures: 3, graceMs: 0, action: "move" as const };
  await ts.api.apply(specOf({ ports: ["http"], health, restart: { backoffInitialMs: 1, backoffMaxMs: 30_000, moveAfterFailures: 5 } }));
  const s = await placed(ts, "web", 1);
  const cur = task(s, 0);
  const agent = agents.get(cur.hostId ?? "");
  await assert.rejects(agent!.report([{ id: cur.attemptId ?? "", state: "failed", endCause: "sick" as unknown as "health" }]), /400/);
  await agent?.report([{ id: cur.attemptId ?? "", state: "failed", reason: "tcp 127.0.0.1:80: refused", endCause: "health", endedAt: Date.now() }]);
  const moved = task(await placed(ts, "web", 1, (x) => task(x, 0).attemptId !== cur.attemptId), 0);
  assert.notEqual(moved.hostId, cur.hostId, "moved off the host whose health check failed");
  assert.equal(moved.attempts.find((a) => a.id === cur.attemptId)?.endCause, "health");
});

void test("drain moves a host's tasks make-before-break and leaves the others alone; undrain keeps them", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = await cluster(ts, ["alpha", "beta", "gamma"]);
  await ts.api.apply(specOf({ replicas: 2, spread: "rack" }));
  await placed(ts, "web", 2);
  const before = await runAll(ts, agents, "web");
  const drained = task(before, 0);
  const kept = task(before, 1);
  const view = await ts.api.drain(drained.hostName ?? "");
  assert.equal(view.draining, true);

  const moving = await placed(ts, "web", 2, (x) => task(x, 0).hostId !== drained.hostId);
  const newT0 = task(moving, 0);
  assert.notEqual(newT0.hostId, drained.hostId);
  const old = newT0.attempts.find((a) => a.id === drained.attemptId);
  assert.equal(old?.desired, "run", "the old copy runs until the new one does");
  assert.deepEqual([task(moving, 1).hostId, task(moving, 1).attemptId], [kept.hostId, kept.attemptId], "the other task is untouched");

  await runAll(ts, agents, "web");
  await eventually("old copy stopped", async () => {
    const x = task(await ts.api.job("web"), 0);
    return x.attempts.find((a) => a.id === drained.attemptId)?.desired === "stop";
  });
  const undrained = await ts.api.undrain(drained.hostName ?? "");
  assert.equal(undrained.draining, false);
  await new Promise((r) => setTimeout(r, 200));
  const final = await ts.api.job("web");
  assert.equal(task(final, 0).hostId, newT0.hostId, "tasks do not move back");
  // The per-host accounting (/alloc records, which the scheduler's capacity checks read) matches the tasks.
  const hosts = await ts.api.hosts();
  for (const h of hosts) {
    const here = final.tasks.filter((x) => x.hostId === h.id);
    assert.equal(h.tasks, here.length, `tasks counted on ${h.name}`);
    // Each task also books its helper's memory (model TaskOverheadMiB), as the scheduler counts it.
    assert.equal(h.used.memoryMiB, here.length * bookedMemoryMiB(final.spec.resources.memoryMiB), `memory counted on ${h.name}`);
  }
});

void test("drain of an at-most-one job stops the old copy before starting the new one", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = await cluster(ts, ["alpha", "beta"]);
  await ts.api.apply(specOf({ disconnect: { stopAfterMs: 5000 } }));
  await placed(ts, "web", 1);
  const before = task(await runAll(ts, agents, "web"), 0);
  await ts.api.drain(before.hostId ?? "");
  const stopping = await eventually("old copy told to stop", async () => {
    const x = task(await ts.api.job("web"), 0);
    return x.attempts.find((a) => a.id === before.attemptId)?.desired === "stop" ? x : null;
  });
  assert.equal(stopping.attemptId, before.attemptId, "no new copy while the old one may still run");
  assert.equal(stopping.attempts.length, 1);
  await agents.get(before.hostId ?? "")?.report([{ id: before.attemptId ?? "", state: "exited", signal: "SIGTERM", endedAt: Date.now() }]);
  const after = task(await placed(ts, "web", 1, (x) => task(x, 0).attemptId !== before.attemptId), 0);
  assert.notEqual(after.hostId, before.hostId);
  assert.equal(after.failures, 0, "a stop we asked for is not a failure");
});

void test("a new version replaces attempts in place; removing a job stops and then deletes its tasks", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = await cluster(ts, ["alpha"]);
  await ts.api.apply(specOf({ replicas: 2 }));
  await placed(ts, "web", 2);
  const v1 = await runAll(ts, agents, "web");
  await ts.api.apply(specOf({ replicas: 2, env: { V: "2" } }));
  const one = await eventually("one old attempt stopping", async () => {
    const x = await ts.api.job("web");
    const stopping = x.tasks.filter((y) => y.attempts.some((a) => a.version === 1 && a.desired === "stop"));
    return stopping.length > 0 ? { x, stopping } : null;
  });
  assert.equal(one.stopping.length, 1, "max(1, 25%) of the tasks at a time");
  const agent = [...agents.values()][0];
  const s = one.stopping[0];
  await agent?.report([{ id: s?.attemptId ?? "", state: "exited", signal: "SIGTERM", endedAt: Date.now() }]);
  const replaced = await eventually("new attempt in place", async () => {
    const x = task(await ts.api.job("web"), s?.index ?? 0);
    return x.attempts[0]?.version === 2 ? x : null;
  });
  assert.equal(replaced.hostId, task(v1, s?.index ?? 0).hostId);
  assert.equal(replaced.failures, 0);

  await ts.api.removeJob("web");
  const stopping = await eventually("all attempts told to stop", async () => {
    const x = await ts.api.job("web");
    return x.tasks.every((y) => y.attempts.every((a) => a.desired === "stop" || ["exited", "failed", "lost"].includes(a.state))) ? x : null;
  });
  for (const x of stopping.tasks) {
    for (const a of x.attempts) if (!["exited", "failed", "lost"].includes(a.state)) await agent?.report([{ id: a.id, state: "exited", endedAt: Date.now() }]);
  }
  await eventually("tasks deleted", async () => (await ts.api.job("web")).tasks.length === 0);
  assert.equal((await ts.api.versions("web")).length, 2);
});

void test("POST /v1/jobs/:name/restart: a live task gets a new attempt on its host, not counted as a failure; bad targets are refused", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = await cluster(ts, ["alpha", "beta"]);
  await ts.api.apply(specOf({ replicas: 2, spread: "rack" }));
  await placed(ts, "web", 2);
  const before = await runAll(ts, agents, "web");
  const t1 = task(before, 1);
  const r = await ts.api.restart("web", 1);
  assert.deepEqual(r, { name: "web", tasks: [{ index: 1, action: "restarted" }] });
  const stopping = await ts.api.job("web");
  assert.equal(task(stopping, 1).attempts.find((a) => a.id === t1.attemptId)?.desired, "stop");
  assert.equal(task(stopping, 0).attemptId, task(before, 0).attemptId, "the other task is left alone");
  await agents.get(t1.hostId ?? "")?.report([{ id: t1.attemptId ?? "", state: "stopped", reason: "stopped: stopped by server", signal: "SIGTERM", endedAt: Date.now() }]);
  const after = await eventually("a new attempt of web/1", async () => {
    const s = await ts.api.job("web");
    return task(s, 1).attemptId !== t1.attemptId ? s : null;
  });
  assert.deepEqual([task(after, 1).hostId, task(after, 1).failures], [t1.hostId, 0], "same host, no failure");
  assert.equal(task(after, 1).attempts.find((a) => a.id === t1.attemptId)?.state, "stopped");
  await assert.rejects(ts.api.restart("web", 7), /job "web" has no task 7/);
  await assert.rejects(ts.api.restart("nope", null), /job "nope" not found/);
});
