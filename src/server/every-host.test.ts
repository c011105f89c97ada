// Every-host jobs (`replicas: "every-host"`) compile, but this server does not place them yet: plan
// and apply refuse them at `replicas` with the stable spec code, instead of storing a job that would
// silently run no task at all.

import { test } from "node:test";
import assert from "node:assert/strict";
import { specOf } from "./testing/fixtures.ts";
import { call, startTestServer } from "./testing/harness.ts";

void test("plan and apply refuse an every-host job until its placement lands", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken } = ts.server;
  const spec = specOf({ name: "exporter", replicas: 0, everyHost: true });
  for (const path of ["/v1/plan", "/v1/jobs"]) {
    const r = await call(url, "POST", path, adminToken, { spec });
    assert.equal(r.status, 422, `${path}: ${JSON.stringify(r.body)}`);
    const body = r.body as { error: { code: string; problems?: { path: string; message: string }[] } };
    assert.equal(body.error.code, "TIFFIN_SPEC_INVALID");
    assert.equal(body.error.problems?.[0]?.path, "replicas");
    assert.match(body.error.problems?.[0]?.message ?? "", /every-host/);
  }
  const jobs = await call(url, "GET", "/v1/jobs", adminToken);
  assert.deepEqual(jobs.body, []);
});
