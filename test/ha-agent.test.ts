// End-to-end: a real agent given two servers (`tiffin agent --server A,B`), both `tiffin server
// --store etcd://...` on one etcd, as an operator runs them. kill -9 of server A, the one the agent
// talks to: the agent moves to B, its host stays up and its task keeps running (not replaced), and
// a job applied afterwards through B reaches it (its assignments stream followed it to B).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ClusterView, HostView, JobStatus } from "../src/api/types.ts";
import { etcdAvailable, startEtcd } from "../src/state/etcd-testing.ts";
import { alive, compile, freePort, sleeperSource, waitFor } from "./harness.ts";

const bin = join(import.meta.dirname, "..", "bin", "tiffin.js");
const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

void test("an agent with two servers moves to the second when the first is killed; its task keeps running", { skip, timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-ha-e2e-"));
  const procs: ChildProcess[] = [];
  const etcd = await startEtcd();
  t.after(async () => {
    const agent = procs[2];
    if (agent && agent.exitCode === null) {
      agent.kill("SIGINT"); // stop-tasks: the agent stops its tasks and leaves (SIGTERM would leave them running)
      await Promise.race([new Promise((r) => agent.once("exit", r)), new Promise((r) => setTimeout(r, 8000))]);
    }
    for (const p of procs) p.kill("SIGKILL");
    killRecorded(join(dir, "agent"));
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const spawnTiffin = (args: string[], log: string): ChildProcess => {
    const out = openSync(join(dir, `${log}.log`), "a");
    const p = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", out, out], env: { ...process.env, TIFFIN_HOME: dir } });
    procs.push(p);
    return p;
  };
  const store = `etcd://${etcd.endpoints.map((e) => e.replace("http://", "")).join(",")}`;
  const [portA, portB] = [await freePort(), await freePort()];
  const [urlA, urlB] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  const serverA = spawnTiffin(["server", "--data", join(dir, "a"), "--listen", `127.0.0.1:${portA}`, "--store", store], "server-a");
  await waitFor("server A", 20_000, () => existsSync(join(dir, "a", "admin.token")) && fetch(`${urlA}/v1/jobs`).then((r) => r.status === 401, () => false));
  spawnTiffin(["server", "--data", join(dir, "b"), "--listen", `127.0.0.1:${portB}`, "--store", store], "server-b");
  await waitFor("server B", 20_000, () => fetch(`${urlB}/v1/jobs`).then((r) => r.status === 401, () => false));
  const admin = readFileSync(join(dir, "a", "admin.token"), "utf8").trim();
  assert.equal(readFileSync(join(dir, "b", "admin.token"), "utf8").trim(), admin, "B adopted A's admin token");
  const api = async <T>(url: string, method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  assert.equal((await api<ClusterView>(urlB, "GET", "/v1/cluster")).leader?.url, urlA, "A leads");

  spawnTiffin(["agent", "--server", `${urlA},${urlB}`, "--join-token-file", join(dir, "a", "join.token"), "--data", join(dir, "agent"), "--name", "solo", "--labels", "rack=r1"], "agent");
  const job = (name: string) => compile({ name, command: ["node", "-e", sleeperSource], resources: { cpu: 0.1, memory: "32Mi", disk: "32Mi" }, stop: { signal: "SIGTERM", grace: "500ms" } });
  const running = (url: string, name: string) =>
    waitFor(`${name} running`, 30_000, async () => {
      const s = await api<JobStatus>(url, "GET", `/v1/jobs/${name}`);
      const t0 = s.tasks[0];
      return t0 && t0.pid !== null && t0.state === "running" ? t0 : undefined;
    });
  await waitFor("the agent registered", 20_000, async () => (await api<HostView[]>(urlA, "GET", "/v1/hosts")).length === 1);
  await api(urlA, "POST", "/v1/jobs", { spec: job("first") });
  const before = await running(urlA, "first");

  serverA.kill("SIGKILL");
  const killedAt = Date.now();
  await waitFor("B leads", 10_000, async () => (await api<ClusterView>(urlB, "GET", "/v1/cluster")).self.leader);
  // Past the host's down time (5 s): still up, because its heartbeats now go to B.
  await new Promise((r) => setTimeout(r, Math.max(0, 7000 - (Date.now() - killedAt))));
  const host = (await api<HostView[]>(urlB, "GET", "/v1/hosts"))[0];
  assert.equal(host?.status, "up", "the host stayed up");
  assert.ok((host?.lastHeartbeatAt ?? 0) > killedAt, "B hears its heartbeats");
  const after = await running(urlB, "first");
  assert.equal(after.attemptId, before.attemptId, "the task was not replaced");
  assert.ok(before.pid !== null && alive(before.pid), "and still runs");

  // A job applied through B reaches the agent: its assignments stream is on B now.
  await api(urlB, "POST", "/v1/jobs", { spec: job("second") });
  const second = await running(urlB, "second");
  assert.equal(second.hostId, before.hostId);
});

/** Kills helpers and tasks recorded under an agent's data dir (left behind if the agent died). */
function killRecorded(agentDir: string): void {
  const attempts = join(agentDir, "attempts");
  if (!existsSync(attempts)) return;
  for (const id of readdirSync(attempts)) {
    for (const [file, read] of [["helper.pid", (s: string) => Number(s.trim())], ["status.json", (s: string) => (JSON.parse(s) as { pid: number | null }).pid ?? 0]] as const) {
      try {
        const pid = read(readFileSync(join(attempts, id, file), "utf8"));
        if (pid > 0) {
          for (const target of [-pid, pid]) {
            try {
              process.kill(target, "SIGKILL");
            } catch {
              // gone, or not a group leader
            }
          }
        }
      } catch {
        // not written
      }
    }
  }
}
