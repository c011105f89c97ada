import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobMetricsView, TaskMetricsView } from "../../api/types.ts";
import type { TaskMetrics } from "../../model/index.ts";
import type { MetricCheckView } from "../../api/types.ts";
import { formatTime } from "../table.ts";
import { checkCell, formatSeconds, renderTop, topRows } from "./top.ts";
import type { TopSort } from "./top.ts";

const MiB = 1024 * 1024;
const summary = (over: Partial<TaskMetrics>): TaskMetrics => ({
  attemptId: "a", at: 1, up: true, scrapes: 5, scrapeErrors: 0, lastError: null, series: 10, scrapeMs: 3, clients: null, errorsPerSec: null, latencySeconds: null, ...over,
});
const task = (index: number, over: Partial<TaskMetricsView>): TaskMetricsView => ({
  index, version: 1, hostId: "h1", hostName: "web-1", state: "running", attemptId: `a${index}`,
  cpuCores: null, cpuLimit: 1, memoryBytes: null, memoryLimitBytes: 128 * MiB, ioReadRate: null, ioWriteRate: null, restarts: 0, metrics: null, ...over,
});
const views: JobMetricsView[] = [
  {
    name: "web", version: 1, endpoint: { port: "http", path: "/metrics", intervalMs: 10_000, timeoutMs: 5000, signals: { clients: "c", errors: "e", latency: "l" }, quantile: 0.99 },
    tasks: [
      task(0, { cpuCores: 0.5, memoryBytes: 64 * MiB, ioReadRate: 0, ioWriteRate: 3.5 * MiB, restarts: 2, metrics: summary({ errorsPerSec: 1, latencySeconds: 0.12, clients: 3 }) }),
      task(1, { cpuCores: 0.9, memoryBytes: 16 * MiB, ioReadRate: 512, ioWriteRate: 12 * 1024, metrics: summary({ errorsPerSec: 7, latencySeconds: 0.0004, clients: 1, up: false, scrapeErrors: 2, lastError: { kind: "timeout", message: "x", at: 1 } }) }),
    ],
  },
  { name: "api", version: 3, endpoint: null, tasks: [task(0, { cpuCores: 0.1, memoryBytes: 120 * MiB, state: "healthy" }), task(1, { hostId: null, hostName: null, state: "unplaced" })] },
];

void test("topRows: sorted largest first by the chosen column, ties and `task` by job then index", () => {
  const cases: [TopSort, string[]][] = [
    ["cpu", ["web/1", "web/0", "api/0", "api/1"]],
    ["memory", ["api/0", "web/0", "web/1", "api/1"]],
    ["errors", ["web/1", "web/0", "api/0", "api/1"]],
    ["latency", ["web/0", "web/1", "api/0", "api/1"]],
    ["clients", ["web/0", "web/1", "api/0", "api/1"]],
    ["task", ["api/0", "api/1", "web/0", "web/1"]],
  ];
  for (const [by, want] of cases) assert.deepEqual(topRows(views, by).map((t) => `${t.job}/${t.index}`), want, by);
  // With -A, another namespace's job is NS/NAME, apart from the default's of the same name.
  const web = views.find((v) => v.name === "web") as JobMetricsView;
  assert.deepEqual(topRows([web, { ...web, namespace: "team-a" }], "task").map((t) => `${t.job}/${t.index}`), ["team-a/web/0", "team-a/web/1", "web/0", "web/1"]);
});

void test("renderTop: limits beside usage, the signals with their quantile, scrape errors with their kind", () => {
  const lines = renderTop(topRows(views, "cpu")).split("\n");
  assert.match(lines[0] ?? "", /^TASK\s+HOST\s+STATE\s+CPU\s+MEMORY\s+IO R\/W\s+RESTARTS\s+CLIENTS\s+ERRORS\/S\s+LATENCY\s+SCRAPE\s+CHECKS$/);
  assert.match(lines[1] ?? "", /^web\/1\s+web-1\s+running\s+0\.90\/1\s+16Mi\/128Mi 13%\s+512\/12K\s+0\s+1\s+7\s+400µs p99\s+2 err \(timeout\)\s+-$/);
  assert.match(lines[2] ?? "", /^web\/0 .* 64Mi\/128Mi 50%\s+0\/3\.5M\s+2\s+3\s+1\s+120ms p99\s+ok\s+-$/);
  assert.match(lines[4] ?? "", /^api\/1\s+-\s+unplaced\s+-\/1\s+-\/128Mi\s+-\s+0\s+-\s+-\s+-\s+-\s+-$/);
  assert.equal(renderTop([]), "no tasks\n");
});

void test("formatSeconds", () => {
  const cases: [number, string][] = [[2.345, "2.35s"], [1, "1s"], [0.12, "120ms"], [0.0015, "1.5ms"], [0.0004, "400µs"]];
  for (const [s, want] of cases) assert.equal(formatSeconds(s), want);
});

void test("checkCell: ok, failing since T, fired at T with its value and what became of it", () => {
  const t = (ms: number): string => formatTime(ms).slice(11);
  const c = (over: Partial<MetricCheckView>): MetricCheckView => ({ check: 0, condition: "errors above 5 for 30s", action: "restart", state: "ok", value: 1, since: null, at: 5000, taken: null, heldSince: null, ...over });
  const cases: [string, MetricCheckView, string][] = [
    ["no reading", c({ state: "unknown", value: null }), "-"],
    ["ok", c({}), "ok"],
    ["failing", c({ state: "pending", value: 7.25, since: 60_000 }), `failing since ${t(60_000)} (7.25)`],
    ["fired, waiting", c({ state: "firing", value: 9, since: 60_000, at: 90_000, taken: "waiting" }), `fired ${t(90_000)} (9)`],
    ["fired, held by the budget", c({ state: "firing", value: 9, at: 90_000, taken: "held", heldSince: 91_000 }), `fired ${t(90_000)} (9), held since ${t(91_000)}`],
    ["fired, acting (move)", c({ state: "firing", value: 0, at: 90_000, taken: "acting", action: "move" }), `fired ${t(90_000)} (0), moving`],
  ];
  for (const [name, view, want] of cases) assert.equal(checkCell(view), want, name);
  const two = renderTop(topRows([{ ...views[1] as JobMetricsView, tasks: [task(0, { checks: [c({}), c({ check: 1, state: "pending", value: 0, since: 60_000 })] })] }], "task"));
  assert.match(two, new RegExp(`0 ok; 1 failing since ${t(60_000)} \\(0\\)\n$`));
});
