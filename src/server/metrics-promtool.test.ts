// The server's Prometheus output, task series and the HTTP latency histogram included, passes Debian's `promtool check metrics`
// (the prometheus package); skipped where promtool is not installed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import type { TaskMetrics } from "../model/index.ts";
import { createMetrics } from "./metrics.ts";

const promtool = spawnSync("promtool", ["--version"]).status === 0;

void test("promtool check metrics: the server's output with task series", { skip: promtool ? false : "promtool not installed (apt-get install prometheus)" }, async () => {
  const m = (over: Partial<TaskMetrics>): TaskMetrics => ({
    attemptId: "a", at: 1, up: true, scrapes: 3, scrapeErrors: 0, lastError: null, series: 5, scrapeMs: 2, clients: 4, errorsPerSec: 2.5, latencySeconds: 0.12, ...over,
  });
  const metrics = createMetrics({
    hostStatuses: () => ["up"],
    taskStates: () => ["running"],
    taskMetrics: () => [
      { job: "web", index: 0, version: 3, host: "web-1", metrics: m({}) },
      { job: "web", index: 1, version: 3, host: "web-2", metrics: m({ up: false, scrapeErrors: 7, clients: null, errorsPerSec: null, latencySeconds: null }) },
    ],
  });
  metrics.requestDuration.observe({ method: "GET", route: "/v1/jobs/:name", code: "200" }, 0.003);
  const text = await metrics.registry.metrics();
  assert.match(text, /^tiffin_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/v1\/jobs\/:name",code="200"\} 1$/m);
  assert.match(text, /tiffin_task_errors_per_second\{job="web",namespace="default",index="0",host="web-1",version="3"\} 2\.5/);
  assert.match(text, /tiffin_task_scrape_errors_total\{job="web",namespace="default",index="1",host="web-2",version="3"\} 7/);
  assert.doesNotMatch(text, /tiffin_task_clients\{[^}]*index="1"/, "a value the summary lacks is left out, not 0");
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  // prom-client's default nodejs_active_{handles,requests,resources}_total are gauges with a _total
  // suffix, which promtool flags; they are prom-client's names, known and left as they are (renaming
  // them would break existing dashboards). Nothing else may be flagged.
  const known = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/;
  const problems = `${r.stdout}${r.stderr}`.split("\n").filter((l) => l.trim() !== "" && !known.test(l.trim()));
  assert.deepEqual(problems, [], "promtool's findings");
  assert.ok(r.status === 0 || r.status === 3, `promtool ran (status ${r.status})`);
});
