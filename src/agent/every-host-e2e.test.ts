// Every-host jobs end to end (issue 14): the REAL server in its own process, several real agents in
// this one (each its own host, helpers and task processes), one registering late. One task runs on
// every host matching the job's label constraint; a late matching host gets one; a drained host's
// task stops and is not moved; a host whose labels stop matching loses its task; a decommissioned host
// loses its task for good and its record can then be removed; plan and status show
// the per-host tasks; a new version rolls out host by host through phases by failure domain.

import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { JobStatus, PlanResult } from "../api/types.ts";
import type { JobSpec, Rollout } from "../model/index.ts";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { startRealServer } from "./real-server.ts";
import { alive, killAttempts, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

void test("every-host job: one task per matching host, late hosts, drain, label change, plan, status, phased rollout", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-every-host-"));
  const agents = new Map<string, AgentHandle>();
  const server = await startRealServer(path.join(root, "server"));
  t.after(async () => {
    for (const a of agents.values()) await a.close("stop-tasks").catch(() => {});
    for (const name of ["a", "b", "c", "d"]) killAttempts(path.join(root, name));
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const api = async <T>(method: string, p: string, body?: unknown): Promise<T> => {
    const r = await fetch(`${server.url}${p}`, { method, headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await r.text();
    assert.ok(r.ok, `${method} ${p}: ${r.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const agent = async (name: string, labels: Record<string, string>): Promise<AgentHandle> => {
    const a = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir: path.join(root, name), name, labels, log: testLogger() });
    agents.set(name, a);
    return a;
  };
  const edge = (rack: string): Record<string, string> => ({ role: "edge", datacenter: "dc1", cluster: "c1", rack });
  const a = await agent("a", edge("r1"));
  const b = await agent("b", edge("r2"));
  const c = await agent("c", { role: "db", datacenter: "dc1", cluster: "c1", rack: "r1" });
  const hostName = new Map([a, b, c].map((h, i) => [h.hostId, "abc"[i] ?? "?"]));

  const spec: JobSpec = { ...testSpec({ name: "exporter", replicas: 0, constraints: { os: null, kernel: null, labels: { role: "edge" } } }), everyHost: true };
  // Plan first: one task per matching host, none on c.
  const plan = await api<PlanResult>("POST", "/v1/plan", { spec });
  assert.deepEqual(plan.placements.map((p) => p.hostName).sort(), ["a", "b"]);
  assert.deepEqual(plan.unplaced, []);
  await api("POST", "/v1/jobs", { spec });

  /** Running tasks by host name: pid, index, and the version their attempt runs. */
  const running = async (): Promise<Map<string, { pid: number; index: number; version: number }>> => {
    const st = await api<JobStatus>("GET", "/v1/jobs/exporter");
    const out = new Map<string, { pid: number; index: number; version: number }>();
    for (const tv of st.tasks) {
      // The version its running attempt runs (a task's own version moves on once its stop is decided).
      const version = tv.attempts.find((x) => x.id === tv.attemptId)?.version ?? tv.version;
      if (tv.state === "running" && tv.pid !== null && tv.hostName !== null) out.set(tv.hostName, { pid: tv.pid, index: tv.index, version });
    }
    return out;
  };
  const runningOn = (want: string[], version?: number) => async () => {
    const r = await running();
    const names = [...r.keys()].sort();
    const ok = names.join() === want.join() && [...r.values()].every((x) => alive(x.pid) && (version === undefined || x.version === version));
    return ok ? r : null;
  };
  const first = await waitFor("a task on a and b, none on c", runningOn(["a", "b"]), 30_000);
  assert.equal(first.get("a")?.index !== first.get("b")?.index, true);
  assert.equal(hostName.size, 3);

  // A matching host registering late gets its task; a, b keep theirs (same pids).
  await agent("d", edge("r3"));
  const withD = await waitFor("the late host d runs a task too", runningOn(["a", "b", "d"]), 30_000);
  assert.equal(withD.get("a")?.pid, first.get("a")?.pid);
  assert.equal(withD.get("b")?.pid, first.get("b")?.pid);

  // Status shows the per-host tasks; the job summary counts them.
  const jobs = await api<{ name: string; replicas: number }[]>("GET", "/v1/jobs");
  assert.equal(jobs.find((j) => j.name === "exporter")?.replicas, 3);

  // A new version rolls out through phases by failure domain (every-host default: 1, rack, cluster, datacenter, all).
  const v2: JobSpec = { ...spec, env: { V: "2" } };
  const plan2 = await api<PlanResult & { rollout?: { spec: unknown; tasks: { hostName: string | null }[] }[] }>("POST", "/v1/plan", { spec: v2 });
  assert.deepEqual(plan2.rollout?.map((p) => p.tasks.length), [1, 2]);
  await api("POST", "/v1/jobs", { spec: v2 });
  const rolled = await waitFor("every task on version 2", runningOn(["a", "b", "d"], 2), 30_000);
  for (const h of ["a", "b", "d"]) assert.notEqual(rolled.get(h)?.pid, withD.get(h)?.pid, `${h} was replaced`);
  // The record steps to "succeeded" on the pass after the last task serves: wait for it.
  const r2 = await waitFor("v2's rollout succeeded", async () => {
    const r = (await api<Rollout[]>("GET", "/v1/jobs/exporter/rollouts")).at(-1);
    return r?.state === "succeeded" ? r : null;
  }, 15_000);
  // "rack" adds nobody (one host per rack): the first host, then the rest of its cluster.
  assert.deepEqual(r2?.phases.map((p) => p.spec), [1, "cluster"]);

  // Drain b: its task stops and is not moved anywhere (c does not match; a and d already have one).
  await api("POST", `/v1/hosts/${b.hostId}/drain`);
  const drained = await waitFor("b's task stopped, none elsewhere", runningOn(["a", "d"], 2), 30_000);
  await waitFor("b's old task process ended", () => !alive(rolled.get("b")?.pid ?? 0));
  assert.equal(drained.get("a")?.pid, rolled.get("a")?.pid);

  // d's labels stop matching (it re-registers without role=edge): it loses its task.
  await agents.get("d")?.close("leave-tasks");
  agents.delete("d");
  await agent("d", { datacenter: "dc1", cluster: "c1", rack: "r3" });
  await waitFor("d lost its task", runningOn(["a"], 2), 30_000);
  await waitFor("d's task process ended", () => !alive(rolled.get("d")?.pid ?? 0));
  // Undrain b: it matches again, so it gets a task.
  await api("POST", `/v1/hosts/${b.hostId}/undrain`);
  const back = await waitFor("b runs a task again", runningOn(["a", "b"], 2), 30_000);

  // Decommission b: its task stops for good and is not moved; a's keeps its pid. Then b's agent stops,
  // b is down (3 s here) and its record is removed: the job is left with a's task alone, and no task of
  // it is placed anywhere else or waits for b.
  await api("POST", `/v1/hosts/${b.hostId}/decommission`);
  const decommissioned = await waitFor("b's task stopped after its decommission", runningOn(["a"], 2), 30_000);
  await waitFor("b's task process ended", () => !alive(back.get("b")?.pid ?? 0));
  assert.equal(decommissioned.get("a")?.pid, back.get("a")?.pid);
  await agents.get("b")?.close("stop-tasks");
  agents.delete("b");
  await waitFor("b removed once down", async () => {
    const r = await fetch(`${server.url}/v1/hosts/${b.hostId}`, { method: "DELETE", headers: { authorization: `Bearer ${server.adminToken}` } });
    return r.ok ? true : null;
  }, 30_000);
  const left = await api<JobStatus>("GET", "/v1/jobs/exporter");
  assert.deepEqual(left.tasks.map((x) => x.hostName), ["a"], JSON.stringify(left.tasks.map((x) => [x.index, x.hostName, x.state])));
});
