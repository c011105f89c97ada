import { test } from "node:test";
import assert from "node:assert/strict";
import { specOf, task } from "../testing/fixtures.ts";
import { planTaskChange } from "./plan-tasks.ts";
import type { PlanTaskInput } from "./plan-tasks.ts";

void test("planTaskChange: kept, started, stopped or replaced, and why", () => {
  const v1 = specOf({ replicas: 3 });
  const base = { task: task(0), from: v1, currentReplicas: 3, hostAfter: "h1" };
  const cases: { name: string; inp: Omit<PlanTaskInput, "index"> & { index?: number }; want: [string, string] }[] = [
    { name: "same spec", inp: { ...base, to: specOf({ replicas: 3 }) }, want: ["keep", "unchanged"] },
    { name: "only replicas", inp: { ...base, to: specOf({ replicas: 4 }) }, want: ["keep", "keeps running: only replicas, restart or maintenance changed"] },
    { name: "a new replica", inp: { ...base, index: 3, task: null, from: null, hostAfter: "h2", to: specOf({ replicas: 4 }) }, want: ["start", "replicas 3 -> 4"] },
    { name: "a new job", inp: { ...base, task: null, from: null, currentReplicas: 0, to: v1 }, want: ["start", "new job"] },
    { name: "a slot above the new count", inp: { ...base, index: 2, to: specOf({ replicas: 1 }) }, want: ["stop", "replicas 3 -> 1"] },
    { name: "env changed", inp: { ...base, to: specOf({ replicas: 3, env: { A: "1" } }) }, want: ["replace", "env changed"] },
    { name: "resources changed, no room on its host", inp: { ...base, hostAfter: "h2", to: specOf({ replicas: 3, resources: { cpu: 3, memoryMiB: 256, diskMiB: 100 } }) }, want: ["replace", "resources changed; no room on its host, moves"] },
    { name: "parked: apply releases it", inp: { ...base, task: task(0, { hostId: null, failures: 6, parked: { at: 1, reason: "failed 6 times in a row on 2 hosts (exit code 3); `tiffin restart` or the next apply tries again" } }), to: v1 }, want: ["start", "parked (failed 6 times in a row on 2 hosts (exit code 3)); apply tries it again"] },
    { name: "a batch item: its run keeps its version", inp: { ...base, task: task(0, { batch: { run: "r1", item: 0, value: "0", params: {} } }), to: specOf({ replicas: 0, env: { A: "1" } }) }, want: ["keep", "item 0 of run r1: a run keeps the version it started with"] },
    { name: "not placed now", inp: { ...base, task: task(0, { hostId: null, attemptId: null, unplacedReason: "no host fits: cpu on 2 hosts" }), to: v1 }, want: ["start", "not placed now (no host fits: cpu on 2 hosts)"] },
  ];
  for (const c of cases) {
    const got = planTaskChange({ index: 0, ...c.inp });
    assert.deepEqual([got.action, got.reason], c.want, c.name);
  }
});
