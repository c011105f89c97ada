import { test } from "node:test";
import assert from "node:assert/strict";
import { rolloutTargets } from "./rollout.ts";
import type { RolloutSlot } from "./rollout.ts";

const serving = (index: number, over: Partial<RolloutSlot> = {}): RolloutSlot => ({ index, version: 1, ready: true, live: true, mustReplace: true, ...over });

void test("rolloutTargets: which version each task should run now", () => {
  const cases: { name: string; replicas: number; slots: RolloutSlot[]; want: number[] }[] = [
    { name: "8 serving: a quarter (2) move to v2, the rest wait", replicas: 8, slots: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => serving(i)), want: [2, 2, 1, 1, 1, 1, 1, 1] },
    { name: "3 serving: at least one at a time", replicas: 3, slots: [0, 1, 2].map((i) => serving(i)), want: [2, 1, 1] },
    { name: "a task already at v2 that does not serve yet uses the budget", replicas: 4, slots: [serving(0, { version: 2, ready: false }), serving(1), serving(2), serving(3)], want: [2, 1, 1, 1] },
    { name: "tasks that do not serve are replaced at once, whatever the budget", replicas: 4, slots: [serving(0), serving(1, { ready: false }), serving(2, { ready: false }), serving(3)], want: [1, 2, 2, 1] },
    { name: "a change that keeps the attempt (only replicas) moves every task at once", replicas: 4, slots: [0, 1, 2, 3].map((i) => serving(i, { mustReplace: false })), want: [2, 2, 2, 2] },
    { name: "no live attempt (ended, stopping): nothing to disrupt", replicas: 2, slots: [serving(0, { live: false, ready: false }), serving(1)], want: [2, 1] },
    { name: "a missing slot counts as disrupted", replicas: 4, slots: [serving(0), serving(1), serving(2)], want: [1, 1, 1] },
    { name: "a new slot (no task) runs the job's version", replicas: 2, slots: [serving(0), serving(1, { version: null, ready: false, live: false })], want: [1, 2] },
  ];
  for (const c of cases) {
    const got = rolloutTargets(2, c.replicas, c.slots);
    assert.deepEqual(c.slots.map((s) => got.get(s.index)), c.want, c.name);
  }
});
