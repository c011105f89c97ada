import { test } from "node:test";
import assert from "node:assert/strict";
import { startFakeApi } from "../api/fake.ts";
import { ApiClient } from "../api/client.ts";
import { formatProgress, notReadyError, progressOf, waitForJobs } from "./progress.ts";
import { concernsJobs } from "./progress-watch.ts";
import type { WatchMessage } from "../api/watch-types.ts";
import type { Attempt } from "../model/task.ts";
import { formatError } from "./errors.ts";
import * as data from "./testdata.ts";

void test("progressOf: ready means every task of the version runs, and is healthy when checked", () => {
  const cases = [
    { name: "all healthy", s: data.status(2, [0, 1, 2].map((i) => data.task(i, 2, "healthy"))), want: { running: 3, healthy: 3, ready: true, missing: 0 } },
    {
      name: "running but not healthy yet",
      s: data.status(2, [data.task(0, 2, "healthy"), data.task(1, 2, "running"), data.task(2, 2, "healthy")]),
      want: { running: 3, healthy: 2, ready: false, missing: 1 },
    },
    {
      name: "running is enough without a health check",
      s: data.status(2, [0, 1, 2].map((i) => data.task(i, 2, "running")), { health: null }),
      want: { running: 3, healthy: 0, ready: true, missing: 0 },
    },
    {
      name: "an old version's attempt does not count",
      s: data.status(2, [data.task(0, 2, "healthy"), data.task(1, 2, "healthy"), data.task(2, 2, "healthy", { attempts: [data.attempt(2, 1, "healthy")], attemptId: "att-2-1" })]),
      want: { running: 2, healthy: 2, ready: false, missing: 1 },
    },
    {
      name: "a task not yet created is missing",
      s: data.status(2, [data.task(0, 2, "healthy"), data.task(1, 2, "healthy")]),
      want: { running: 2, healthy: 2, ready: false, missing: 1 },
    },
    {
      name: "tasks past the replica count (scaling down) are ignored",
      s: data.status(2, [0, 1, 2, 3].map((i) => data.task(i, 2, i === 3 ? "exited" : "healthy"))),
      want: { running: 3, healthy: 3, ready: true, missing: 0 },
    },
    {
      name: "a newer version supersedes the target",
      s: data.status(3, [0, 1, 2].map((i) => data.task(i, 3, "healthy"))),
      version: 2,
      want: { running: 0, healthy: 0, ready: false, missing: 4 },
    },
  ];
  for (const c of cases) {
    const p = progressOf(c.s, c.version ?? 2);
    assert.deepEqual({ running: p.running, healthy: p.healthy, ready: p.ready, missing: p.missing.length }, c.want, c.name);
  }
});

void test("missing tasks say why", () => {
  const s = data.status(2, [data.task(0, 2, "unplaced", { reason: "cpu on 3 hosts" }), data.task(1, 2, "starting"), data.task(2, 2, "running")]);
  assert.deepEqual(progressOf(s, 2).missing, [
    { task: "web/0", why: "unplaced: cpu on 3 hosts" },
    { task: "web/1", why: "starting on dev-2" },
    { task: "web/2", why: "running, not yet healthy, on dev-3" },
  ]);
});

void test("formatProgress and the timeout error", () => {
  const p1 = progressOf(data.status(2, [data.task(0, 2, "healthy"), data.task(1, 2, "running"), data.task(2, 2, "starting")]), 2);
  const p2 = { ...progressOf(data.status(1, [data.task(0, 1, "running")], { replicas: 1, health: null }), 1), name: "worker" };
  assert.equal(formatProgress([p1, p2]), "web v2: 2/3 running, 1/3 healthy · worker v1: 1/1 running ✓");
  const text = formatError(notReadyError([p1, p2], 60_000));
  assert.match(text, /^error\[TIFFIN_TIMEOUT\]: not every task of web v2 was ready after 60s\n/);
  assert.match(text, /\n {2}web\/1: running, not yet healthy, on dev-2\n/);
  assert.match(text, /\n {2}web\/2: starting on dev-3\n/);
  assert.doesNotMatch(text, /worker/);
});

