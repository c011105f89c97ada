// Every route that reads a JSON body, sent JSON that is not an object (null, an array, a string, a
// number, a boolean): a 400 TIFFIN_BAD_REQUEST saying what the body must be, never a 500, nothing
// written. A JSON null body gave HTTP 500 on four admin routes.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { ApiErrorBody } from "../api/types.ts";
import { call, FakeAgent, startTestServer } from "./testing/harness.ts";

void test("JSON bodies that are not objects get 400 on every route that reads one", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const agent = new FakeAgent(url, "alpha");
  const reg = await agent.register(joinToken);
  const routes: { method: string; path: string; token: string; headers?: Record<string, string> }[] = [
    { method: "POST", path: "/v1/jobs", token: adminToken },
    { method: "POST", path: "/v1/plan", token: adminToken },
    { method: "POST", path: "/v1/jobs/web/revert", token: adminToken },
    { method: "POST", path: "/v1/packages", token: adminToken },
    { method: "POST", path: "/v1/packages/missing", token: adminToken },
    { method: "PUT", path: "/v1/packages/tool/tags/stable", token: adminToken },
    { method: "POST", path: "/v1/tasks/web/0/exec", token: adminToken },
    { method: "POST", path: "/v1/internal/contacts", token: adminToken },
    { method: "POST", path: "/v1/internal/metrics", token: adminToken },
    ...["announce", "plan", "report"].map((w) => ({ method: "POST", path: `/v1/internal/swarm/${w}`, token: adminToken, headers: { "x-tiffin-host": reg.hostId } })),
    { method: "POST", path: "/v1/agent/register", token: joinToken },
    { method: "POST", path: "/v1/agent/heartbeat", token: reg.hostToken },
    { method: "POST", path: "/v1/agent/attempts", token: reg.hostToken },
    { method: "POST", path: "/v1/agent/metrics", token: reg.hostToken },
    ...["announce", "plan", "report"].map((w) => ({ method: "POST", path: `/v1/agent/swarm/${w}`, token: reg.hostToken })),
  ];
  const bodies: { text: string; got: string }[] = [
    { text: "null", got: "null" },
    { text: "[]", got: "an array" },
    { text: "[{\"spec\": {}}]", got: "an array" },
    { text: "\"spec\"", got: "a string" },
    { text: "42", got: "a number" },
    { text: "true", got: "a boolean" },
  ];
  const failures: string[] = [];
  for (const r of routes) {
    for (const b of bodies) {
      const res = await fetch(`${url}${r.path}`, { method: r.method, headers: { authorization: `Bearer ${r.token}`, "content-type": "application/json", ...r.headers }, body: b.text });
      const text = await res.text();
      const what = `${r.method} ${r.path} with ${b.text}`;
      if (res.status !== 400) {
        failures.push(`${what}: ${res.status} ${text.slice(0, 200)}`);
        continue;
      }
      const e = (JSON.parse(text) as ApiErrorBody).error;
      if (e.code !== "TIFFIN_BAD_REQUEST" || !e.message.includes(`must be a JSON object, got ${b.got}`) || !e.hint) failures.push(`${what}: ${text.slice(0, 300)}`);
    }
  }
  assert.deepEqual(failures, []);
  // Nothing was written, and the server still answers.
  assert.deepEqual(await ts.api.jobs(), []);
  assert.equal((await call(url, "GET", "/v1/packages", adminToken)).status, 200);
});
