// Every-host jobs (`replicas: "every-host"`) are accepted at plan and apply (they were refused while
// nothing placed them): the plan puts one task on each registered host that matches the job's
// constraints, and the job is stored. Real agents run them in src/agent/every-host-e2e.test.ts.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { PlanResult } from "../api/types.ts";
import { specOf } from "./testing/fixtures.ts";
import { call, FakeAgent, startTestServer } from "./testing/harness.ts";

void test("plan and apply accept an every-host job: one task per matching host", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  for (const [name, role] of [["a", "edge"], ["b", "db"], ["c", "edge"]] as const) await new FakeAgent(url, name).register(joinToken, { labels: { role } });
  const spec = specOf({ name: "exporter", replicas: 0, everyHost: true, constraints: { os: null, kernel: null, labels: { role: "edge" } } });
  const plan = await call(url, "POST", "/v1/plan", adminToken, { spec });
  assert.equal(plan.status, 200, JSON.stringify(plan.body));
  const p = plan.body as PlanResult;
  assert.deepEqual(p.placements.map((x) => x.hostName).sort(), ["a", "c"]);
  assert.deepEqual(p.tasks?.map((x) => x.action), ["start", "start"]);
  const applied = await call(url, "POST", "/v1/jobs", adminToken, { spec });
  assert.equal(applied.status, 200, JSON.stringify(applied.body));
});
