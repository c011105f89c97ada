// The cost of the log catcher's time index (`--since` by line, src/helper/log-segments.ts): the same
// LogSink fed the same ~92-byte lines in 64 KiB chunks (what a pipe read gives), with the index and
// without, alternating, in this process. Figures: CPU ms per 100 MB (compression included) and the
// index's size. The whole catcher's cost to a task is bench/logs.ts.
//
//   node bench/log-index.ts [--mb 200] [--rounds 4]

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { LogSink } from "../src/helper/logs.ts";

const { values } = parseArgs({ options: { mb: { type: "string", default: "200" }, rounds: { type: "string", default: "4" } } });
const MB = Number(values.mb);
const ROUNDS = Number(values.rounds);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bench-logindex-"));

let text = "";
for (let i = 0; text.length < 64 * 1024 - 120; i++) text += `2026-11-23T14:00:00.${String(i % 1000).padStart(3, "0")}Z GET /api/v1/items/${i * 7919} 200 ${i % 97}ms user=${i % 13}\n`;
const chunk = Buffer.from(text);

async function run(index: boolean, n: number): Promise<{ cpuMs: number; wallMs: number; indexBytes: number }> {
  const dir = path.join(root, `${index ? "on" : "off"}-${n}`);
  const sink = new LogSink({ logsDir: dir, stream: "stdout", segmentBytes: 256 * 1024 * 1024, segmentsKept: 4, timeIndex: index });
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let written = 0;
  while (written < MB * 1e6) {
    sink.write(chunk);
    written += chunk.length;
    // Let compression keep up (as a pipe's reader would): wait while the sink holds a lot.
    while (sink.bufferedBytes > 2 * 1024 * 1024) await new Promise((r) => setTimeout(r, 1));
  }
  await sink.close();
  const c = process.cpuUsage(c0);
  const indexBytes = fs.readdirSync(dir).filter((f) => f.endsWith(".idx")).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
  if (sink.droppedBytes > 0) throw new Error(`dropped ${sink.droppedBytes} bytes: the run measures nothing`);
  return { cpuMs: (c.user + c.system) / 1000, wallMs: performance.now() - t0, indexBytes };
}

const on: number[] = [];
const off: number[] = [];
let idx = 0;
for (let i = 0; i < ROUNDS; i++) {
  off.push((await run(false, i)).cpuMs);
  const r = await run(true, i);
  on.push(r.cpuMs);
  idx = r.indexBytes;
}
fs.rmSync(root, { recursive: true, force: true });
const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? 0;
const per100 = (ms: number): string => ((ms / MB) * 100).toFixed(0);
console.log(`${os.cpus().length} CPUs, node ${process.version}, ${MB} MB per run, ${ROUNDS} rounds (median)`);
console.log(`| time index | CPU ms per 100 MB | runs (ms) |`);
console.log(`| --- | --- | --- |`);
console.log(`| off | ${per100(median(off))} | ${off.map((x) => x.toFixed(0)).join(", ")} |`);
console.log(`| on | ${per100(median(on))} | ${on.map((x) => x.toFixed(0)).join(", ")} |`);
console.log(`cost of the index: ${(((median(on) - median(off)) / median(off)) * 100).toFixed(1)}% of the catcher's CPU; index size ${idx} bytes for ${MB} MB`);
console.log("rerun: node bench/log-index.ts [--mb 200] [--rounds 4]");
