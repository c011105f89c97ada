// The exec route relays the agent's output frames and records the exit in the audit entry. Frames
// are read through their schema: a line that is no frame is passed on (the client judges it) and
// neither ends the relay nor loses the exit status that follows.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { ExecAuditEntry as AuditEntry, JobStatus } from "../api/types.ts";
import { specOf } from "./testing/fixtures.ts";
import { call, eventually, FakeAgent, startTestServer } from "./testing/harness.ts";

void test("exec: a line of the agent's that is no frame does not cut the relay nor lose the exit status", async (t) => {
  const agentHttp = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.end('garbage from an older agent\n{"type":"stdout","data":"hi"}\n{"type":"exit","code":3,"signal":null}\n');
  });
  await new Promise<void>((r) => agentHttp.listen(0, "127.0.0.1", r));
  t.after(() => agentHttp.close());
  const port = (agentHttp.address() as { port: number }).port; // a listening TCP server's address
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const a = new FakeAgent(url, "a");
  await a.register(joinToken, { address: `127.0.0.1:${port}` });
  await a.heartbeat();
  await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf() });
  const task = await eventually("placed", async () => ((await call(url, "GET", "/v1/jobs/web", adminToken)).body as JobStatus).tasks.find((x) => x.attemptId !== null));
  await a.report([{ id: task.attemptId ?? "", state: "running", pid: 10, startedAt: Date.now() }]);
  await eventually("running", async () => ((await call(url, "GET", "/v1/jobs/web", adminToken)).body as JobStatus).tasks[0]?.state === "running");

  const r = await call(url, "POST", "/v1/tasks/web/0/exec", adminToken, { command: ["id"] });
  assert.equal(r.status, 200);
  assert.match(String(r.body), /"type":"exit","code":3/, "the whole output relayed");
  const entry = await eventually("audit completed", async () => ((await call(url, "GET", "/v1/audit", adminToken)).body as AuditEntry[]).find((e) => e.action === "exec" && e.endedAt !== null && e.endedAt !== undefined));
  assert.equal(entry.exitCode, 3, JSON.stringify(entry));
});
