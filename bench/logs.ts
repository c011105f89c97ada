// Log catcher cost: a task writing ~100-byte log lines as fast as it can (and paced at a fixed rate)
// for N seconds, its stdout going to /dev/null vs. through a real helper's log catcher (pipe, zstd,
// segments). Figures: lines/s the task wrote and lines/s that reached the log (read back with
// readLogs), bytes dropped by the catcher, compression ratio, and the helper's CPU.
//
//   node bench/logs.ts [--seconds 10] [--rates 0,100]   (rates in MB/s; 0 = as fast as it can)

import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { HelperConfig, HelperStatus } from "../src/helper/protocol.ts";
import { readLogs } from "../src/helper/logs.ts";
import { cpuSeconds } from "./lib.ts";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, rates: { type: "string", default: "0,100" } } });
const SECONDS = Number(values.seconds);
const RATES = values.rates.split(",").map(Number);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bench-logs-"));
const helperMain = path.join(import.meta.dirname, "..", "src", "helper", "main.ts");

// The task: writes lines in 64 KiB batches with blocking writes (a full pipe holds it up, as it would a
// real program), paced to RATE MB/s when RATE > 0; at the end writes its line count to ./count.
const writer = `
const fs = require("node:fs");
const rate = Number(process.argv[1]) * 1e6, end = Date.now() + Number(process.argv[2]) * 1000, t0 = Date.now();
let n = 0, bytes = 0;
const paths = ["/api/v1/items", "/api/v1/users", "/healthz", "/api/v1/orders"];
while (Date.now() < end) {
  let s = "";
  while (s.length < 65536) {
    n++;
    s += new Date(t0 + n / 1000).toISOString() + " INFO request id=" + n + " path=" + paths[n % 4] + "/" + (n % 1000) + " status=" + (n % 50 ? 200 : 500) + " took=" + (n % 97) + "ms\\n";
  }
  fs.writeSync(1, s);
  bytes += s.length;
  if (rate > 0) { const ahead = bytes / rate * 1000 - (Date.now() - t0); if (ahead > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ahead); }
}
fs.writeFileSync("count", JSON.stringify({ lines: n, bytes, ms: Date.now() - t0 }));
`;

interface Run {
  lines: number;
  bytes: number;
  ms: number;
  taskCpu: number;
  logged: number | null;
  dropped: number | null;
  compressed: number | null;
  helperCpu: number | null;
}

function taskArgs(rate: number): string[] {
  return ["-e", writer, String(rate), String(SECONDS)];
}

async function devNull(rate: number): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(root, "null-"));
  const out = fs.openSync("/dev/null", "w");
  const child = spawn(process.execPath, taskArgs(rate), { cwd: dir, stdio: ["ignore", out, "inherit"] });
  fs.closeSync(out);
  let cpu = 0;
  const t = setInterval(() => (cpu = safeCpu(child.pid!, cpu)), 200);
  await new Promise((r) => child.once("exit", r));
  clearInterval(t);
  const c = JSON.parse(fs.readFileSync(path.join(dir, "count"), "utf8")) as { lines: number; bytes: number; ms: number };
  return { ...c, taskCpu: cpu, logged: null, dropped: null, compressed: null, helperCpu: null };
}

function safeCpu(pid: number, last: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    return last;
  }
}

async function catcher(rate: number): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(root, "helper-"));
  const cfg: HelperConfig = {
    attemptId: path.basename(dir),
    job: "bench",
    index: 0,
    command: [process.execPath, ...taskArgs(rate)],
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" },
    files: {},
    ports: {},
    health: null,
    stop: { signal: "SIGTERM", graceMs: 1000 },
    fenceMs: 3_600_000,
    logSegmentBytes: 256 * 1024 * 1024,
    logSegmentsKept: 1000,
    sandbox: null,
  };
  fs.writeFileSync(path.join(dir, "attempt.json"), JSON.stringify(cfg));
  const helper = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", helperMain, dir], { detached: true, stdio: "ignore" });
  let helperCpu = 0;
  let taskCpu = 0;
  let status: HelperStatus | null = null;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    helperCpu = safeCpu(helper.pid!, helperCpu);
    try {
      status = JSON.parse(fs.readFileSync(path.join(dir, "status.json"), "utf8")) as HelperStatus;
    } catch {
      continue;
    }
    if (status.pid !== null) taskCpu = safeCpu(status.pid, taskCpu);
    if (status.endedAt !== null) break;
  }
  helper.kill("SIGTERM");
  await new Promise((r) => helper.once("exit", r));
  const c = JSON.parse(fs.readFileSync(path.join(dir, "work", "count"), "utf8")) as { lines: number; bytes: number; ms: number };
  let logged = 0;
  let dropped = 0;
  let tail = "";
  for await (const b of readLogs(dir, "stdout")) {
    const text = tail + b.toString("latin1");
    const lines = text.split("\n");
    tail = lines.pop() ?? "";
    for (const l of lines) {
      const m = /^\[tiffin: dropped (\d+) bytes\]$/.exec(l);
      if (m) dropped += Number(m[1]);
      else logged++;
    }
  }
  const compressed = fs.readdirSync(path.join(dir, "logs")).filter((f) => f.startsWith("stdout.")).reduce((s, f) => s + fs.statSync(path.join(dir, "logs", f)).size, 0);
  fs.rmSync(dir, { recursive: true, force: true });
  return { ...c, taskCpu, logged, dropped, compressed, helperCpu };
}

const f = (n: number): string => Math.round(n).toLocaleString("en-US");
console.log(`${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), ${SECONDS} s per run, node ${process.version}\n`);
console.log("| rate asked | output | task lines/s | task MB/s | lines/s in the log | dropped MB | compression | catcher CPU | task CPU |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
try {
  for (const rate of RATES) {
    const asked = rate === 0 ? "as fast as it can" : `${rate} MB/s`;
    const a = await devNull(rate);
    console.log(`| ${asked} | /dev/null | ${f((a.lines / a.ms) * 1000)} | ${((a.bytes / a.ms) * 1000 / 1e6).toFixed(1)} | - | - | - | - | ${((a.taskCpu / a.ms) * 100000).toFixed(0)}% |`);
    const b = await catcher(rate);
    const seconds = b.ms / 1000;
    console.log(
      `| ${asked} | catcher | ${f(b.lines / seconds)} | ${(b.bytes / seconds / 1e6).toFixed(1)} | ${f((b.logged ?? 0) / seconds)} | ${((b.dropped ?? 0) / 1e6).toFixed(1)} | ${(b.bytes / (b.compressed ?? 1)).toFixed(1)}x | ${(((b.helperCpu ?? 0) / seconds) * 100).toFixed(0)}% of a core | ${((b.taskCpu / seconds) * 100).toFixed(0)}% |`,
    );
    console.log(`|  | cost to the task |  | ${(100 * (1 - b.bytes / b.ms / (a.bytes / a.ms))).toFixed(1)}% |  |  |  |  |  |`);
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
