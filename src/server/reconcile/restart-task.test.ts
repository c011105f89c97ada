import { test } from "node:test";
import assert from "node:assert/strict";
import { attempt, task } from "../testing/fixtures.ts";
import { restartTasks } from "./restart-task.ts";

void test("restartTasks: parked tasks are released, live ones stopped to be started again", () => {
  const atts = new Map([
    ["a0", attempt("a0", 0, { state: "exited", exitCode: 3 })],
    ["a1", attempt("a1", 1, { state: "running" })],
    ["a2", attempt("a2", 2, { state: "running", desired: "stop" })],
  ]);
  const tasks = [task(0, { hostId: null, failures: 6, avoidHosts: ["h1"], parked: { at: 1, reason: "r" } }), task(1, { failures: 2 }), task(2), task(3, { hostId: null, attemptId: null })];
  const all = restartTasks(tasks, atts, true);
  assert.deepEqual(all.outcome, [{ index: 0, action: "unparked" }, { index: 1, action: "restarted" }]);
  assert.deepEqual(all.tasks.map((t) => [t.index, t.parked ?? null, t.failures, t.avoidHosts, t.hostId, t.attemptId]), [[0, null, 0, [], null, null], [1, null, 0, [], "h1", "a1"]]);
  assert.deepEqual(all.attempts.map((a) => [a.id, a.desired]), [["a1", "stop"]]);
  const apply = restartTasks(tasks, atts, false);
  assert.deepEqual(apply.outcome, [{ index: 0, action: "unparked" }], "an apply only releases parked tasks");
});
