// Task metric series: one point per task per bucket in memory for the open block only, closed blocks
// in a real store. A real SQLite file keeps the points across a restart (a new history on the reopened
// file answers the same), expired blocks go as whole block starts, and on a real etcd two servers'
// histories (two clients) give the same answer whichever received the reports.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import pino from "pino";
import { ManualClock } from "../model/index.ts";
import type { TaskMetrics, TaskMetricsPoint } from "../model/index.ts";
import { openSqliteStore } from "../state/index.ts";
import type { Store } from "../state/store.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import { openStore } from "./open-store.ts";
import { Prefix } from "./kinds.ts";
import { Mirror } from "./mirror.ts";
import { batches, TaskMetricsHistory } from "./task-metrics-history.ts";

const log = pino({ level: "silent" });
const minute = 60_000;
const summary = (at: number, errorsPerSec: number, attemptId = "a1"): TaskMetrics => ({
  attemptId, at, up: true, scrapes: 1, scrapeErrors: 0, lastError: null, series: 3, scrapeMs: 1, clients: 1, errorsPerSec, latencySeconds: 0.1,
});
const web = (index: number) => ({ job: "web", index, version: 1, hostId: "h1" });

void test("one point per task per bucket (the newest wins), the latest summary kept whole", async () => {
  const clock = new ManualClock(0);
  const h = new TaskMetricsHistory({ clock, bucketMs: 60_000, blockMs: 600_000 });
  for (const [at, e] of [[1000, 1], [30_000, 2], [59_999, 3], [60_000, 4], [61_000, 5]] as const) {
    clock.advance(at - clock.now());
    h.add(web(0), summary(at, e));
  }
  assert.deepEqual((await h.readSeries("web", 0)).map((p) => [p.at, p.errorsPerSec]), [[59_999, 3], [61_000, 5]]);
  assert.equal(h.latestOf("web")[0]?.metrics.errorsPerSec, 5);
  // An older summary (a late report) changes nothing.
  h.add(web(0), summary(50_000, 99));
  assert.equal(h.latestOf("web")[0]?.metrics.errorsPerSec, 5);
});

void test("memory holds one block a task; closed blocks are in a real SQLite file and survive a restart", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-tmh-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "state.db");
  const clock = new ManualClock(1_700_000_000_000 - (1_700_000_000_000 % (10 * minute)));
  const t0 = clock.now();
  let store = openSqliteStore(file, { clock, synchronous: "normal" });
  const a = new TaskMetricsHistory({ clock, store, log, writer: "s1.aaa" });
  // 3 tasks (one in another chunk), a summary every 10 s for 35 minutes: 3 closed blocks and an open one.
  for (let at = t0; at < t0 + 35 * minute; at += 10_000) {
    clock.advance(at - clock.now());
    for (const i of [0, 1, 70]) a.add(web(i), summary(at, (at - t0) / minute + i));
    if ((at - t0) % (10 * minute) === 60_000) await a.flush();
  }
  assert.ok(a.seriesOf("web", 0).length <= 21, `memory keeps two blocks at most: ${a.seriesOf("web", 0).length} points`);
  const before = await a.readSeries("web", 1);
  assert.equal(before.length, 35, "one point a minute for 35 minutes, stored and held merged");
  assert.deepEqual(before.map((p) => Math.floor(p.errorsPerSec ?? -1)), Array.from({ length: 35 }, (_, m) => m + 1));
  const stored = await store.range(Prefix.metricBlocks);
  assert.deepEqual(stored.kvs.map((kv) => kv.key.slice(Prefix.metricBlocks.length + 14)), ["web/000000/s1.aaa", "web/000001/s1.aaa", "web/000000/s1.aaa", "web/000001/s1.aaa", "web/000000/s1.aaa", "web/000001/s1.aaa"]);
  // Not mirrored: no server keeps a modRevision a block.
  const mirror = await Mirror.load(store, log);
  assert.equal(mirror.modRevision(stored.kvs[0]?.key ?? ""), 0);
  mirror.close();
  await a.close(); // writes the open block too
  await store.close();

  // A restarted server (another incarnation) on the same file answers the same.
  store = openSqliteStore(file, { clock, synchronous: "normal" });
  t.after(() => store.close());
  const b = new TaskMetricsHistory({ clock, store, log, writer: "s1.bbb" });
  assert.deepEqual(await b.readSeries("web", 1), before);
  assert.deepEqual([...(await b.readJobSeries("web")).keys()], [0, 1, 70]);
  assert.equal((await b.readSeries("web", 70)).length, 35);
  // It goes on where the first stopped: both writers' blocks merge.
  clock.advance(minute);
  b.add(web(1), summary(clock.now(), 100));
  await b.close();
  const after = await b.readSeries("web", 1);
  assert.equal(after.length, 36);
  assert.equal(after.at(-1)?.errorsPerSec, 100);
});

