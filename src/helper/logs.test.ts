import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import zlib from "node:zlib";
import { LogSink, readLogs, tailStart } from "./logs.ts";
import { listSegments, parseIndex, segmentPath, sinceOffset } from "./log-segments.ts";
import { helperPaths } from "./paths.ts";
import type { HelperStatus } from "./protocol.ts";
import { writeStatusFile } from "./status.ts";
import { collect, waitFor } from "./testkit.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-logs-"));
after(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
function attemptDir(): string {
  const d = path.join(root, `a${++n}`);
  fs.mkdirSync(d);
  return d;
}
function status(state: HelperStatus["state"]): HelperStatus {
  return { attemptId: "x", state, helperPid: 1, pid: 2, exitCode: null, signal: null, reason: null, startedAt: 1, endedAt: null };
}
const lines = (from: number, to: number): string => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i} ${"x".repeat((from + i) % 50)}\n`).join("");

void test("tailStart finds where the last n lines begin", () => {
  const cases: [string, string, number, number | null][] = [
    ["zero lines", "a\nb\n", 0, 4],
    ["last line with newline", "a\nb\n", 1, 2],
    ["last line without newline", "a\nb", 1, 2],
    ["two of three", "a\nb\nc\n", 2, 2],
    ["exactly all lines needs older data", "a\nb\n", 2, null],
    ["more than there is", "a\n", 5, null],
    ["empty buffer", "", 1, null],
  ];
  for (const [name, text, k, want] of cases) assert.equal(tailStart(Buffer.from(text), k), want, name);
});

void test("output lands in compressed segments, rotates, and reads back intact", async () => {
  const dir = attemptDir();
  const logs = helperPaths(dir).logs;
  const sink = new LogSink({ logsDir: logs, stream: "stdout", segmentBytes: 4096, segmentsKept: 1000 });
  const text = lines(1, 2000);
  // Odd-sized chunks so cuts fall inside lines and chunks.
  for (let i = 0; i < text.length; i += 777) sink.write(Buffer.from(text.slice(i, i + 777)));
  await sink.close();
  const segs = await listSegments(logs, "stdout");
  assert.ok(segs.length > 5, `expected rotation, got ${segs.length} segment(s)`);
  for (const s of segs) {
    const raw = fs.readFileSync(segmentPath(logs, "stdout", s));
    assert.equal(raw.readUInt32LE(0), 0xfd2fb528, "each segment is a zstd frame");
    const plain = zlib.zstdDecompressSync(raw);
    assert.ok(plain.length <= 4096, `segment ${s} holds ${plain.length} bytes`);
  }
  assert.equal(await collect(readLogs(dir, "stdout")), text);
  assert.equal(await collect(readLogs(dir, "stdout", { tail: 3 })), lines(1998, 2000));
  assert.equal(await collect(readLogs(dir, "stderr")), "", "an unwritten stream reads as empty");
});

void test("only logSegmentsKept segments are kept; tail reaches across them", async () => {
  const dir = attemptDir();
  const logs = helperPaths(dir).logs;
  const sink = new LogSink({ logsDir: logs, stream: "stderr", segmentBytes: 1000, segmentsKept: 3 });
  for (let i = 1; i <= 500; i++) sink.write(Buffer.from(lines(i, i)));
  await sink.close();
  await waitFor("pruning", async () => (await listSegments(logs, "stderr")).length === 3);
  const all = await collect(readLogs(dir, "stderr"));
  assert.ok(all.endsWith(lines(480, 500)) && all.length < 3000, "only the newest segments remain");
  assert.match(all, /^line \d+ /, "segments start at line starts");
  // 30 lines are ~1.3 KB, so the tail spans at least two segments.
  assert.equal(await collect(readLogs(dir, "stderr", { tail: 30 })), lines(471, 500));
});

void test("the active segment is readable after a flush, before it is finished", async () => {
  const dir = attemptDir();
  const sink = new LogSink({ logsDir: helperPaths(dir).logs, stream: "stdout", segmentBytes: 1 << 20, segmentsKept: 2, flushMs: 50 });
  try {
    sink.write(Buffer.from("first\n"));
    await waitFor("first line", async () => (await collect(readLogs(dir, "stdout"))) === "first\n" || null, 5000);
    sink.write(Buffer.from("second\n"));
    await waitFor("second line", async () => (await collect(readLogs(dir, "stdout"))) === "first\nsecond\n" || null, 5000);
  } finally {
    await sink.close();
  }
});

void test("follow sees data written later and ends once the status is final", async () => {
  const dir = attemptDir();
  const paths = helperPaths(dir);
  writeStatusFile(paths.status, status("running"));
  const sink = new LogSink({ logsDir: paths.logs, stream: "stdout", segmentBytes: 64, segmentsKept: 100, flushMs: 50 });
  sink.write(Buffer.from("early\n"));
  const got: string[] = [];
  const reading = (async () => {
    for await (const b of readLogs(dir, "stdout", { follow: true, pollMs: 50 })) got.push(b.toString());
  })();
  await waitFor("early line", () => got.join("") === "early\n");
  const later = lines(1, 20); // crosses several 64-byte segments while the reader follows
  sink.write(Buffer.from(later));
  await waitFor("later lines", () => got.join("") === `early\n${later}`);
  await sink.close();
  writeStatusFile(paths.status, status("exited"));
  await reading; // returns by itself: final status and everything read
  assert.equal(got.join(""), `early\n${later}`);
});

void test("follow stops when aborted", async () => {
  const dir = attemptDir();
  writeStatusFile(helperPaths(dir).status, status("running"));
  const ac = new AbortController();
  const reading = collect(readLogs(dir, "stdout", { follow: true, signal: ac.signal, pollMs: 50 }));
  await sleep(150);
  ac.abort();
  assert.equal(await reading, "");
});

void test("when writing falls behind, data is dropped with a visible marker", async () => {
  const dir = attemptDir();
  const sink = new LogSink({ logsDir: helperPaths(dir).logs, stream: "stdout", segmentBytes: 1 << 24, segmentsKept: 2, maxBufferedBytes: 256 * 1024 });
  const chunk = Buffer.from(lines(1, 2000)); // ~70 KiB
  // All in one tick: the compressor cannot consume anything meanwhile, so the buffer bound is hit.
  for (let i = 0; i < 40; i++) sink.write(chunk);
  assert.ok(sink.droppedBytes > 0, "something was dropped");
  await sink.close();
  const text = await collect(readLogs(dir, "stdout"));
  const m = /\[tiffin: dropped (\d+) bytes\]\n$/.exec(text);
  assert.ok(m, "marker line at the end");
  assert.equal(Number(m[1]), sink.droppedBytes);
  assert.equal(text.length, 40 * chunk.length - sink.droppedBytes + m[0].length);
});

void test("the time index: parse, and where `since` starts in a segment", () => {
  const entries = parseIndex("1000 0\n1100 50\n1300 120\n1500 9");
  assert.deepEqual(entries.map((e) => e.at), [1000, 1100, 1300, 1500], "a torn line still parses when whole");
  assert.deepEqual(parseIndex("1000 0\n11"), [{ at: 1000, offset: 0 }], "a torn last line is ignored");
  const cases: [string, number, number | null][] = [
    ["before everything", 500, 0],
    ["inside the first window", 1050, 0],
    ["right after the first window", 1100, 50],
    ["between windows: the next entry", 1250, 120],
    ["after the last window: nothing yet", 1600, null],
  ];
  for (const [name, since, want] of cases) assert.equal(sinceOffset(entries.slice(0, 3), since), want, name);
});

void test("readLogs since: whole lines written at or after it, inside a segment and across rotations", async () => {
  const dir = attemptDir();
  const p = helperPaths(dir);
  const sink = new LogSink({ logsDir: p.logs, stream: "stdout", segmentBytes: 40, segmentsKept: 100, flushMs: 20 });
  sink.write(Buffer.from("old one\nold two\nold thr"));
  await sleep(250);
  sink.write(Buffer.from("ee still old\n"));
  await sleep(250);
  const since = Date.now();
  await sleep(20);
  sink.write(Buffer.from("new one\nnew two\n"));
  await sleep(250);
  sink.write(Buffer.from("new three, long enough to rotate the segment\nnew four\n"));
  await sink.close();
  assert.ok((await listSegments(p.logs, "stdout")).length >= 3, "rotated");
  writeStatusFile(p.status, status("exited"));
  assert.equal(await collect(readLogs(dir, "stdout", { since })), "new one\nnew two\nnew three, long enough to rotate the segment\nnew four\n");
  // "old three still old" ended after since - 260 but began earlier: left out whole, never cut.
  assert.equal(await collect(readLogs(dir, "stdout", { since: since - 260 })), "new one\nnew two\nnew three, long enough to rotate the segment\nnew four\n");
  assert.equal(await collect(readLogs(dir, "stdout", { since: since - 2000 })), "old one\nold two\nold three still old\nnew one\nnew two\nnew three, long enough to rotate the segment\nnew four\n", "before the first write: all");
  assert.equal(await collect(readLogs(dir, "stdout", { since: Date.now() + 1000 })), "");
  assert.match(await collect(readLogs(dir, "stdout", { since: 0 })), /^old one\n/);
});
