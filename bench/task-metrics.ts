// What task metrics cost (issue 13's targets), measured:
// 1. Agent CPU per scrape interval: the real MetricsScraper scraping T real HTTP endpoints (one port
//    each) of S series each (a mix of counters, gauges and a 12-bucket histogram, as prom-client writes
//    them; served by a child process, so only the agent's side is counted in this process's CPU) over
//    real sockets, for `--seconds`; CPU per interval = this process's CPU / rounds.
// 2. Bytes sent to the server per minute: the scraper's real reports (every 10 s, through the agent's
//    own client: gzipped, since the sink answers Accept-Encoding: gzip as the server does) POSTed to a
//    sink in the child, counted as bytes read on the sink's sockets (headers included).
// 3. Server memory per 100,000 series: TaskMetricsHistory on a real SQLite store, N tasks x 5 series
//    (up, scrape errors, clients, errors/s, latency), fed one summary per task per minute for 40
//    simulated minutes with the block flushes (memory holds two blocks at most: steady state), as heap
//    and array-buffer growth after GC. Baseline in the same run: the previous memory-only design (every
//    point of 24 h in memory, by column in typed arrays of 1,441 slots), measured on a tenth of the
//    tasks and scaled (at full size it would need about 700 MiB).
//
// 4. Parse cost alone, in the same process: one round of T expositions of S series parsed by the
//    reference parser (the agent's parser before the single-pass scanner) and by the agent's parser,
//    with and without `keep` (the names the signals read), alternated 5 times; median CPU per round.
//
// Rerun: node --expose-gc bench/task-metrics.ts [--tasks 1000] [--series 100] [--seconds 60]
//        [--interval 10000] [--server-series 100000] [--keep-alive 0 (endpoints keep idle
//        connections, as Go exporters do) | 5000 (Node's default: closed between 10 s scrapes)]
import { fork } from "node:child_process";
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import pino from "pino";
import { ManualClock } from "../src/model/index.ts";
import type { TaskMetrics } from "../src/model/index.ts";
import { MetricsScraper } from "../src/agent/metrics/scraper.ts";
import { samplesNeeded } from "../src/agent/metrics/needed.ts";
import { parsePromText } from "../src/agent/metrics/prom-text.ts";
import { parsePromTextReference } from "../src/agent/metrics/prom-text-reference.ts";
import { createAgentClient } from "../src/api/agent-client.ts";
import { openSqliteStore } from "../src/state/index.ts";
import { Prefix } from "../src/server/kinds.ts";
import { TaskMetricsHistory } from "../src/server/task-metrics-history.ts";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "1000" },
    series: { type: "string", default: "100" },
    seconds: { type: "string", default: "60" },
    interval: { type: "string", default: "10000" },
    "server-series": { type: "string", default: "100000" },
    child: { type: "boolean", default: false },
    "keep-alive": { type: "string", default: "0" },
  },
});
const tasks = Number(values.tasks);
const series = Number(values.series);

/** One exposition of `n` series at `tick`. */
function exposition(n: number, tick: number): string {
  const lines = ["# TYPE http_request_duration_seconds histogram"];
  const buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, "+Inf"];
  buckets.forEach((le, i) => lines.push(`http_request_duration_seconds_bucket{le="${le}",route="/api"} ${tick * (i + 1)}`));
  lines.push("# TYPE http_errors_total counter", `http_errors_total{code="500"} ${tick}`, "http_connections 12");
  for (let i = lines.length; i < n + 3; i++) lines.push(`app_series_${i}_total{kind="x",shard="${i % 7}"} ${tick * i}`);
  return `${lines.join("\n")}\n`;
}