void test("retention: blocks older than keepMs are deleted a block start at a time", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-tmh-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(0);
  const store = openSqliteStore(path.join(dir, "state.db"), { clock, synchronous: "normal" });
  t.after(() => store.close());
  const h = new TaskMetricsHistory({ clock, store, log, keepMs: 60 * minute, blockMs: 10 * minute });
  for (let at = 0; at <= 180 * minute; at += minute) {
    clock.advance(at - clock.now());
    h.add(web(0), summary(at, at / minute));
    if (at % (10 * minute) === 0) await h.flush();
  }
  const series = await h.readSeries("web", 0);
  assert.equal(series[0]?.at, 120 * minute, "nothing older than an hour is answered");
  const starts = new Set((await store.range(Prefix.metricBlocks)).kvs.map((kv) => Number(kv.key.slice(Prefix.metricBlocks.length, Prefix.metricBlocks.length + 13))));
  assert.ok([...starts].every((s) => s + 10 * minute > 120 * minute), `expired block starts deleted: ${[...starts].join(",")}`);
  assert.ok(starts.size <= 7, `at most an hour of blocks stored: ${starts.size}`);
});

void test("downsampling: blocks older than fullMs become one point a task a block, from every writer, in fewer bytes", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-tmh-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(0);
  const store = openSqliteStore(path.join(dir, "state.db"), { clock, synchronous: "normal" });
  t.after(() => store.close());
  // Two servers: s1 received the reports of the first 90 minutes, s2 of the rest; only s2 leads (rolls up).
  const s1 = new TaskMetricsHistory({ clock, store, log, writer: "s1.aaa", keepMs: 6 * 60 * minute, fullMs: 60 * minute, rollupActive: () => false });
  const s2 = new TaskMetricsHistory({ clock, store, log, writer: "s2.bbb", keepMs: 6 * 60 * minute, fullMs: 60 * minute });
  for (let at = 0; at <= 180 * minute; at += minute) {
    clock.advance(at - clock.now());
    for (const i of [0, 70]) (at < 90 * minute ? s1 : s2).add(web(i), { ...summary(at, at / minute), clients: (at / minute) % 10 });
    if (at % (10 * minute) === 0) {
      await s1.flush();
      await s2.flush();
    }
  }
  const series = await s2.readSeries("web", 0);
  const old = series.filter((p) => p.at < 120 * minute);
  const recent = series.filter((p) => p.at >= 120 * minute);
  assert.deepEqual(old.map((p) => p.at / minute), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110], "one point a block before the last hour");
  assert.equal(recent.length, 61, "one a minute in the last hour");
  // The block of minutes 10-19: errors/s 10..19 (mean 14.5), clients 0..9 (mean 4.5).
  assert.deepEqual([old[1]?.errorsPerSec, old[1]?.clients, old[1]?.up], [14.5, 4.5, true]);
  const stored = (pts: TaskMetricsPoint[]): TaskMetricsPoint[] => pts.filter((p) => p.at < 180 * minute); // the open block is s2's alone
  assert.deepEqual(stored(await s1.readSeries("web", 70)), stored(await s2.readSeries("web", 70)), "any server reads the same from the store");
  const keys = (await store.range(Prefix.metricBlocks)).kvs;
  const writersOf = (start: number): string[] => keys.filter((kv) => kv.key.startsWith(`${Prefix.metricBlocks}${String(start).padStart(13, "0")}/`)).map((kv) => kv.key.split("/").at(-1) ?? "");
  assert.deepEqual([...new Set(writersOf(80 * minute))], ["rollup"], "the fine blocks of both writers are gone");
  assert.deepEqual([...new Set(writersOf(130 * minute))], ["s2.bbb"], "recent blocks stay fine");
  const bytesOf = (start: number): number => keys.filter((kv) => kv.key.startsWith(`${Prefix.metricBlocks}${String(start).padStart(13, "0")}/`)).reduce((n, kv) => n + kv.value.length, 0);
  // One task a value here (0 and 70 are in two chunks), so a value's own overhead weighs: 2x at least.
  assert.ok(bytesOf(100 * minute) * 2 < bytesOf(130 * minute), `a rolled-up block ${bytesOf(100 * minute)} bytes, a fine one ${bytesOf(130 * minute)}`);
  // Idempotent: another pass changes nothing.
  await s2.flush();
  assert.deepEqual(await s2.readSeries("web", 0), series);
});

