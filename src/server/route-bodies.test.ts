// Object bodies of the wrong shape on the admin routes that read small bodies: a 400 with the route's
// message and each problem's path, nothing written. A real server (startTestServer).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { ApiErrorBody } from "../api/types.ts";
import { call, startTestServer } from "./testing/harness.ts";

void test("small bodies of the wrong shape are a 400 naming the field", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken } = ts.server;
  const cases: { name: string; method: string; path: string; body: unknown; message: RegExp; paths: string[] }[] = [
    { name: "revert to a version given as text", method: "POST", path: "/v1/jobs/web/revert", body: { version: "2" }, message: /version must be a positive integer, got "2"/, paths: ["version"] },
    { name: "revert to version 0", method: "POST", path: "/v1/jobs/web/revert", body: { version: 0 }, message: /positive integer, got 0/, paths: ["version"] },
    { name: "missing pieces with a bad hash", method: "POST", path: "/v1/packages/missing", body: { pieces: ["a".repeat(64), "XYZ"] }, message: /body must be \{"pieces"/, paths: ["pieces[1]"] },
    { name: "a tag pointing at a number", method: "PUT", path: "/v1/packages/tool/tags/stable", body: { version: 5 }, message: /body must be \{"version": string\}/, paths: ["version"] },
    { name: "exec with an empty program", method: "POST", path: "/v1/tasks/web/0/exec", body: { command: [""] }, message: /command must be a non-empty array/, paths: ["command"] },
    { name: "exec with a user that is not text", method: "POST", path: "/v1/tasks/web/0/exec", body: { command: ["id"], user: 7 }, message: /command must be/, paths: ["user"] },
    { name: "restart of a task index given as text", method: "POST", path: "/v1/jobs/web/restart", body: { index: "0" }, message: /index must be a task index \(an integer from 0\), got "0"/, paths: ["index"] },
    { name: "restart of task -1", method: "POST", path: "/v1/jobs/web/restart", body: { index: -1 }, message: /got -1/, paths: ["index"] },
    { name: "contacts that are not pairs", method: "POST", path: "/v1/internal/contacts", body: { contacts: [["h1", "old"]] }, message: /\[hostId, ageMs\] pairs/, paths: ["contacts[0][1]"] },
  ];
  for (const c of cases) {
    const r = await call(url, c.method, c.path, adminToken, c.body);
    assert.equal(r.status, 400, `${c.name}: ${JSON.stringify(r.body)}`);
    const e = (r.body as ApiErrorBody).error;
    assert.match(e.message, c.message, c.name);
    assert.deepEqual(e.problems.map((p) => p.path), c.paths, c.name);
  }
  const note = await call(url, "POST", "/v1/jobs", adminToken, { spec: {}, message: "a\u0007bell" });
  assert.equal(note.status, 400);
  assert.match((note.body as ApiErrorBody).error.message, /message must be a string of at most 1000 printable characters, got 6 characters/);
});
