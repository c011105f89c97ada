// The API's edges over a real server and SQLite file: auth, bad requests, apply/plan/versions, restart.

import { test } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import type { ApiErrorBody, ApplyResult, JobStatus, JobSummary, PlanResult } from "../api/types.ts";
import type { JobVersion } from "../model/index.ts";
import { specOf } from "./testing/fixtures.ts";
import { call, eventually, FakeAgent, readFor, startTestServer } from "./testing/harness.ts";

function errorOf(body: unknown): ApiErrorBody["error"] {
  const e = (body as ApiErrorBody).error;
  assert.ok(e, `expected an error body, got ${JSON.stringify(body)}`);
  return e;
}

void test("auth: every route needs the right token, and refused calls change nothing", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken, joinToken } = ts.server;
  const agent = new FakeAgent(url, "alpha");
  const reg = await agent.register(joinToken);
  const again = await agent.register(joinToken, { cores: 8 });
  assert.equal(again.hostId, reg.hostId, "the same name is the same host");
  assert.equal((await ts.api.hosts())[0]?.cores, 8, "with its new inventory");
  const spec = specOf();
  // 401: no token, or one no server knows; 403: a known token of the wrong kind (FORBIDDEN).
  const cases: { name: string; method: string; path: string; token: string | null; body?: unknown; status?: 403 }[] = [
    { name: "no token", method: "GET", path: "/v1/jobs", token: null },
    { name: "wrong token", method: "GET", path: "/v1/jobs", token: "nope" },
    { status: 403, name: "join token on apply", method: "POST", path: "/v1/jobs", token: joinToken, body: { spec } },
    { status: 403, name: "host token on apply", method: "POST", path: "/v1/jobs", token: reg.hostToken, body: { spec } },
    { name: "admin token almost right", method: "POST", path: "/v1/jobs", token: `${adminToken}x`, body: { spec } },
    { name: "no token on /metrics", method: "GET", path: "/metrics", token: null },
    { status: 403, name: "join token on drain", method: "POST", path: "/v1/hosts/alpha/drain", token: joinToken },
    { status: 403, name: "admin token on register", method: "POST", path: "/v1/agent/register", token: adminToken, body: { inventory: {} } },
    { status: 403, name: "join token on heartbeat", method: "POST", path: "/v1/agent/heartbeat", token: joinToken, body: { hostId: reg.hostId } },
    { name: "unknown host token on assignments", method: "GET", path: "/v1/agent/assignments", token: "nope" },
    { name: "no token on an unknown path", method: "GET", path: "/v1/nothing", token: null },
  ];
  for (const c of cases) {
    const r = await call(url, c.method, c.path, c.token, c.body);
    assert.equal(r.status, c.status ?? 401, c.name);
    const e = errorOf(r.body);
    assert.equal(e.code, c.status === 403 ? "TIFFIN_FORBIDDEN" : "TIFFIN_UNAUTHORIZED", c.name);
    assert.ok(e.hint && e.hint.length > 0, `${c.name}: a hint`);
  }
  const jobs = await call(url, "GET", "/v1/jobs", adminToken);
  assert.deepEqual(jobs.body, []);
  const hosts = await ts.api.hosts();
  assert.equal(hosts[0]?.draining, false);
  // A host token acting for another host is refused: known caller, not its host (403, as mTLS's check).
  const other = await call(url, "POST", "/v1/agent/heartbeat", reg.hostToken, { hostId: "hsomeoneelse" });
  assert.equal(other.status, 403);
  assert.equal(errorOf(other.body).code, "TIFFIN_FORBIDDEN");
  const metrics = await call(url, "GET", "/metrics", adminToken);
  assert.equal(metrics.status, 200);
  assert.match(String(metrics.body), /tiffin_http_requests_total\{method="GET",route="\/v1\/jobs",status="401"\} 2/);
});

