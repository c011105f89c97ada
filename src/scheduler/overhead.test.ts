// The per-task overhead (each task's helper): every task books its memory plus the overhead on its
// host, for the fit of new tasks, for moves, and in `used`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ClusterIndex } from "./cluster.ts";
import { makeHost, makeSpec } from "./testing.ts";
import type { SchedTask } from "./types.ts";

const other = (index: number, memoryMiB: number): SchedTask => ({ job: "other", index, hostId: "h", cpu: 0, memoryMiB, diskMiB: 0, antiAffinity: null });

void test("memory fit with a per-task overhead", () => {
  const cases: { name: string; hostMiB: number; onHost: number[]; taskMiB: number; replicas?: number; overheadMiB: number; placed: number }[] = [
    { name: "no overhead: a task as large as the host fits", hostMiB: 1024, onHost: [], taskMiB: 1024, overheadMiB: 0, placed: 1 },
    { name: "the task's own overhead does not fit beside it", hostMiB: 1024, onHost: [], taskMiB: 1024, overheadMiB: 16, placed: 0 },
    { name: "task and overhead fill the host exactly", hostMiB: 1040, onHost: [], taskMiB: 1024, overheadMiB: 16, placed: 1 },
    { name: "the tasks already there book their overhead too", hostMiB: 1040, onHost: [8], taskMiB: 1000, overheadMiB: 16, placed: 1 },
    { name: "one MiB short once their overhead counts", hostMiB: 1040, onHost: [8], taskMiB: 1001, overheadMiB: 16, placed: 0 },
    { name: "200 small tasks: overhead, not their 1 MiB, fills the host", hostMiB: 200 * 17, onHost: [], taskMiB: 1, replicas: 250, overheadMiB: 16, placed: 200 },
    { name: "200 small tasks without the overhead", hostMiB: 200 * 17, onHost: [], taskMiB: 1, replicas: 250, overheadMiB: 0, placed: 250 },
  ];
  for (const c of cases) {
    const index = new ClusterIndex(
      [makeHost("h", { memoryMiB: c.hostMiB, cores: 1000 })],
      c.onHost.map((m, i) => other(i, m)),
      { taskOverheadMiB: c.overheadMiB },
    );
    const spec = makeSpec("job", { memoryMiB: c.taskMiB, cpu: 0.001, replicas: c.replicas ?? 1, spread: "none" });
    const plan = index.plan({ spec, indexes: [...Array(spec.replicas).keys()] });
    assert.equal(plan.placements.length, c.placed, c.name);
    for (const u of plan.unplaced) assert.deepEqual(u.reasons, { memory: 1 }, `${c.name}: refused for memory`);
  }
});

void test("used memory includes each task's overhead; a move lifts the task's whole booking; release gives it all back", () => {
  const index = new ClusterIndex([makeHost("h", { memoryMiB: 1000 }), makeHost("g", { memoryMiB: 1000 })], [other(0, 100), other(1, 200)], { taskOverheadMiB: 16 });
  assert.equal(index.used("h")?.memoryMiB, 332);
  // Task 0 of "other" grows to 768 MiB and must stay on h: 332 + 784 > 1000, but its own 116 MiB are
  // lifted for the plan, and 216 + 784 = 1000 fits.
  const spec = makeSpec("other", { memoryMiB: 768, cpu: 0.001, replicas: 2, spread: "none" });
  const plan = index.plan({ spec, indexes: [0], avoid: { 0: ["g"] } });
  assert.deepEqual(plan.placements, [{ index: 0, hostId: "h" }]);
  assert.equal(index.used("h")?.memoryMiB, 332, "planning leaves the index as it was");
  index.commit(plan, spec);
  assert.equal(index.used("h")?.memoryMiB, 768 + 16 + 200 + 16);
  assert.deepEqual(index.tasksOn("h").map((t) => t.memoryMiB).sort((a, b) => a - b), [200, 768], "tasks keep their own memory");
  index.release("other", 0);
  index.release("other", 1);
  assert.equal(index.used("h")?.memoryMiB, 0);
});