// These use a scripted fake (src/api/fake.ts): one answer per poll, so each transition is seen
// exactly once without timing; a real apply followed to the end runs in test/readme.test.ts.
void test("waitForJobs reports each change once and returns when ready", async (t) => {
  const states = [
    data.status(2, [data.task(0, 2, "starting"), data.task(1, 2, "starting"), data.task(2, 2, "starting")]),
    data.status(2, [data.task(0, 2, "starting"), data.task(1, 2, "starting"), data.task(2, 2, "starting")]),
    data.status(2, [data.task(0, 2, "healthy"), data.task(1, 2, "running"), data.task(2, 2, "starting")]),
    data.status(2, [0, 1, 2].map((i) => data.task(i, 2, "healthy"))),
  ];
  let n = 0;
  const api = await startFakeApi({ "GET /v1/jobs/web": (_req, res) => void res.end(JSON.stringify(states[Math.min(n++, states.length - 1)])) });
  t.after(() => api.close());
  const lines: string[] = [];
  const ps = await waitForJobs(new ApiClient({ addr: api.url, token: "t" }), [{ name: "web", version: 2 }], { timeoutMs: 10_000, pollMs: 10, onProgress: (l) => lines.push(l) });
  assert.equal(ps[0]?.ready, true);
  assert.deepEqual(lines, ["web v2: 0/3 running, 0/3 healthy", "web v2: 2/3 running, 1/3 healthy", "web v2: 3/3 running, 3/3 healthy ✓"]);
});

void test("waitForJobs gives up at the deadline with what is missing", async (t) => {
  const s = data.status(2, [data.task(0, 2, "healthy"), data.task(1, 2, "starting"), data.task(2, 2, "healthy")]);
  const api = await startFakeApi({ "GET /v1/jobs/web": { body: s } });
  t.after(() => api.close());
  const started = Date.now();
  await assert.rejects(waitForJobs(new ApiClient({ addr: api.url, token: "t" }), [{ name: "web", version: 2 }], { timeoutMs: 300, pollMs: 50 }), (err: unknown) => {
    assert.match(formatError(err), /web\/1: starting on dev-2/);
    return true;
  });
  // At the deadline: not before it, and within a poll (+ 1 s for a loaded machine) after it.
  const took = Date.now() - started;
  assert.ok(took >= 300 - 10 && took <= 300 + 50 + 1000, `gave up after ${took} ms (deadline 300 ms, polls every 50 ms)`);
});

void test("waitForJobs stops at once when a task of the version is parked, saying why and what to do", async (t) => {
  const parked = data.task(1, 2, "parked", { reason: "failed 6 times in a row on 2 hosts (exit code 3); `tiffin restart` or the next apply tries again", failures: 6 });
  const s = data.status(2, [data.task(0, 2, "healthy"), parked, data.task(2, 2, "healthy")]);
  const api = await startFakeApi({ "GET /v1/jobs/web": { body: s } });
  t.after(() => api.close());
  const started = Date.now();
  await assert.rejects(waitForJobs(new ApiClient({ addr: api.url, token: "t" }), [{ name: "web", version: 2 }], { timeoutMs: 60_000, pollMs: 50 }), (err: unknown) => {
    const text = formatError(err);
    assert.match(text, /^error\[TIFFIN_TASK_PARKED\]: web\/1 failed on every host it was given and is parked\n/);
    assert.match(text, /web\/1: parked: failed 6 times in a row on 2 hosts \(exit code 3\)/);
    assert.match(text, /hint: .*tiffin logs web\/1 --stderr.*tiffin restart web\/1/);
    return true;
  });
  assert.ok(Date.now() - started < 3000, "not the whole --wait");
});

