// The agent's own metrics: attempt updates counted into tasks by state, starts and ends (a table of
// update sequences); route patterns for the latency labels; and the whole output through Debian's
// `promtool check metrics` (skipped where promtool is not installed).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import type { AttemptState } from "../../model/index.ts";
import { createAgentMetrics, endpointRoute } from "./agent-metrics.ts";

const sources = { helperProcesses: () => [{ attempts: 3 }, { attempts: 1 }], packageBytes: () => ({ fromOrigin: 1000, fromPeers: 5000, served: 7000 }) };

/** The value of one series in Prometheus text, or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

void test("attempt updates: tasks by state, a start once per attempt, an end once per final state", async () => {
  const cases: { name: string; updates: [string, AttemptState][]; running: number; starting: number; starts: number; failed: number; stopped: number }[] = [
    { name: "starts and runs", updates: [["a", "starting"], ["a", "running"], ["a", "healthy"], ["a", "running"]], running: 1, starting: 0, starts: 1, failed: 0, stopped: 0 },
    { name: "fails before running", updates: [["a", "starting"], ["a", "failed"]], running: 0, starting: 0, starts: 0, failed: 1, stopped: 0 },
    { name: "runs then crashes, the report repeated", updates: [["a", "running"], ["a", "failed"], ["a", "failed"]], running: 0, starting: 0, starts: 1, failed: 1, stopped: 0 },
    { name: "two tasks, one stopped", updates: [["a", "running"], ["b", "starting"], ["a", "stopped"]], running: 0, starting: 1, starts: 1, failed: 0, stopped: 1 },
  ];
  for (const c of cases) {
    const m = createAgentMetrics(sources);
    for (const [id, state] of c.updates) m.attemptUpdate({ id, state });
    const text = await m.registry.metrics();
    assert.equal(value(text, 'tiffin_agent_tasks{state="running"}'), c.running, c.name);
    assert.equal(value(text, 'tiffin_agent_tasks{state="starting"}'), c.starting, c.name);
    assert.equal(value(text, "tiffin_agent_task_starts_total"), c.starts, c.name);
    assert.equal(value(text, 'tiffin_agent_task_ends_total{state="failed"}'), c.failed, c.name);
    assert.equal(value(text, 'tiffin_agent_task_ends_total{state="stopped"}'), c.stopped, c.name);
    assert.equal(value(text, 'tiffin_agent_tasks{state="failed"}'), undefined, `${c.name}: no gauge of final states`);
  }
});

void test("route patterns: ids and hashes never become labels", () => {
  const cases: [string, string, string][] = [
    ["GET", "/v1/logs/1k95999vs0003bagj", "/v1/logs/:attemptId"],
    ["POST", "/v1/exec/1k95999vs0003bagj", "/v1/exec/:attemptId"],
    ["GET", `/v1/pieces/${"a".repeat(64)}`, "/v1/pieces/:sha256"],
    ["GET", "/metrics", "/metrics"],
    ["GET", "/v1/exec/x", "unmatched"],
    ["DELETE", "/v1/logs/x", "unmatched"],
    ["GET", "/etc/passwd", "unmatched"],
  ];
  for (const [method, p, route] of cases) assert.equal(endpointRoute(method, p), route, `${method} ${p}`);
});

void test("promtool check metrics: the agent's output, the latency histogram included", { skip: spawnSync("promtool", ["--version"]).status === 0 ? false : "promtool not installed (apt-get install prometheus)" }, async () => {
  const m = createAgentMetrics(sources);
  m.attemptUpdate({ id: "a", state: "running" });
  m.request("GET", "/v1/logs/:attemptId", 200, 0.004);
  m.request("GET", "unmatched", 404, 0.0002);
  m.scrape("ok", 0.003);
  m.scrape("timeout", 0.8);
  const text = await m.registry.metrics();
  assert.equal(value(text, 'tiffin_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/logs/:attemptId",code="200"}'), 1);
  assert.equal(value(text, "tiffin_agent_helper_processes"), 2);
  assert.equal(value(text, 'tiffin_agent_package_bytes_fetched_total{source="peers"}'), 5000);
  assert.equal(value(text, "tiffin_agent_package_bytes_served_total"), 7000);
  assert.equal(value(text, 'tiffin_agent_task_scrapes_total{result="timeout"}'), 1);
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  // prom-client's own nodejs_active_*_total gauges are flagged (see src/server/metrics-promtool.test.ts); nothing else may be.
  const known = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
  assert.deepEqual(`${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "" && !known.test(l.trim())), [], "promtool's findings");
});
