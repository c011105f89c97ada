// Task metrics end to end: a real server (own process), a real agent and real tasks serving
// Prometheus text. One task's error counter starts climbing: the server shows the rising error rate
// (in GET /v1/jobs/:name/metrics and its own Prometheus output, labelled job/index/host/version).
// Beside it, tasks whose endpoints are slow, huge, malformed or gone: their scrape errors are counted
// and shown, they keep running, and the good task keeps being scraped. The agent's own /metrics (host
// token) counts the same tasks and scrapes, and both daemons time requests by route pattern.
import assert from "node:assert/strict";
import { execFile, execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import type { JobMetricsView, JobStatus, MetricCheckView } from "../api/types.ts";
import type { TaskMetrics } from "../model/index.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

const bin = new URL("../../bin/tiffin.js", import.meta.url).pathname;
const signals = { clients: "http_connections", errors: "http_errors_total", latency: "http_request_duration_seconds" };

/** A node HTTP server on $PORT_HTTP answering every path with `body` (a JS expression). */
function serving(body: string): string[] {
  return ["node", "-e", `const start = Date.now(); require("http").createServer((q, s) => { ${body} }).listen(+process.env.PORT_HTTP, "127.0.0.1")`];
}

void test("a task whose error counter starts climbing shows a rising error rate; slow, huge, malformed and gone endpoints are counted scrape errors", { timeout: 120_000 }, async (t) => {
  const { api, server, root, agent, agentDir } = await serverAndAgent(t, { prefix: "tiffin-metrics-", name: "metrics-1", metricsReportMs: 300 });
  const metrics = (intervalMs = 1000, timeoutMs = 800) => ({ port: "http", path: "/metrics", intervalMs, timeoutMs, signals, quantile: 0.99 });
  const jobs = [
    // No errors for 4 s, then 20 a second.
    testSpec({
      name: "climbing",
      ports: ["http"],
      isolation: "none",
      metrics: metrics(),
      // Checks that cannot fire during the test: `tiffin top` shows one failing since the errors began, one ok.
      metricChecks: [
        { signal: "errors", when: "above", threshold: 5, forMs: 600_000, graceMs: 0, action: "restart" },
        { signal: "clients", when: "below", threshold: 1, forMs: 600_000, graceMs: 0, action: "restart" },
      ],
      command: serving('const e = Math.max(0, Math.round((Date.now() - start - 4000) / 50)); s.end(`# TYPE http_errors_total counter\\nhttp_errors_total{code="500"} ${e}\\nhttp_connections 2\\nhttp_request_duration_seconds_bucket{le="0.2"} ${e}\\nhttp_request_duration_seconds_bucket{le="+Inf"} ${e}\\n`)'),
    }),
    testSpec({ name: "slow", ports: ["http"], isolation: "none", metrics: metrics(1000, 300), command: serving('s.write("up 1\\n")') }),
    testSpec({ name: "huge", ports: ["http"], isolation: "none", metrics: metrics(), command: serving('const b = Buffer.alloc(1 << 20, "x"); const p = () => { while (!s.destroyed && s.write(b)); if (!s.destroyed) s.once("drain", p); }; p()') }),
    testSpec({ name: "malformed", ports: ["http"], isolation: "none", metrics: metrics(), command: serving('s.end("<html>hello</html>")') }),
    // Declares an endpoint but serves nothing.
    testSpec({ name: "gone", ports: ["http"], isolation: "none", metrics: metrics(), command: ["node", "-e", "setInterval(() => {}, 1000)"] }),
  ];
  for (const spec of jobs) assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) })).status, 200, spec.name);
  const view = async (name: string): Promise<JobMetricsView> => (await (await api(`/v1/jobs/${name}/metrics`)).json()) as JobMetricsView;

  const quiet = await waitFor("the climbing task's first summaries, before its errors start", async () => {
    const m = (await view("climbing")).tasks[0]?.metrics;
    return m && m.errorsPerSec !== null ? m : null;
  }, 30_000);
  assert.ok(quiet.errorsPerSec !== null && quiet.errorsPerSec < 5, `quiet at first: ${quiet.errorsPerSec}`);
  const rising = await waitFor("the error rate rising on the server", async () => {
    const m = (await view("climbing")).tasks[0]?.metrics;
    return m && (m.errorsPerSec ?? 0) > 10 ? m : null;
  }, 30_000);
  assert.equal(rising.up, true);
  // The first scrape may come before the task listens (a counted error, as Prometheus's up=0); none after.
  assert.ok(rising.scrapeErrors <= 1, `scrape errors: ${rising.scrapeErrors}`);
  assert.equal(rising.clients, 2);
  assert.ok(rising.latencySeconds !== null && rising.latencySeconds <= 0.2, String(rising.latencySeconds));

  const expected: [string, string][] = [["slow", "timeout"], ["huge", "too-large"], ["malformed", "malformed"], ["gone", "unreachable"]];
  for (const [name, kind] of expected) {
    const m = await waitFor(`${name}: two scrape errors on the server`, async () => {
      const got = (await view(name)).tasks[0]?.metrics;
      return got && got.scrapeErrors >= 2 ? got : null;
    }, 30_000);
    assert.equal(m.up, false, name);
    assert.equal(m.lastError?.kind, kind, `${name}: ${m.lastError?.message}`);
    const st = (await (await api(`/v1/jobs/${name}`)).json()) as JobStatus;
    assert.equal(st.tasks[0]?.state, "running", `${name} is not restarted for its scrape errors`);
  }
  // The good task was scraped on time all along.
  const again = (await view("climbing")).tasks[0]?.metrics;
  assert.ok(again && again.scrapes >= 8 && again.up, `still scraped every second: ${again?.scrapes}`);
  assert.equal(again.scrapeErrors, rising.scrapeErrors, "and without new errors");

  const prom = await (await api("/metrics")).text();
  const line = prom.split("\n").find((l) => l.startsWith('tiffin_task_errors_per_second{job="climbing",namespace="default",index="0",host="metrics-1",version="1"}'));
  assert.ok(line && Number(line.split(" ")[1]) > 10, `the server's Prometheus output: ${line}`);
  assert.match(prom, /tiffin_task_scrape_errors_total\{job="malformed",namespace="default",index="0",host="metrics-1",version="1"\} [1-9]/);
  assert.match(prom, /tiffin_task_up\{job="gone",namespace="default",index="0",host="metrics-1",version="1"\} 0/);
  // Requests through the router are timed by route pattern, never by raw path.
  assert.match(prom, /^tiffin_http_request_duration_seconds_count\{method="GET",route="\/v1\/jobs\/:name\/metrics",code="200"\} [1-9]/m);
  assert.doesNotMatch(prom, /route="\/v1\/jobs\/climbing/, "no raw paths as labels");
  // At least the good scrapes of the climbing task the server has seen so far (timing decides how many).
  await checkAgentMetrics(agent.address, agentDir, rising.scrapes - rising.scrapeErrors);
  await checkTop(server.url, server.adminToken, root);
});

