// What task metrics cost, in-process and without a cluster (a first measure of issue 13's targets):
// 1. the agent's CPU per scrape interval: parsing and reducing one exposition of S series (a mix of
//    counters, gauges and a 12-bucket histogram, as prom-client writes them), times T tasks;
// 2. the server's memory for the kept points: TaskMetricsHistory with T tasks at one point a minute
//    for 24 h (1,440 points a task), measured as heap and array-buffer growth after GC.
// HTTP itself is not in (1): a loopback GET of a 10 KB body is its own cost, measured with the e2e.
//
// Rerun: node --expose-gc bench/task-metrics.ts [--tasks 1000] [--series 100] [--server-tasks 1000]
import { parseArgs } from "node:util";
import { ManualClock } from "../src/model/index.ts";
import { isParseError, parsePromText } from "../src/agent/metrics/prom-text.ts";
import { pointOf, signalsOf } from "../src/agent/metrics/signals.ts";
import { TaskMetricsHistory } from "../src/server/task-metrics-history.ts";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "1000" }, series: { type: "string", default: "100" }, "server-tasks": { type: "string", default: "1000" } } });
const tasks = Number(values.tasks);
const series = Number(values.series);
const serverTasks = Number(values["server-tasks"]);

function exposition(n: number, tick: number): string {
  const lines = ["# TYPE http_request_duration_seconds histogram"];
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, "+Inf"];
  buckets.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{le="${le}",route="/api"} ${tick * (i + 1)}`));
  lines.push("# TYPE http_errors_total counter", `http_errors_total{code="500"} ${tick}`, "http_connections 12");
  for (let i = lines.length; i < n + 3; i++) lines.push(`app_series_${i}_total{kind="x",shard="${i % 7}"} ${tick * i}`);
  return `${lines.join("\n")}\n`;
}

const signals = { clients: "http_connections", errors: "http_errors_total", latency: "http_request_duration_seconds" };
const text = [exposition(series, 1), exposition(series, 2)];
const start = process.cpuUsage();
const t0 = performance.now();
for (let t = 0; t < tasks; t++) {
  const window = [0, 1].map((k) => {
    const e = parsePromText(text[k] ?? "");
    if (isParseError(e)) throw new Error(e.message);
    return pointOf(e, signals, 0.99, k * 10_000);
  });
  signalsOf(window, 0.99);
}
const cpu = process.cpuUsage(start);
const cpuMsPerInterval = (cpu.user + cpu.system) / 1000 / 2;
console.log(`agent: ${tasks} tasks x ${series} series (${text[0]?.length ?? 0} bytes each): ${cpuMsPerInterval.toFixed(0)} ms CPU per scrape round (${(performance.now() - t0).toFixed(0)} ms wall for 2 rounds); at a 10 s interval ${(cpuMsPerInterval / 100).toFixed(1)}% of one core`);

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.log("server: run with node --expose-gc for the memory figure");
else {
  gc();
  // Typed arrays live outside the heap: count both.
  const used = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const before = used();
  const clock = new ManualClock(0);
  const h = new TaskMetricsHistory({ clock });
  for (let minute = 0; minute < 1440; minute++) {
    clock.advance(60_000);
    for (let t = 0; t < serverTasks; t++) {
      h.add({ job: `job-${t % 50}`, index: t, version: 1, hostId: `h${t % 100}` }, {
        attemptId: `a${t}`, at: clock.now(), up: true, scrapes: minute, scrapeErrors: 0, lastError: null, series, scrapeMs: 2, clients: 12, errorsPerSec: 0.5, latencySeconds: 0.12,
      });
    }
  }
  gc();
  const bytes = used() - before;
  // Keeps `h` alive past the measure (else it is collected with its points).
  if ((await h.seriesOf("job-0", 0)).length !== 1440) throw new Error("expected 1440 points");
  const points = serverTasks * 1440;
  console.log(`server: ${serverTasks} tasks x 1440 points (24 h): ${(bytes / 1048576).toFixed(1)} MiB (heap and array buffers), ${(bytes / points).toFixed(0)} bytes a point; ${(bytes / serverTasks / 1024).toFixed(0)} KiB a task`);
}
