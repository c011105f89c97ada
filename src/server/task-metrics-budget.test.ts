// The server's memory budget for task metrics, enforced: 100,000 series (20,000 tasks x 5: up, scrape
// errors, clients, errors/s, latency) must hold under 50 MB. Measured at the worst case, every task's
// ring full (two blocks held: a flush late or failing), as heap and array-buffer growth after GC.
import assert from "node:assert/strict";
import { test } from "node:test";
import v8 from "node:v8";
import vm from "node:vm";
import { ManualClock } from "../model/index.ts";
import type { TaskMetrics } from "../model/index.ts";
import { TaskMetricsHistory } from "./task-metrics-history.ts";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

async function used(): Promise<number> {
  // Array buffers are freed after a GC, not by it: collect, let them go, collect again.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

void test("memory: 100,000 series (20,000 tasks) held under 50 MB, rings full", async () => {
  const tasks = 20_000;
  const clock = new ManualClock(1_700_000_000_000);
  const before = await used();
  const h = new TaskMetricsHistory({ clock }); // no store: nothing is written, every ring fills
  for (let minute = 0; minute < 25; minute++) {
    for (let t = 0; t < tasks; t++) {
      const m: TaskMetrics = { attemptId: `att-${t}-${"x".repeat(20)}`, at: clock.now(), up: true, scrapes: minute, scrapeErrors: 0, lastError: null, series: 100, scrapeMs: 2, clients: t % 7, errorsPerSec: 0.5, latencySeconds: 0.12 };
      h.add({ job: `job-${t % 50}`, index: Math.floor(t / 50), version: 1, hostId: `host-${t % 100}` }, m);
    }
    clock.advance(60_000);
  }
  const mb = ((await used()) - before) / 1e6;
  assert.equal(h.seriesOf("job-0", 0).length, 21, "rings at their capacity (two blocks and one point)");
  assert.ok(mb < 50, `${mb.toFixed(1)} MB per 100,000 series`);
  console.log(`task metrics memory: ${mb.toFixed(1)} MB per 100,000 series (rings full)`);
});