void test("bad requests get clear errors and write nothing", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken } = ts.server;

  const malformed = await call(url, "POST", "/v1/jobs", adminToken, '{"spec": {\n  "name": "web",\n}}');
  assert.equal(malformed.status, 400);
  assert.equal(errorOf(malformed.body).code, "TIFFIN_BAD_REQUEST");
  assert.match(errorOf(malformed.body).message, /line 3 column 1/);

  const big = await call(url, "POST", "/v1/jobs", adminToken, { spec: { ...specOf(), env: { BIG: "x".repeat(1_100_000) } } });
  assert.equal(big.status, 413);
  assert.equal(errorOf(big.body).code, "TIFFIN_TOO_LARGE");

  for (const [method, path] of [["GET", "/v1/jobs/nope"], ["DELETE", "/v1/jobs/nope"], ["GET", "/v1/jobs/nope/versions"], ["GET", "/v1/jobs/nope/versions/1"], ["GET", "/v1/tasks/nope/0/logs"]] as const) {
    const r = await call(url, method, path, adminToken);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(errorOf(r.body).code, "TIFFIN_NOT_FOUND");
    assert.match(errorOf(r.body).message, /"nope"/);
  }

  const bad = { ...specOf(), replicas: -1, resources: { cpu: 0, memoryMiB: 256, diskMiB: 100 } };
  for (const path of ["/v1/jobs", "/v1/plan"]) {
    const invalid = await call(url, "POST", path, adminToken, { spec: bad });
    assert.equal(invalid.status, 422, path);
    const e = errorOf(invalid.body);
    assert.equal(e.code, "TIFFIN_SPEC_INVALID");
    const paths = e.problems.map((p) => p.path).sort();
    assert.ok(paths.some((p) => p.includes("replicas")) && paths.some((p) => p.includes("resources.cpu")), `every problem listed: ${paths.join(", ")}`);
  }

  const noSpec = await call(url, "POST", "/v1/jobs", adminToken, { name: "web" });
  assert.equal(noSpec.status, 400);

  const jobs = await call(url, "GET", "/v1/jobs", adminToken);
  assert.deepEqual(jobs.body, []);
  // The only write of a fresh server is its leadership (/leader), which no watch kind shows; the
  // tokens are never streamed.
  const events = await readFor(`${url}/v1/watch?from=1`, adminToken, 300);
  assert.match(events, /^: tiffin/, "the watch stream is open");
  assert.doesNotMatch(events, /event: (added|updated|removed)/, "nothing watchable was written to the store");
});

