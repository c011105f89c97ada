// The agent with the REAL server (src/server/main.ts), run as its own process the way an operator would
// run it (the agent may not import the server; see eslint.config.js), real helpers and real tasks:
// apply a job, see it run with a pid, read its logs through the server's proxy, remove the job.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobStatus } from "../api/types.ts";
import { serverAndAgent } from "./real-server.ts";
import { alive, sleeperCommand, testSpec, waitFor } from "./test-fixtures.ts";

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
