// The usage history in the store: one sample per task per minute (the newest, with the minute's
// largest memory), written in batched transactions only once a minute is over, read back merged with
// what is held, kept across a restart, pruned after the retention, and kept for the next flush when a
// write fails. A real SQLite store and a clock the test moves.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import pino from "pino";
import type { ResourceUsage } from "../model/index.ts";
import { ManualClock } from "../model/clock.ts";
import { openSqliteStore } from "../state/index.ts";
import type { Store } from "../state/store.ts";
import { Prefix } from "./keys.ts";
import { UsageHistory } from "./usage-history.ts";

const log = pino({ level: "silent" });
const minute = 60_000;

function sample(at: number, memoryBytes: number): ResourceUsage {
  return { at, cpuSeconds: at / 1e5, cpuCores: 0.5, memoryBytes, memoryPeakBytes: null, pids: 2 };
}

/** The store, with its transactions counted (and made to fail on demand). */
function counted(store: Store): { store: Store; txns: number[]; failNext: () => void } {
  const txns: number[] = [];
  let fail = false;
  const txn: Store["txn"] = async (req) => {
    if (fail) {
      fail = false;
      throw new Error("store unavailable");
    }
    txns.push(req.success.length);
    return store.txn(req);
  };
  const wrapped = new Proxy(store, {
    get: (target, prop) => {
      if (prop === "txn") return txn;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store: wrapped, txns, failNext: () => void (fail = true) };
}

void test("usage history: per-minute samples, batched writes after the minute, restart, pruning, failed writes", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-usage-history-"));
  const raw = openSqliteStore(path.join(dir, "state.db"));
  t.after(async () => {
    await raw.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  // (A range on a store never written to throws CompactedError (sqlite.ts): a server always has its secrets.)
  await raw.put("/secrets/x", "x");
  const clock = new ManualClock(100 * minute);
  const { store, txns, failNext } = counted(raw);
  const h = new UsageHistory({ store, clock, log, pruneEveryMs: 10 * minute });

  // Samples every 5 s for 2.5 minutes; a resent one changes nothing.
  for (let at = 100 * minute; at < 102.5 * minute; at += 5000) h.add("web", 0, "a1", sample(at, at === 100 * minute + 20_000 ? 900 : 100));
  h.add("web", 0, "a1", sample(100 * minute, 5));
  clock.advance(2.5 * minute - 1);
  const held = await h.of("web", 0);
  assert.deepEqual(held.map((s) => [s.at, s.memoryBytes, s.memoryMaxBytes]), [
    [100 * minute + 55_000, 100, 900],
    [101 * minute + 55_000, 100, 100],
    [102 * minute + 25_000, 100, 100],
  ], "the newest sample of each minute, with the minute's largest memory");
  assert.equal((await raw.range(Prefix.usage)).kvs.length, 0, "nothing written before a flush");

  await h.flush();
  assert.deepEqual(txns, [2], "one transaction for the two finished minutes; the current one is held");
  assert.deepEqual((await h.of("web", 0)).map((s) => s.at), held.map((s) => s.at), "stored and held, merged");

  // 250 tasks: one finished minute each is written 100 operations per transaction.
  txns.length = 0;
  for (let i = 0; i < 250; i++) h.add("many", i, `m${i}`, sample(clock.now(), 1));
  clock.advance(minute);
  await h.flush();
  assert.deepEqual(txns, [100, 100, 51], "web's minute 102 and 250 tasks' minute 102, in batches");

  // A failed write keeps the samples for the next flush.
  h.add("web", 0, "a1", sample(clock.now(), 7));
  clock.advance(minute);
  failNext();
  await h.flush();
  assert.equal((await raw.range("/usage/web/")).kvs.length, 3);
  await h.flush();
  assert.equal((await raw.range("/usage/web/")).kvs.length, 4, "written at the next flush");

  // A new server on the same store (after close wrote the current minute) sees the history.
  h.add("web", 0, "a2", sample(clock.now(), 8));
  await h.close();
  const again = new UsageHistory({ store: raw, clock, log, knownTasks: () => [{ job: "web", index: 0 }] });
  const seen = await again.of("web", 0);
  assert.equal(seen.length, 5);
  assert.equal(seen[4]?.attemptId, "a2");

  // 24 h later the old samples go, task by task, at the next flush (known tasks included after a restart).
  again.start();
  clock.advance(24 * 60 * minute - 2 * minute);
  again.add("web", 0, "a3", sample(clock.now(), 9));
  await again.flush();
  const left = await raw.range("/usage/web/");
  assert.ok(left.kvs.length < 5, `expired samples deleted: ${left.kvs.map((k) => k.key).join(", ")}`);
  assert.ok((await again.of("web", 0)).every((s) => s.at >= clock.now() - 24 * 60 * minute));
  await again.close();
  const after = (await again.of("web", 0)).map((s) => s.attemptId);
  assert.equal(after[after.length - 1], "a3");
});