void test("apply stores versions; the same spec twice makes none; plan writes nothing", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const { url, adminToken } = ts.server;

  const plan0 = (await call(url, "POST", "/v1/plan", adminToken, { spec: specOf() })).body as PlanResult;
  assert.equal(plan0.changed, true);
  assert.equal(plan0.version, 1);
  assert.equal(plan0.current, null);
  assert.ok(plan0.diff.some((d) => d.path === "replicas" && d.op === "add"));
  assert.deepEqual((await call(url, "GET", "/v1/jobs", adminToken)).body, [], "plan wrote no job");

  const a1 = (await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf() })).body as ApplyResult;
  assert.deepEqual({ ...a1, revision: 0 }, { name: "web", version: 1, changed: true, revision: 0 });
  assert.ok(a1.revision > 0);
  const again = (await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf() })).body as ApplyResult;
  assert.equal(again.changed, false);
  assert.equal(again.version, 1);

  const changedSpec = specOf({ env: { MODE: "fast" } });
  const plan1 = (await call(url, "POST", "/v1/plan", adminToken, { spec: changedSpec })).body as PlanResult;
  assert.deepEqual(plan1.diff, [{ path: "env.MODE", op: "add", after: "fast" }]);
  assert.equal(plan1.version, 2);
  assert.equal(plan1.current, 1);
  const stillSame = (await call(url, "POST", "/v1/jobs", adminToken, { spec: specOf() })).body as ApplyResult;
  assert.equal(stillSame.changed, false, "plan stored no version");

  const a2 = (await call(url, "POST", "/v1/jobs", adminToken, { spec: changedSpec })).body as ApplyResult;
  assert.equal(a2.version, 2);
  const versions = (await call(url, "GET", "/v1/jobs/web/versions", adminToken)).body as JobVersion[];
  assert.deepEqual(versions.map((v) => [v.version, v.spec.env]), [[1, {}], [2, { MODE: "fast" }]]);
  const v1 = (await call(url, "GET", "/v1/jobs/web/versions/1", adminToken)).body as JobVersion;
  assert.deepEqual(v1.spec, specOf());
  // The diff of two versions, in the user's form (what `tiffin history --diff` and the dashboard show).
  assert.deepEqual((await call(url, "GET", "/v1/jobs/web/versions/2/diff", adminToken)).body, { name: "web", from: 1, to: 2, diff: [{ path: "env.MODE", op: "add", after: "fast" }] });
  assert.deepEqual((await call(url, "GET", "/v1/jobs/web/versions/1/diff?from=2", adminToken)).body, { name: "web", from: 2, to: 1, diff: [{ path: "env.MODE", op: "remove", before: "fast" }] });
  const first = (await call(url, "GET", "/v1/jobs/web/versions/1/diff", adminToken)).body as { from: number | null; diff: { op: string }[] };
  assert.equal(first.from, null);
  assert.ok(first.diff.length > 0 && first.diff.every((d) => d.op === "add"), JSON.stringify(first));
  const bad = await call(url, "GET", "/v1/jobs/web/versions/2/diff?from=x", adminToken);
  assert.equal(bad.status, 400);
  assert.match(JSON.stringify(bad.body), /from must be a positive integer, got \\"x\\"/);
  assert.equal((await call(url, "GET", "/v1/jobs/web/versions/3/diff", adminToken)).status, 404);
  assert.equal((await call(url, "GET", "/v1/jobs/web/versions/2/diff?from=9", adminToken)).status, 404);

  const removed = await call(url, "DELETE", "/v1/jobs/web", adminToken);
  assert.deepEqual(removed.body, { name: "web", removed: true });
  const summary = (await call(url, "GET", "/v1/jobs", adminToken)).body as JobSummary[];
  assert.equal(summary[0]?.removed, true);
  assert.equal(((await call(url, "GET", "/v1/jobs/web/versions", adminToken)).body as JobVersion[]).length, 2, "versions kept");
});

void test("a restart on the same dir keeps tokens, jobs, tasks and hosts, and gives hosts a full lease", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const mode = statSync(join(ts.dir, "admin.token")).mode & 0o777;
  assert.equal(mode, 0o600);
  assert.equal(statSync(join(ts.dir, "join.token")).mode & 0o777, 0o600);
  const agent = new FakeAgent(ts.server.url, "alpha");
  await agent.register(ts.server.joinToken);
  await ts.api.apply(specOf({ replicas: 2 }));
  const before = await eventually("placed", async () => {
    const s = await ts.api.job("web");
    return s.tasks.length === 2 && s.tasks.every((x) => x.hostId !== null) ? s : null;
  });
  const tokens = { admin: ts.server.adminToken, join: ts.server.joinToken };
  await ts.stop();

  const again = await startTestServer({ dir: ts.dir });
  t.after(() => again.cleanup());
  assert.deepEqual({ admin: again.server.adminToken, join: again.server.joinToken }, tokens);
  const after = (await call(again.server.url, "GET", "/v1/jobs/web", tokens.admin)).body as JobStatus;
  assert.deepEqual(after.tasks.map((x) => [x.id, x.hostId, x.attemptId]), before.tasks.map((x) => [x.id, x.hostId, x.attemptId]));
  const hosts = await again.api.hosts();
  assert.deepEqual(hosts.map((h) => [h.name, h.status, h.tasks]), [["alpha", "up", 2]]);
  // The old host token still works (kept in the store).
  const hb = await call(again.server.url, "POST", "/v1/agent/heartbeat", agent.reg?.hostToken ?? null, { hostId: agent.hostId });
  const { serverTime, ...rest } = hb.body as { serverTime?: number };
  assert.deepEqual(rest, { ok: true, reregister: false, heartbeatMs: 1000 });
  assert.ok(serverTime !== undefined && Math.abs(serverTime - Date.now()) < 5000, "the server's time, for the agent's clock check");
});