if (values.child) {
  // The tasks' endpoints and the server's sink, in their own process.
  const http = await import("node:http");
  let tick = 0;
  // One port a task, as tasks have (the agent keeps one connection per endpoint).
  const endpoints = Array.from({ length: tasks }, () => http.createServer((_req, res) => res.end(exposition(series, ++tick))));
  // How long the endpoints keep an idle connection (Node's default 5 s; 0: as long as the client
  // does, as Go's exporters do): the agent keeps one per endpoint between scrapes when it may.
  for (const e of endpoints) e.keepAliveTimeout = Number(values["keep-alive"]);
  let connections = 0;
  for (const e of endpoints) e.on("connection", () => connections++);
  let sinkBytes = 0;
  let reports = 0;
  let gzippedReports = 0;
  const sink = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      reports++;
      if (req.headers["content-encoding"] === "gzip") gzippedReports++;
      // As the server does: agents may gzip their next reports.
      res.setHeader("accept-encoding", "gzip");
      res.end('{"ok":true}');
    });
  });
  sink.on("connection", (s) => s.on("close", () => (sinkBytes += s.bytesRead)));
  const sockets = new Set<Socket>();
  sink.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  for (const e of endpoints) await new Promise<void>((r) => e.listen(0, "127.0.0.1", r));
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", r));
  const port = (s: Server): number => (s.address() as AddressInfo).port;
  process.send?.({ endpoints: endpoints.map(port), sink: port(sink) });
  process.on("message", () => {
    const open = [...sockets].reduce((n, s) => n + s.bytesRead, 0);
    process.send?.({ sinkBytes: sinkBytes + open, reports, gzippedReports, connections });
  });
} else {
  if (Number(values.seconds) > 0) await agentSide();
  parseSide();
  await serverSide();
  process.exit(0);
}

/** What the child counted: bytes the sink read, reports (gzipped), connections to the endpoints. */
interface Sink {
  sinkBytes: number;
  reports: number;
  gzippedReports: number;
  connections: number;
}

async function agentSide(): Promise<void> {
  const child = fork(new URL(import.meta.url).pathname, ["--child", "--series", String(series), "--tasks", String(tasks), "--keep-alive", String(values["keep-alive"])], { execArgv: ["--disable-warning=ExperimentalWarning"] });
  const ports = await new Promise<{ endpoints: number[]; sink: number }>((r) => child.once("message", (m) => r(m as { endpoints: number[]; sink: number })));
  const intervalMs = Number(values.interval);
  const endpoint = { port: "http", path: "/metrics", intervalMs, timeoutMs: Math.min(5000, intervalMs), signals: { clients: "http_connections", errors: "http_errors_total", latency: "http_request_duration_seconds" }, quantile: 0.99 };
  const targets = Array.from({ length: tasks }, (_, i) => ({ attemptId: `attempt-${String(i).padStart(6, "0")}-${"x".repeat(20)}`, endpoint, url: `http://127.0.0.1:${ports.endpoints[i] ?? 0}/metrics` }));
  let sentBody = 0;
  const bodies: string[] = [];
  const inFlight = new Set<Promise<void>>();
  // The agent's own client (src/api/agent-client.ts): JSON bodies, gzipped once the sink said it takes gzip.
  const client = createAgentClient(`http://127.0.0.1:${ports.sink}`);
  const send = (ts: TaskMetrics[]): Promise<void> => {
    const report = { hostId: "h-0123456789ab", tasks: ts };
    const body = JSON.stringify(report);
    sentBody += Buffer.byteLength(body);
    bodies.push(body);
    const p = client.reportMetrics!("t".repeat(43), report).then(() => undefined);
    inFlight.add(p);
    return p.finally(() => inFlight.delete(p));
  };
  const scraper = new MetricsScraper({ targets: () => targets, send, log: pino({ level: "silent" }) });
  const seconds = Number(values.seconds);
  // Steady state, as a long-running agent is: fetch (undici, loaded on first use) warmed up and the
  // first round (every target due at once) done before the measure starts.
  await (await fetch(`http://127.0.0.1:${ports.sink}/warm-up`, { method: "POST", body: "{}" })).arrayBuffer();
  scraper.start();
  scraper.tick();
  await new Promise((r) => setTimeout(r, intervalMs));
  const scrapesBefore = scraper.summaries().reduce((n, s) => n + s.scrapes, 0);
  const bytesBefore = sentBody;
  bodies.length = 0;
  child.send("bytes?");
  const sink0 = await new Promise<Sink>((r) => child.once("message", (m) => r(m as Sink)));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  scraper.close();
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - t0;
  await Promise.all(inFlight);
  // What the same bodies gzipped alone would be (outside the CPU measure), beside what the sockets read.
  const gzipped = bodies.reduce((n, b) => n + gzipSync(b).length, 0);
  const sums = scraper.summaries();
  const scrapes = sums.reduce((n, s) => n + s.scrapes, 0) - scrapesBefore;
  const errors = sums.reduce((n, s) => n + s.scrapeErrors, 0);
  child.send("bytes?");
  const sink1 = await new Promise<Sink>((r) => child.once("message", (m) => r(m as Sink)));
  const sink = { sinkBytes: sink1.sinkBytes - sink0.sinkBytes, reports: sink1.reports - sink0.reports, gzipped: sink1.gzippedReports - sink0.gzippedReports, connections: sink1.connections - sink0.connections };
  sentBody -= bytesBefore;
  child.kill();
  const rounds = scrapes / tasks;
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(`agent: ${tasks} tasks x ${series} series (${exposition(series, 1).length} bytes each) over real HTTP, ${(wall / 1000).toFixed(0)} s after a first round, interval ${intervalMs / 1000} s: ${scrapes} scrapes (${rounds.toFixed(1)} rounds, ${errors} errors, ${sink.connections} new connections to the endpoints)`);
  console.log(`agent: CPU ${cpuMs.toFixed(0)} ms = ${(cpuMs / rounds).toFixed(0)} ms per scrape interval = ${((cpuMs / wall) * 100).toFixed(2)}% of one core`);
  console.log(`agent -> server: ${sink.reports} reports (${sink.gzipped} gzipped), ${sink.sinkBytes} bytes read by the server's sockets (${sentBody} of JSON before compression) = ${((sink.sinkBytes / wall) * 60_000 / 1e6).toFixed(3)} MB per minute (plain JSON would be ${((sentBody / wall) * 60_000 / 1e6).toFixed(2)} MB, the bodies gzipped alone ${((gzipped / wall) * 60_000 / 1e6).toFixed(3)} MB)`);
}

