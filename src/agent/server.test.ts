// The agent with the REAL server (src/server/main.ts), run as its own process the way an operator would
// run it (the agent may not import the server; see eslint.config.js), real helpers and real tasks:
// apply a job, see it run with a pid, read its logs through the server's proxy, remove the job.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { JobStatus } from "../api/types.ts";
import { serverAndAgent } from "./real-server.ts";
import { startAgent } from "./main.ts";
import { alive, killAttempts, sleeperCommand, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

void test("with the real server: a job runs through the agent, its logs come through the server, removing it stops it", async (t) => {
  const { agent, api } = await serverAndAgent(t, { prefix: "tiffin-agent-int-", name: "int-1", labels: { rack: "r1" } });

  const spec = testSpec({ name: "sleeper", command: sleeperCommand(), ports: ["http"], resources: { cpu: 0.1, memoryMiB: 16, diskMiB: 1 } });
  const applied = await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) });
  assert.equal(applied.status, 200, await applied.clone().text());
  const task = await waitFor("task running with a pid", async () => {
    const st = (await (await api("/v1/jobs/sleeper")).json()) as JobStatus;
    const t0 = st.tasks[0];
    return t0 && t0.pid !== null && (t0.state === "running" || t0.state === "healthy") ? t0 : null;
  }, 30_000);
  assert.equal(task.hostId, agent.hostId);
  assert.ok(alive(task.pid!), "the task's pid is a live process on this host");
  assert.ok(task.ports["http"]! >= 20000);

  const logs = await waitFor("logs through the server", async () => {
    const r = await api("/v1/tasks/sleeper/0/logs?stream=stdout");
    const text = r.status === 200 ? await r.text() : "";
    return text.includes("hello from sleeper/0") ? text : null;
  });
  assert.match(logs, new RegExp(`port ${task.ports["http"]}`));

  assert.equal((await api("/v1/jobs/sleeper", { method: "DELETE" })).status, 200);
  await waitFor("task stopped after the job was removed", () => !alive(task.pid!), 30_000);
});

void test("with the real server: a second agent under a registered name, from a fresh data dir, is refused; the first restarts with its token", async (t) => {
  const { root, agentDir, server, agent, api } = await serverAndAgent(t, { prefix: "tiffin-agent-name-", name: "same-1" });
  const before = ((await (await api("/v1/hosts")).json()) as { address: string }[])[0]?.address;
  const otherDir = path.join(root, "other");
  const second = startAgent({ server: server.url, joinToken: server.joinToken, dataDir: otherDir, name: "same-1", labels: {}, log: testLogger(), registerTimeoutMs: 2000 });
  // Started anyway (the defect): stop it, so the failed test does not hang.
  void second.then((a) => a.close("stop-tasks"), () => undefined);
  await assert.rejects(
    second,
    (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, "TIFFIN_CONFLICT");
      assert.match(err.message, /same-1.*already registered/);
      assert.match(err.hint ?? "", /tiffin hosts remove same-1/);
      return true;
    },
  );
  killAttempts(otherDir);
  const after = ((await (await api("/v1/hosts")).json()) as { address: string }[])[0]?.address;
  assert.equal(after, before, "the registered host's address is untouched");
  // The real agent restarts on its own dir: its saved token proves it.
  await agent.close("leave-tasks");
  const again = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir: agentDir, name: "same-1", labels: {}, log: testLogger() });
  t.after(() => again.close("leave-tasks"));
  assert.equal(again.hostId, agent.hostId);

  // A first registration whose answer never came back (a timeout, the agent killed meanwhile): its
  // agent kept the token it proposed, so starting again is the same host, not "already registered".
  const lostDir = path.join(root, "lost");
  fs.mkdirSync(lostDir, { mode: 0o700 });
  const proposed = "L".repeat(43);
  fs.writeFileSync(path.join(lostDir, "agent.json.proposed"), proposed, { mode: 0o600 });
  const inventory = { name: "lost-1", address: "127.0.0.1:9", cores: 1, memoryMiB: 1024, diskMiB: 1024, os: { id: "linux", version: "0" }, kernel: "6", runtime: "none", labels: {} };
  const lost = await fetch(`${server.url}/v1/agent/register`, { method: "POST", headers: { authorization: `Bearer ${server.joinToken}`, "content-type": "application/json" }, body: JSON.stringify({ inventory, proposedToken: proposed }) });
  assert.equal(lost.status, 200, await lost.text());
  const resumed = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir: lostDir, name: "lost-1", labels: {}, log: testLogger(), registerTimeoutMs: 2000 });
  t.after(() => resumed.close("leave-tasks"));
  const saved = JSON.parse(fs.readFileSync(path.join(lostDir, "agent.json"), "utf8")) as { hostToken: string };
  assert.equal(saved.hostToken, proposed, "the proposed token became the host's");
  assert.equal(fs.existsSync(path.join(lostDir, "agent.json.proposed")), false, "the proposal is gone once the identity is saved");
});
