// Runs stored apart from their items, on a real SQLite file through the mirror: a new run is one
// record; an item's change writes that item only; ending a run writes no item that never started;
// reads assemble the run as the decisions wrote it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { newRun, runProgressOf } from "../model/index.ts";
import type { BatchPolicy, Run } from "../model/index.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import { runItemKey, runKey } from "./kinds.ts";
import { Mirror } from "./mirror.ts";
import { runById, runDeletes, runWrites } from "./run-store.ts";
import type { Op } from "../state/store.ts";

const keyOf = (op: Op): string => (op.type === "deletePrefix" ? op.prefix : op.key);

const policy: BatchPolicy = { completions: 1000, parallelism: 10, items: null, retries: { limit: 0, backoffInitialMs: 1, backoffMaxMs: 1 }, deadlineMs: null, successCount: null, failedItems: "finish", keepRuns: 1 };

void test("a run is one record plus one per item that left pending; each write touches only what changed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-run-store-"));
  const store = openSqliteStore(join(dir, "state.db"), { synchronous: "normal" });
  const m = await Mirror.load(store, pino({ level: "silent" }));
  t.after(async () => {
    m.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const write = async (before: Run | null, after: Run): Promise<string[]> => {
    const w = runWrites(m, before, after);
    const r = await store.txn(w);
    assert.ok(r.succeeded);
    await m.waitFor(r.revision);
    return w.success.map(keyOf);
  };
  const run = newRun({ job: "crunch", id: "r1", version: 1, policy, cause: "manual", now: 5 });
  assert.deepEqual(await write(null, run), [runKey("crunch", "r1")], "a new run of 1,000 items: one record");
  // The record carries its items' counts (a watch of runs shows them), so reads have them too.
  const counted = (r: Run): Run => ({ ...r, progress: runProgressOf(r.items) });
  assert.deepEqual(runById(m, "crunch", "r1"), counted(run), "read back with its items");

  const started: Run = { ...run, state: "running", startedAt: 6, items: run.items.map((it) => (it.index === 3 ? { ...it, state: "running" } : it)) };
  assert.deepEqual(await write(runById(m, "crunch", "r1"), started), [runKey("crunch", "r1"), runItemKey("crunch", "r1", 3)]);
  const done: Run = { ...started, items: started.items.map((it) => (it.index === 3 ? { ...it, state: "succeeded" } : it)) };
  assert.deepEqual(await write(runById(m, "crunch", "r1"), done), [runKey("crunch", "r1"), runItemKey("crunch", "r1", 3)], "one item's change: that item, and the record's counts");
  assert.deepEqual(runById(m, "crunch", "r1")?.progress, { pending: 999, running: 0, succeeded: 1, failed: 0, cancelled: 0 });
  const noted: Run = { ...done, reason: "noted" };
  assert.deepEqual(await write(runById(m, "crunch", "r1"), noted), [runKey("crunch", "r1")], "the record's own change: the record only");

  // Ended: the 999 items that never started read as cancelled without a write each.
  const ended: Run = { ...noted, state: "cancelled", endedAt: 9, items: done.items.map((it) => (it.state === "pending" ? { ...it, state: "cancelled" } : it)) };
  assert.deepEqual(await write(runById(m, "crunch", "r1"), ended), [runKey("crunch", "r1")]);
  assert.deepEqual(runById(m, "crunch", "r1"), counted(ended));
  assert.deepEqual(runWrites(m, runById(m, "crunch", "r1"), ended).success, [], "written as read: nothing more");

  const del = runDeletes(m, "crunch", "r1");
  assert.deepEqual(del.success.map(keyOf), [runKey("crunch", "r1"), runItemKey("crunch", "r1", 3)]);
  await m.waitFor((await store.txn(del)).revision);
  assert.equal(runById(m, "crunch", "r1"), null);
  assert.equal(m.runItems.size, 0);
});