void test("batches: at most maxOps operations and about maxBytes a transaction", () => {
  const put = (n: number) => ({ type: "put" as const, key: "k", value: "x".repeat(n) });
  const cases: [string, number[], number, number, number[]][] = [
    ["by ops", [1, 1, 1, 1, 1], 2, 1000, [2, 2, 1]],
    ["by bytes", [400, 400, 400], 100, 1000, [2, 1]],
    ["one op larger than the bytes still goes alone", [5000, 1], 100, 1000, [1, 1]],
    ["none", [], 100, 1000, []],
  ];
  for (const [name, sizes, ops, bytes, want] of cases) assert.deepEqual(batches(sizes.map(put), ops, bytes).map((b) => b.length), want, name);
});

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

void test("on a real etcd, two servers give the same series whichever received the reports", { skip }, async (t) => {
  const etcd = await startEtcd();
  t.after(() => etcd.stop());
  const clock = new ManualClock(1_700_000_000_000 - (1_700_000_000_000 % (10 * minute)));
  const t0 = clock.now();
  const storeA = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix: "/tmh" });
  const storeB = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix: "/tmh" });
  t.after(async () => {
    await storeA.close();
    await storeB.close();
  });
  const a = new TaskMetricsHistory({ clock, store: storeA, log, writer: "sa.1" });
  const b = new TaskMetricsHistory({ clock, store: storeB, log, writer: "sb.1" });
  // Host h1 reports to A, host h2 to B (tasks 0 and 1 of one job, in one chunk).
  for (let at = t0; at < t0 + 21 * minute; at += 10_000) {
    clock.advance(at - clock.now());
    a.add(web(0), summary(at, 1));
    b.add({ ...web(1), hostId: "h2" }, summary(at, 2));
    if ((at - t0) % (10 * minute) === 10_000) await Promise.all([a.flush(), b.flush()]);
  }
  const fromA = await a.readJobSeries("web");
  const fromB = await b.readJobSeries("web");
  // Closed blocks (the first 20 minutes) are the same on both; each adds only its own open block.
  const closed = (m: Map<number, { at: number }[]>) => [...m].map(([i, pts]) => [i, pts.filter((p) => p.at < t0 + 20 * minute).length]);
  assert.deepEqual(closed(fromA), [[0, 20], [1, 20]]);
  assert.deepEqual(closed(fromB), closed(fromA));
  assert.deepEqual(fromA.get(1)?.filter((p) => p.at < t0 + 20 * minute), fromB.get(1)?.filter((p) => p.at < t0 + 20 * minute));
});

void test("a long keep on a young store reads from the oldest stored block, 32 ranges at a time", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-tmh-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const clock = new ManualClock(1_700_000_000_000 - (1_700_000_000_000 % (10 * minute)));
  const real = openSqliteStore(path.join(dir, "state.db"), { clock, synchronous: "normal" });
  t.after(() => real.close());
  let ranges = 0;
  let inFlight = 0;
  let most = 0;
  const range: Store["range"] = async (...args) => {
    ranges++;
    most = Math.max(most, ++inFlight);
    try {
      return await real.range(...args);
    } finally {
      inFlight--;
    }
  };
  // The real store with its ranges counted (its other methods bound to it: they use private fields).
  const store = new Proxy(real, {
    get: (target, prop) => {
      if (prop === "range") return range;
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const h = new TaskMetricsHistory({ clock, store, log, keepMs: 30 * 86_400_000 });
  for (let m = 0; m < 25; m++) {
    h.add(web(0), summary(clock.now(), m));
    clock.advance(minute);
    if (m % 10 === 9) await h.flush(); // as the timer does, just after each block boundary
  }
  await h.flush(true);
  ranges = 0;
  assert.equal((await h.readSeries("web", 0)).length, 25);
  assert.ok(ranges <= 5, `3 block starts and the oldest-block probe, not 4,320 ranges: ${ranges}`);
  const empty = new TaskMetricsHistory({ clock, store, log, keepMs: 30 * 86_400_000, writer: "other" });
  clock.advance(40 * 86_400_000); // everything stored is now older than the keep
  ranges = 0;
  most = 0;
  assert.deepEqual(await empty.readSeries("web", 0), []);
  assert.ok(most <= 32, `at most 32 ranges at once: ${most}`);
});
