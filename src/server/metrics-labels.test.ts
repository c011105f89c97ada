// The server's `tiffin_task_*` series label `job` with the job's name and `namespace` apart, as every
// other answer (and Prometheus SD) does: never the internal id `NAME.NS`.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { TaskMetrics } from "../model/index.ts";
import { createMetrics } from "./metrics.ts";

void test("tiffin_task_* series: job is the name, namespace apart, in every namespace", async () => {
  const m: TaskMetrics = { attemptId: "a", at: 1, up: true, scrapes: 3, scrapeErrors: 2, lastError: null, series: 5, scrapeMs: 2, clients: 4, errorsPerSec: 2.5, latencySeconds: 0.12 };
  const metrics = createMetrics({
    hostStatuses: () => [],
    taskStates: () => [],
    taskMetrics: () => [
      { job: "web", index: 0, version: 3, host: "h-1", metrics: m },
      { job: "web.team-a", index: 1, version: 2, host: "h-2", metrics: m },
    ],
  });
  const text = await metrics.registry.metrics();
  const cases: [string, RegExp][] = [
    ["default's job", /^tiffin_task_up\{job="web",namespace="default",index="0",host="h-1",version="3"\} 1$/m],
    ["team-a's job", /^tiffin_task_up\{job="web",namespace="team-a",index="1",host="h-2",version="2"\} 1$/m],
    ["a counter", /^tiffin_task_scrape_errors_total\{job="web",namespace="team-a",index="1",host="h-2",version="2"\} 2$/m],
    ["a signal", /^tiffin_task_latency_seconds\{job="web",namespace="team-a",index="1",host="h-2",version="2"\} 0\.12$/m],
  ];
  for (const [name, re] of cases) assert.match(text, re, name);
  assert.doesNotMatch(text, /web\.team-a/, "no series carries the id");
});