void test("waitForJobs stops at once when no registered host could ever run a task of the version", async (t) => {
  const never = data.task(2, 2, "unplaced", { reason: "no host could ever fit it: it needs 64Gi memory (the largest of 3 hosts has 8Gi)", neverFits: true });
  const s = data.status(2, [data.task(0, 2, "unplaced", { reason: "no host fits: memory on 3 hosts" }), never]);
  const api = await startFakeApi({ "GET /v1/jobs/web": { body: s } });
  t.after(() => api.close());
  const started = Date.now();
  await assert.rejects(waitForJobs(new ApiClient({ addr: api.url, token: "t" }), [{ name: "web", version: 2 }], { timeoutMs: 60_000, pollMs: 50 }), (err: unknown) => {
    const text = formatError(err);
    assert.match(text, /^error\[TIFFIN_NEVER_FITS\]: no registered host could ever run web\/2\n/);
    assert.match(text, /web\/2: unplaced: no host could ever fit it: it needs 64Gi memory/);
    return true;
  });
  assert.ok(Date.now() - started < 3000, "not the whole --wait");
});

void test("waitForJobs looks again at each change the server's watch reports, not at the next poll", async (t) => {
  const states = [
    data.status(2, [data.task(0, 2, "starting"), data.task(1, 2, "starting"), data.task(2, 2, "starting")]),
    data.status(2, [data.task(0, 2, "healthy"), data.task(1, 2, "running"), data.task(2, 2, "starting")]),
    data.status(2, [0, 1, 2].map((i) => data.task(i, 2, "healthy"))),
  ];
  let n = 0;
  const api = await startFakeApi({
    "GET /v1/jobs/web": (_req, res) => void res.end(JSON.stringify(states[Math.min(n++, states.length - 1)])),
    "GET /v1/watch": (_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      let rev = 10;
      const job = (name: string, revision: number): object => ({ type: "updated", kind: "job", name, revision, object: { name, version: 2, removedAt: null, updatedAt: revision } });
      const other = job("other", rev);
      res.write(`event: updated\nid: ${rev}\ndata: ${JSON.stringify(other)}\n\n`);
      const timer = setInterval(() => {
        rev++;
        res.write(`event: updated\nid: ${rev}\ndata: ${JSON.stringify(job("web", rev))}\n\n`);
      }, 50);
      res.on("close", () => clearInterval(timer));
    },
  });
  t.after(() => api.close());
  const lines: string[] = [];
  const started = Date.now();
  const ps = await waitForJobs(new ApiClient({ addr: api.url, token: "t" }), [{ name: "web", version: 2, revision: 9 }], { timeoutMs: 60_000, pollMs: 60_000, watchedPollMs: 60_000, onProgress: (l) => lines.push(l) });
  assert.equal(ps[0]?.ready, true);
  assert.ok(Date.now() - started < 5000, `woken by the watch, not a poll (${Date.now() - started} ms)`);
  assert.deepEqual(lines, ["web v2: 0/3 running, 0/3 healthy", "web v2: 2/3 running, 1/3 healthy", "web v2: 3/3 running, 3/3 healthy ✓"]);
  assert.equal(api.requests.find((r) => r.url.startsWith("/v1/watch"))?.url, "/v1/watch?kinds=job%2Ctask%2Cattempt&job=web&from=9");
});

const concerning: { name: string; m: WatchMessage; want: boolean }[] = [
  { name: "the job", m: { type: "updated", kind: "job", name: "web", revision: 1, object: null }, want: true },
  { name: "another job", m: { type: "updated", kind: "job", name: "webx", revision: 1, object: null }, want: false },
  { name: "a task of the job", m: { type: "added", kind: "task", name: "web/3", revision: 1, object: null }, want: true },
  { name: "a task of another job", m: { type: "added", kind: "task", name: "api/3", revision: 1, object: null }, want: false },
  { name: "an attempt of the job", m: { type: "updated", kind: "attempt", name: "a1", revision: 1, object: { job: "web" } as Attempt }, want: true },
  { name: "an attempt of another job", m: { type: "updated", kind: "attempt", name: "a1", revision: 1, object: { job: "api" } as Attempt }, want: false },
  { name: "a host", m: { type: "updated", kind: "host", name: "h1", revision: 1, object: null }, want: false },
  { name: "a bookmark", m: { type: "bookmark", revision: 1 }, want: false },
  { name: "a reset", m: { type: "reset", reason: "compacted" }, want: true },
];
for (const c of concerning) {
  void test(`concernsJobs: ${c.name}`, () => assert.equal(concernsJobs(c.m, new Set(["web"])), c.want));
}