function parseSide(): void {
  const texts = Array.from({ length: tasks }, (_, i) => exposition(series, i + 1));
  const keep = samplesNeeded({ clients: "http_connections", errors: "http_errors_total", latency: "http_request_duration_seconds" });
  const ways: [string, (t: string) => unknown][] = [
    ["reference parser", (t) => parsePromTextReference(t)],
    ["agent parser, all samples", (t) => parsePromText(t)],
    ["agent parser, keep", (t) => parsePromText(t, { keep })],
  ];
  const ms = new Map<string, number[]>(ways.map(([name]) => [name, []]));
  for (let rep = 0; rep < 6; rep++) {
    for (const [name, parse] of ways) {
      const c0 = process.cpuUsage();
      for (const t of texts) parse(t);
      const c = process.cpuUsage(c0);
      if (rep > 0) ms.get(name)?.push((c.user + c.system) / 1000);
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const base = median(ms.get("reference parser") ?? []);
  console.log(`parse: one round of ${tasks} x ${series} series, CPU per round (median of 5, same process): ${ways.map(([name]) => `${name} ${median(ms.get(name) ?? []).toFixed(1)} ms (${(base / median(ms.get(name) ?? [])).toFixed(1)}x)`).join(", ")}`);
}

async function serverSide(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) {
    console.log("server: run with node --expose-gc for the memory figures");
    return;
  }
  // Array buffers are freed after a GC, not by it: collect, let them go, collect again.
  const used = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 100));
    }
    return process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  };
  const serverTasks = Math.round(Number(values["server-series"]) / 5);
  const summary = (t: number, at: number): TaskMetrics => ({
    attemptId: `a${t}-${"x".repeat(24)}`, at, up: true, scrapes: at / 60_000, scrapeErrors: 0, lastError: null, series, scrapeMs: 2, clients: 12 + (t % 5), errorsPerSec: 0.5 + (t % 3) / 7, latencySeconds: 0.12 + (t % 11) / 1000,
  });
  const origin = (t: number) => ({ job: `job-${t % 50}`, index: Math.floor(t / 50), version: 1, hostId: `host-${t % 100}` });

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bench-tm-"));
  try {
    const clock = new ManualClock(1_700_000_000_000 - (1_700_000_000_000 % 600_000));
    const store = openSqliteStore(path.join(dir, "state.db"), { clock, synchronous: "normal" });
    const before = await used();
    const h = new TaskMetricsHistory({ clock, store, log: pino({ level: "silent" }), writer: "server1.abcdef" });
    const t0 = performance.now();
    for (let minute = 0; minute < 40; minute++) {
      for (let t = 0; t < serverTasks; t++) h.add(origin(t), summary(t, clock.now()));
      clock.advance(60_000);
      if (minute % 10 === 9) await h.flush();
    }
    const feedMs = performance.now() - t0;
    {
      const bytes = (await used()) - before;
      // Baseline: the previous design, every point of 24 h in memory by column (a Float64 time, Uint32
      // scrape errors, Uint8 up, three Float32 values: 25 bytes a point, 1,441 slots a task), filled, on a
      // tenth of the tasks and scaled.
      const tenth = Math.round(serverTasks / 10);
      const start = await used();
      const columns: ArrayBufferView[][] = [];
      for (let t = 0; t < tenth; t++) {
        const cols = [new Float64Array(1441), new Uint32Array(1441), new Uint8Array(1441), new Float32Array(1441), new Float32Array(1441), new Float32Array(1441)];
        for (const c of cols) (c as Float64Array).fill(1);
        columns.push(cols);
      }
      const baseline = ((await used()) - start) * serverTasks / tenth;
      if (columns.length !== tenth) throw new Error("unreachable");
      columns.length = 0;

      const { kvs } = await store.range(Prefix.metricBlocks);
      const sizes = kvs.map((kv) => kv.value.length);
      const total = sizes.reduce((a, b) => a + b, 0);
      const perTaskDay = (total / serverTasks) * (1440 / 40);
      console.log(`server: ${serverTasks} tasks = ${serverTasks * 5} series, 40 minutes fed (${(feedMs / 1000).toFixed(1)} s): ${(bytes / 1048576).toFixed(1)} MiB held (heap and array buffers after GC) = ${((bytes / (serverTasks * 5)) * 100_000 / 1e6).toFixed(1)} MB per 100,000 series`);
      console.log(`server baseline (all 24 h of points in memory, measured on ${tenth} tasks, scaled): ${(baseline / 1048576).toFixed(0)} MiB; ratio ${(baseline / bytes).toFixed(1)}x less now`);
      console.log(`store: ${kvs.length} block values for 40 minutes, largest ${Math.max(...sizes)} bytes, mean ${Math.round(total / kvs.length)}; about ${(perTaskDay / 1024).toFixed(1)} KiB a task a day (${((perTaskDay * serverTasks) / 1048576).toFixed(0)} MiB for these tasks at the 24 h keep) without downsampling`);
      if (h.latestOf("job-0").length === 0) throw new Error("kept alive past the measure");
      // Downsampling: 70 more minutes, so blocks that ended over `fullMs` (1 h) ago are rolled up.
      const r0 = performance.now();
      for (let minute = 40; minute < 110; minute++) {
        for (let t = 0; t < serverTasks; t++) h.add(origin(t), summary(t, clock.now()));
        clock.advance(60_000);
        if (minute % 10 === 9) await h.flush();
      }
      const rollMs = performance.now() - r0;
      const byStart = new Map<string, number>();
      for (const kv of (await store.range(Prefix.metricBlocks)).kvs) {
        const rolled = kv.key.endsWith("/rollup");
        byStart.set(rolled ? "rolled" : "fine", (byStart.get(rolled ? "rolled" : "fine") ?? 0) + kv.value.length);
      }
      // At 110 min with fullMs 1 h: starts 0-40 min are rolled up (5), 50-100 min fine (6).
      const rolledPerStart = (byStart.get("rolled") ?? 0) / 5;
      const finePerStart = (byStart.get("fine") ?? 0) / 6;
      const dayBytes = finePerStart * 6 + rolledPerStart * 138;
      console.log(`store with downsampling (--metrics-full 1h): a block start ${Math.round(finePerStart / serverTasks)} bytes a task fine, ${Math.round(rolledPerStart / serverTasks)} rolled up (${(finePerStart / rolledPerStart).toFixed(1)}x); a day at the 24 h keep: ${(dayBytes / serverTasks / 1024).toFixed(1)} KiB a task, ${(dayBytes / serverTasks / 5).toFixed(0)} bytes a series (${(dayBytes / 1048576).toFixed(0)} MiB for these tasks); 70 minutes fed with flushes and rollups in ${(rollMs / 1000).toFixed(1)} s`);
      await store.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