/** The agent's own GET /metrics: host token only; its tasks, helpers, starts and scrapes; promtool-clean. */
async function checkAgentMetrics(address: string, agentDir: string, okScrapes: number): Promise<void> {
  const url = `http://${address}/metrics`;
  assert.equal((await fetch(url)).status, 401, "no token, no metrics");
  assert.equal((await fetch(url, { headers: { authorization: "Bearer wrong" } })).status, 401);
  const { hostToken } = JSON.parse(fs.readFileSync(path.join(agentDir, "agent.json"), "utf8")) as { hostToken: string };
  const res = await fetch(url, { headers: { authorization: `Bearer ${hostToken}` } });
  assert.equal(res.status, 200);
  const text = await res.text();
  const num = (series: string): number => Number(text.split("\n").find((l) => l.startsWith(`${series} `))?.slice(series.length + 1));
  assert.equal(num('tiffin_agent_tasks{state="running"}'), 5, "the five tasks run");
  assert.equal(num("tiffin_agent_task_starts_total"), 5);
  assert.ok(num("tiffin_agent_helper_processes") >= 1, "helpers counted");
  assert.ok(okScrapes >= 3 && num('tiffin_agent_task_scrapes_total{result="ok"}') >= okScrapes, "the climbing task's scrapes");
  for (const kind of ["timeout", "too-large", "malformed", "unreachable"]) assert.ok(num(`tiffin_agent_task_scrapes_total{result="${kind}"}`) >= 2, kind);
  assert.match(text, /^tiffin_http_request_duration_seconds_count\{method="GET",route="\/metrics",code="401"\} 2$/m, "the refused scrapes were timed");
  if (spawnSync("promtool", ["--version"]).status !== 0) return;
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  const known = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
  assert.deepEqual(`${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "" && !known.test(l.trim())), [], "promtool's findings on the agent");
}

/** `tiffin top` as users run it: --json once, and live on a terminal (tmux), refreshing until Ctrl-C. */
async function checkTop(url: string, token: string, root: string): Promise<void> {
  const home = fs.mkdtempSync(path.join(root, "home-"));
  const env = { ...process.env, HOME: home, TIFFIN_ADDR: url, TIFFIN_TOKEN: token };
  // Not execFileSync: the agent runs in this process, and a blocked event loop fails its scrapes.
  const json = JSON.parse((await promisify(execFile)(process.execPath, [bin, "top", "--json", "--sort", "errors"], { env, encoding: "utf8" })).stdout) as { job: string; metrics: TaskMetrics | null; checks?: MetricCheckView[]; restarts: number; ioReadRate: number | null }[];
  assert.equal(json[0]?.job, "climbing", "sorted by errors/s, the climbing task first");
  // The cgroup (or /proc) figures a task has with or without an endpoint: I/O rates and restarts.
  assert.ok(json.every((t) => t.restarts === 0 && "ioReadRate" in t), JSON.stringify(json.map((t) => [t.job, t.restarts, t.ioReadRate])));
  assert.ok((json[0]?.metrics?.errorsPerSec ?? 0) > 10);
  const [errs, clients] = json[0]?.checks ?? [];
  assert.deepEqual([errs?.condition, errs?.state, errs?.taken], ["errors above 5 for 10m", "pending", null], JSON.stringify(errs));
  assert.ok(errs && errs.since !== null && (errs.value ?? 0) > 5, "failing since the errors began, with the value");
  assert.deepEqual([clients?.condition, clients?.state, clients?.value], ["clients below 1 for 10m", "ok", 2]);
  assert.equal(json.find((t) => t.job === "slow")?.checks, undefined, "no checks, no column content");
  assert.deepEqual(new Set(json.map((t) => t.job)), new Set(["climbing", "slow", "huge", "malformed", "gone"]));
  const session = `tiffin-top-${process.pid}`;
  const script = path.join(root, "top.sh");
  fs.writeFileSync(script, `export HOME=${home} TIFFIN_ADDR=${url} TIFFIN_TOKEN=${token}\nexec ${process.execPath} ${bin} top --interval 500ms --sort errors\n`);
  execFileSync("tmux", ["new-session", "-d", "-s", session, "-x", "220", "-y", "30", `sh ${script}`]);
  try {
    const screen = (): string => execFileSync("tmux", ["capture-pane", "-p", "-t", session], { encoding: "utf8" });
    // The table as soon as it shows each task's latest summary (the first frame may predate one).
    const first = await waitFor("top's table on the terminal, with the malformed task's scrape error", () => {
      const text = screen();
      return /TASK\s+HOST\s+STATE.*CHECKS/.test(text) && /malformed\/0 .*err \(malformed\)/.test(text) ? text : null;
    }, 20_000);
    assert.match(first, /climbing\/0\s+metrics-1\s+running .* 0 failing since \d\d:\d\d:\d\d \([\d.]+\); 1 ok/);
    const stamp = (s: string): string => /^(\d\d:\d\d:\d\d)/m.exec(s)?.[1] ?? "";
    await waitFor("a refresh", () => (stamp(screen()) !== stamp(first) ? true : null), 10_000);
    execFileSync("tmux", ["send-keys", "-t", session, "C-c"]);
    await waitFor("top ends on Ctrl-C", () => {
      try {
        execFileSync("tmux", ["has-session", "-t", session], { stdio: "ignore" });
        return null;
      } catch {
        return true;
      }
    }, 10_000);
  } finally {
    try {
      execFileSync("tmux", ["kill-session", "-t", session], { stdio: "ignore" });
    } catch {
      // already ended
    }
  }
}
