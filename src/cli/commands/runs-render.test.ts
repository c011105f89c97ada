// Tables for the pure parts of how runs read: the progress counts (from items, or from the record's
// `progress` when a watch's run comes without items) and the failed items' exit codes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { runItemCounts } from "../../model/index.ts";
import type { Run, RunItem } from "../../model/index.ts";
import { failedItemsText, itemCounts } from "./runs-render.ts";

const item = (index: number, state: RunItem["state"], ends: (number | string)[] = []): RunItem => ({
  index, state, failures: 0, notBefore: 0,
  attempts: ends.map((e, i) => ({ id: `a${index}-${i}`, hostId: "h", state: typeof e === "number" ? "exited" : e === "lost" ? "lost" : "stopped", exitCode: typeof e === "number" ? e : null, signal: typeof e === "string" && e.startsWith("SIG") ? e : null, reason: null, startedAt: 1, endedAt: 2 })),
});
const run = (items: RunItem[], over: Partial<Run> = {}): Run => ({ job: "j", id: "r", version: 1, state: "running", reason: null, cause: "manual", createdAt: 0, startedAt: 0, endedAt: null, params: {}, size: items.length, items, ...over });

void test("item counts come from the items, or from progress when the run has none (a watch's run)", () => {
  const cases: { name: string; r: Run; want: string }[] = [
    { name: "items", r: run([item(0, "succeeded", [0]), item(1, "failed", [1]), item(2, "running"), item(3, "pending")]), want: "1 ok, 1 failed, 1 running of 4" },
    { name: "watch record", r: run([], { size: 20, progress: { pending: 10, running: 4, succeeded: 5, failed: 1, cancelled: 0 } }), want: "5 ok, 1 failed, 4 running of 20" },
    { name: "older record without progress", r: run([], { size: 20 }), want: "0 ok, 0 failed, 0 running of 20" },
    { name: "empty run", r: run([], { size: 0, progress: { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 } }), want: "0 ok, 0 failed, 0 running of 0" },
  ];
  for (const c of cases) assert.equal(itemCounts(c.r), c.want, c.name);
  assert.deepEqual(runItemCounts(run([item(0, "cancelled"), item(1, "succeeded", [0])])), { succeeded: 1, failed: 0, running: 0, total: 2 });
});

void test("failed items are named with their attempts' ends, at most max of them", () => {
  const cases: { name: string; r: Run; max?: number; want: string }[] = [
    { name: "none failed", r: run([item(0, "succeeded", [0])]), want: "" },
    { name: "exit codes and signals", r: run([item(0, "succeeded", [0]), item(1, "failed", [7, 7]), item(2, "failed", ["SIGKILL", "lost"])]), want: "item 1 exit 7,7; item 2 exit SIGKILL,lost" },
    { name: "cut", r: run([item(0, "failed", [1]), item(1, "failed", [2]), item(2, "failed", [3])]), max: 2, want: "item 0 exit 1; item 1 exit 2 (and 1 more)" },
  ];
  for (const c of cases) assert.equal(failedItemsText(c.r, c.max), c.want, c.name);
});