void test("rolloutError and formatProgress: a rollout's phase on the line; failed or paused ends the wait with why and what to do", async () => {
  const { rolloutError } = await import("./progress.ts");
  const p = progressOf(data.status(2, [0, 1, 2].map((i) => data.task(i, 2, "healthy"))), 2);
  const check = { name: "health", verdict: "fail" as const, figures: { tasks: 1, healthy: 0, restarts: 2 }, detail: "2 ends of new tasks by themselves" };
  const phase = (spec: 1 | "all", tasks: number[], over: object = {}) => ({ spec, tasks, startedAt: 1, healthyAt: null, endedAt: null, outcome: null, checks: [], ...over });
  const rollout = {
    job: "web", version: 2, from: 1, cause: "apply" as const, state: "running" as const, phase: 0, phases: [phase(1, [0]), phase("all", [1, 2])],
    policy: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" as const },
    maxUnavailable: 1, startedAt: 1, updatedAt: 1, endedAt: null, why: null, failure: null, rolledBackTo: null, promote: false,
  };
  assert.match(formatProgress([{ ...p, rollout }]), /^web v2 phase 1\/2 \(1\): 3\/3 running/);
  assert.equal(rolloutError({ ...p, rollout }), null, "running: keep waiting");
  const failed = { ...rollout, state: "failed" as const, why: "phase 1 (1) failed its health check: 2 ends of new tasks by themselves", failure: { phase: 0, check: "health" }, rolledBackTo: 3, phases: [phase(1, [0], { outcome: "failed", checks: [check] }), phase("all", [1, 2])] };
  const text = formatError(rolloutError({ ...p, rollout: failed }), false);
  assert.match(text, /^error\[TIFFIN_ROLLOUT_FAILED\]: the rollout of web v2 failed and was rolled back \(version 3 runs version 1's spec\): phase 1 \(1\) failed/);
  assert.match(text, /web phase 1: health.*2 ends of new tasks by themselves/);
  assert.match(text, /tiffin rollout status web/);
  const paused = formatError(rolloutError({ ...p, rollout: { ...rollout, state: "paused", why: "paused by a user" } }), false);
  assert.match(paused, /^error\[TIFFIN_ROLLOUT_PAUSED\]: the rollout of web v2 is paused in phase 1: paused by a user/);
  assert.match(paused, /tiffin rollout resume web/);
});

void test("progressOf: an every-host job waits for its per-host tasks, holes in the indexes included", () => {
  const eh = { replicas: 0, everyHost: true as const };
  const cases = [
    { name: "two hosts' tasks healthy (indexes 0 and 2)", s: data.status(2, [data.task(0, 2, "healthy"), data.task(2, 2, "healthy")], eh), want: { replicas: 2, running: 2, ready: true, missing: 0 } },
    { name: "one still starting", s: data.status(2, [data.task(0, 2, "healthy"), data.task(2, 2, "pending")], eh), want: { replicas: 2, running: 1, ready: false, missing: 1 } },
    { name: "no task yet: not ready (the server has not made them)", s: data.status(2, [], eh), want: { replicas: 0, running: 0, ready: false, missing: 1 } },
  ];
  for (const c of cases) {
    const p = progressOf(c.s, 2);
    assert.deepEqual({ replicas: p.replicas, running: p.running, ready: p.ready, missing: p.missing.length }, c.want, c.name);
  }
});
