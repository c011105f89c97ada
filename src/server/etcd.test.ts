// The server on a real etcd: the same routes and reconcilers as on SQLite, with the store passed in.
// Hosts register, a job is placed, and a second server (new data dir, `tiffin server --store
// etcd://...` as a user starts it) sees the same state: the state lives in etcd, not in the dir.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ApiClient } from "../api/client.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import { openStore, startServer } from "./main.ts";
import { specOf } from "./testing/fixtures.ts";
import { eventually, FakeAgent, tempDir } from "./testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

void test("a server on etcd registers hosts and places a job; another server on the same etcd sees it", { skip }, async (t) => {
  // Undone last first: the servers go before the etcd they talk to.
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const dir = tempDir();
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = "/tiffin-test";
  const store = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix });
  undo.push(() => store.close());
  const server = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log: process.env["TIFFIN_TEST_LOG"] ?? "silent" });
  undo.push(() => server.close());
  const api = new ApiClient({ addr: server.url, token: server.adminToken });

  const agents = ["alpha", "beta"].map((name) => new FakeAgent(server.url, name));
  for (const a of agents) await a.register(server.joinToken);
  await api.apply(specOf({ replicas: 2, spread: "none" }));
  const placed = await eventually("2 tasks placed", async () => {
    const s = await api.job("web");
    return s.tasks.length === 2 && s.tasks.every((x) => x.hostId !== null && x.attemptId !== null) ? s : null;
  });
  const hostIds = new Set(agents.map((a) => a.hostId));
  for (const task of placed.tasks) assert.ok(hostIds.has(task.hostId ?? ""), `task ${task.index} on a registered host`);
  for (const a of agents) await a.heartbeat();
  assert.deepEqual((await api.hosts()).map((h) => h.status).sort(), ["up", "up"]);
  // The agents keep beating while the second server starts: on a loaded machine that takes longer
  // than a host's lease, and a host gone down would have its tasks unplaced before the read below.
  const beat = setInterval(() => void Promise.all(agents.map((a) => a.heartbeat())).catch(() => undefined), 1000);
  undo.push(() => clearInterval(beat));

  // The keys are etcd's: visible to any etcd client under the prefix.
  const { kvs } = await store.range("/tasks/web/");
  assert.equal(kvs.length, 2);

  // A second server, started by the CLI with another data dir, reads the same state from etcd.
  const dir2 = tempDir();
  undo.push(() => rmSync(dir2, { recursive: true, force: true }));
  const bin = join(import.meta.dirname, "..", "..", "bin", "tiffin.js");
  const proc = spawn(process.execPath, [bin, "server", "--data", dir2, "--listen", "127.0.0.1:0", "--store", `etcd://${etcd.endpoints.map((e) => e.replace("http://", "")).join(",")}${prefix}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  undo.push(() => {
    proc.kill("SIGKILL");
  });
  let out = "";
  proc.stdout.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr.on("data", () => undefined);
  const url = await eventually("the CLI server to listen", () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 15_000);
  const api2 = new ApiClient({ addr: url, token: readFileSync(join(dir2, "admin.token"), "utf8").trim() });
  const seen = await api2.job("web");
  assert.deepEqual(
    seen.tasks.map((x) => [x.index, x.hostId]),
    placed.tasks.map((x) => [x.index, x.hostId]),
  );
  assert.equal((await api2.hosts()).length, 2);
});
