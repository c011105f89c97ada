// Metric health checks end to end: a real server (own process), a real agent and real tasks serving
// Prometheus text, the agent reporting every 30 s (10 s by default) so that only its at-once report of a
// firing check can make the deadlines below.
// - A task whose error counter starts climbing is restarted by its check (errors above 5 for 3s)
//   within `for` plus a scrape or two; status (API and `tiffin status`) names the check and value.
// - Tasks whose endpoints are slow, huge, malformed or gone, with checks that would fire on any
//   reading (errors above 0, clients below 1), are never restarted: no reading is no verdict.
// - 4 tasks of one job all breaching, budget 1 (a quarter of 4): restarted one at a time, and status
//   says when a restart is held back by the budget.
// - With `then: "move"` and two agents, the breaching task moves to the other host.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import type { JobStatus } from "../api/types.ts";
import type { Attempt, MetricHealthCheck } from "../model/index.ts";
import { startAgent } from "./main.ts";
import { serverAndAgent } from "./real-server.ts";
import { killAttempts, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

const bin = new URL("../../bin/tiffin.js", import.meta.url).pathname;
const signals = { clients: "http_connections", errors: "http_errors_total", latency: "http_request_duration_seconds" };
const intervalMs = 1000;
const metrics = (timeoutMs = 800) => ({ port: "http", path: "/metrics", intervalMs, timeoutMs, signals, quantile: 0.99 });
const check = (over: Partial<MetricHealthCheck>): MetricHealthCheck => ({ signal: "errors", when: "above", threshold: 5, forMs: 3000, graceMs: 1000, action: "restart", ...over });

/** A node HTTP server on $PORT_HTTP answering every path with `body` (a JS expression). */
function serving(body: string): string[] {
  return ["node", "-e", `const start = Date.now(); require("http").createServer((q, s) => { ${body} }).listen(+process.env.PORT_HTTP, "127.0.0.1")`];
}
/** Prometheus text with an error counter at 20 a second from `afterMs` after the start. */
const climbing = (afterMs: number): string[] =>
  serving(`const e = Math.max(0, Math.round((Date.now() - start - ${afterMs}) / 50)); s.end(\`# TYPE http_errors_total counter\\nhttp_errors_total \${e}\\nhttp_connections 2\\n\`)`);

void test("metric checks restart a task whose errors climb, in time, one at a time within the budget, and never for a broken endpoint", { timeout: 180_000 }, async (t) => {
  const { api, server, root } = await serverAndAgent(t, { prefix: "tiffin-mcheck-", name: "mcheck-1", metricsReportMs: 30_000 });
  const restartPolicy = { backoffInitialMs: 1000, backoffMaxMs: 1000, moveAfterFailures: 1000 };
  const quiet = [check({ threshold: 0, forMs: 2000 }), check({ signal: "clients", when: "below", threshold: 1, forMs: 2000 })];
  const jobs = [
    testSpec({ name: "climbing", ports: ["http"], isolation: "none", metrics: metrics(), metricChecks: [check({})], restart: restartPolicy, command: climbing(4000) }),
    testSpec({ name: "four", replicas: 4, ports: ["http"], isolation: "none", metrics: metrics(), metricChecks: [check({ forMs: 2000 })], restart: restartPolicy, command: climbing(0) }),
    testSpec({ name: "slow", ports: ["http"], isolation: "none", metrics: metrics(300), metricChecks: quiet, command: serving('s.write("up 1\\n")') }),
    testSpec({ name: "huge", ports: ["http"], isolation: "none", metrics: metrics(), metricChecks: quiet, command: serving('const b = Buffer.alloc(1 << 20, "x"); const p = () => { while (!s.destroyed && s.write(b)); if (!s.destroyed) s.once("drain", p); }; p()') }),
    testSpec({ name: "malformed", ports: ["http"], isolation: "none", metrics: metrics(), metricChecks: quiet, command: serving('s.end("<html>hello</html>")') }),
    testSpec({ name: "gone", ports: ["http"], isolation: "none", metrics: metrics(), metricChecks: quiet, command: ["node", "-e", "setInterval(() => {}, 1000)"] }),
  ];
  for (const spec of jobs) assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) })).status, 200, spec.name);
  const status = async (name: string): Promise<JobStatus> => (await (await api(`/v1/jobs/${name}`)).json()) as JobStatus;
  const metricEnded = (s: JobStatus): Attempt[] => s.tasks.flatMap((task) => task.attempts.filter((a) => a.endCause === "metric"));

  // 4 tasks, budget 1: watch every 100 ms how many are stopped for a check at once, and for the held reason.
  const four = { maxDown: 0, heldSeen: null as string | null, polls: 0, overlap: null as string | null, cli: null as string | null, cliRuns: 0 };
  // `tiffin status four` as users run it, while an action is held (several tries: each held spell is short).
  const cliHome = fs.mkdtempSync(path.join(root, "home-cli-"));
  let cliBusy = false;
  const statusCli = (): void => {
    if (cliBusy || four.cli !== null || four.cliRuns >= 8) return;
    cliBusy = true;
    four.cliRuns++;
    promisify(execFile)(process.execPath, [bin, "status", "four"], { env: { ...process.env, HOME: cliHome, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken }, encoding: "utf8" })
      .then(({ stdout }) => {
        if (stdout.includes("held back")) four.cli = stdout;
      })
      .catch(() => undefined)
      .finally(() => (cliBusy = false));
  };
  let watching = true;
  t.after(() => {
    watching = false;
  });
  const watcher = (async () => {
    while (watching) {
      const s = await status("four").catch(() => null);
      if (!s) break;
      const down = s.tasks.filter((task) => task.attempts.some((a) => a.metricAction?.state === "acting" && !["exited", "stopped", "failed", "lost"].includes(a.state))).length;
      if (down > 1) four.overlap ??= JSON.stringify(s.tasks.map((task) => task.attempts.map((a) => ({ id: a.id, state: a.state, desired: a.desired, m: a.metricAction }))));
      four.maxDown = Math.max(four.maxDown, down);
      four.heldSeen ??= s.tasks.find((task) => task.reason?.includes("held back by the job's disruption budget"))?.reason ?? null;
      if (s.tasks.some((task) => task.reason?.includes("held back"))) statusCli();
      four.polls++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  // The climbing task: restarted by its check, in time.
  const ended = await waitFor("the climbing task stopped by its metric check", async () => metricEnded(await status("climbing"))[0] ?? null, 40_000);
  const m = ended.metricAction;
  assert.ok(m && m.actedAt !== null && ended.startedAt !== null, JSON.stringify(ended));
  assert.equal(m.condition, "errors above 5 for 3s");
  assert.ok(m.value > 5, `the value that fired: ${m.value}`);
  assert.equal(ended.state, "failed");
  assert.match(ended.reason ?? "", /^metric check failed: errors above 5 for 3s \(health check 0: [\d.]+ at /);
  const errorsFrom = ended.startedAt + 4000;
  const tookMs = m.actedAt - errorsFrom;
  t.diagnostic(`errors started (at the latest) ${errorsFrom}; breach seen ${m.since - errorsFrom} ms later, fired ${m.firedAt - errorsFrom} ms, acted ${tookMs} ms`);
  // for (3 s) + one scrape for the rate to show the step + one scrape (the 250 ms tick may stretch
  // each), + 1.5 s for the report, the reconciler and a loaded machine.
  assert.ok(tookMs <= 3000 + 2 * 1250 + 1500, `restarted ${tookMs} ms after the errors began`);
  assert.ok(m.firedAt - m.since >= 3000, "not before the breach lasted `for`");
  const after = await waitFor("a new attempt of the climbing task", async () => {
    const task = (await status("climbing")).tasks[0];
    return task && task.attemptId !== ended.id && task.failures >= 1 ? task : null;
  }, 20_000);
  assert.equal(after.hostName, "mcheck-1", "restart: on the same host");

  // `tiffin status` as users run it: the previous attempt, by its check and value.
  const home = fs.mkdtempSync(path.join(root, "home-"));
  // Not execFileSync: the agent runs in this process, and blocking its event loop for the CLI's start
  // on a loaded machine stops its heartbeats long enough for its host to be declared down.
  const { stdout: out } = await promisify(execFile)(process.execPath, [bin, "status", "climbing"], { env: { ...process.env, HOME: home, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken }, encoding: "utf8" });
  assert.match(out, /metric: errors above 5 for 3s \([\d.]+ at \d\d:\d\d:\d\d\)/, out);

  // The 4 tasks: each restarted by its check, never two at once, the held ones saying why.
  await waitFor("every task of four restarted by its check", async () => {
    const s = await status("four");
    return new Set(metricEnded(s).map((a) => a.index)).size === 4 ? true : null;
  }, 90_000);
  watching = false;
  await watcher;
  // No two metric stops of four overlap: each from its stop to its replacement's start.
  const s4 = await status("four");
  const windows = s4.tasks.flatMap((task) => task.attempts.filter((a) => a.endCause === "metric").map((a) => {
    const next = task.attempts.filter((b) => b.createdAt > a.createdAt && b.startedAt !== null).sort((x, y) => x.createdAt - y.createdAt)[0];
    return { id: a.id, from: a.metricAction?.actedAt ?? 0, to: next?.startedAt ?? Number.POSITIVE_INFINITY };
  }));
  for (const w of windows) for (const o of windows) if (w.id !== o.id) assert.ok(w.to <= o.from || o.to <= w.from, `overlap: ${JSON.stringify([w, o])}`);
  assert.ok(windows.length >= 4, `${windows.length} metric stops`);

  assert.ok(four.polls > 20, `polled ${four.polls} times`);
  // Polled: a stop can be over between two polls (so 0 is possible); the windows above are exact.
  assert.ok(four.maxDown <= 1, `at most one task of four stopped for its check at a time: ${four.overlap}`);
  assert.match(four.heldSeen ?? "", /^metric check 0 fired \(errors above 5 for 2s: [\d.]+\); restart held back by the job's disruption budget \(1 task down, at most 1 task at a time\)$/);
  await waitFor("tiffin status run while an action was held", () => (cliBusy ? null : true), 20_000);
  assert.match(four.cli ?? `none of ${four.cliRuns} runs saw it`, /metric check 0 fired at \d\d:\d\d:\d\d \(errors above 5 for 2s: [\d.]+\); restart held back by the job's disruption budget since \d\d:\d\d:\d\d \(1 task down, at most 1 at a time\)/);
  // The broken endpoints: scrape errors, but the same attempt all along, no failure.
  for (const name of ["slow", "huge", "malformed", "gone"]) {
    type View = { tasks: { metrics: { scrapeErrors: number; checks?: { state: string }[] } | null }[] };
    const got = await waitFor(`${name}: scrape errors counted`, async () => {
      const m = ((await (await api(`/v1/jobs/${name}/metrics`)).json()) as View).tasks[0]?.metrics;
      return m && m.scrapeErrors >= 5 ? m : null;
    }, 45_000);
    assert.deepEqual(got.checks?.map((c) => c.state), ["unknown", "unknown"], `${name}: no verdict`);
    // By now (5 scrape errors or more, checks of 2 s) a false verdict would have acted.
    const task = (await status(name)).tasks[0];
    assert.ok(task, name);
    assert.equal(task.state, "running", name);
    assert.equal(task.failures, 0, name);
    assert.equal(task.attempts.length, 1, `${name}: never restarted`);
    assert.equal(task.attempts[0]?.metricAction, undefined, `${name}: no check fired`);
  }
});

void test("a metric check with then: move moves the breaching task to another host", { timeout: 120_000 }, async (t) => {
  const { api, server, root } = await serverAndAgent(t, { prefix: "tiffin-mmove-", name: "mmove-a", metricsReportMs: 30_000 });
  const dirB = path.join(root, "agent-b");
  const agentB = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir: dirB, name: "mmove-b", labels: {}, log: testLogger(), allowUnsandboxed: true });
  t.after(async () => {
    await agentB.close("leave-tasks").catch(() => {});
    killAttempts(dirB);
  });
  await waitFor("both hosts up", async () => {
    const hosts = (await (await api("/v1/hosts")).json()) as { name: string; status: string }[];
    return hosts.filter((h) => h.status === "up").length === 2 ? true : null;
  }, 20_000);
  const spec = testSpec({ name: "mover", ports: ["http"], isolation: "none", metrics: metrics(), metricChecks: [check({ forMs: 2000, action: "move" })], restart: { backoffInitialMs: 1000, backoffMaxMs: 1000, moveAfterFailures: 1000 }, command: climbing(2000) });
  assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) })).status, 200);
  const status = async (): Promise<JobStatus> => (await (await api("/v1/jobs/mover")).json()) as JobStatus;
  const first = await waitFor("the task stopped by its check", async () => (await status()).tasks[0]?.attempts.find((a) => a.endCause === "metric") ?? null, 40_000);
  assert.equal(first.metricAction?.action, "move");
  const moved = await waitFor("a new attempt on the other host", async () => {
    const task = (await status()).tasks[0];
    const next = task?.attempts.find((a) => a.createdAt > first.createdAt);
    return task && next ? { task, next } : null;
  }, 20_000);
  assert.notEqual(moved.next.hostId, first.hostId, "moved, not restarted in place");
  assert.equal(moved.task.failures, 1);
});
