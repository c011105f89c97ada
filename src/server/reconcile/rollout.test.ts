import { test } from "node:test";
import assert from "node:assert/strict";
import { rolloutTargets } from "./rollout.ts";
import type { RolloutGate, RolloutSlot } from "./rollout.ts";

const serving = (index: number, over: Partial<RolloutSlot> = {}): RolloutSlot => ({ index, version: 1, ready: true, live: true, mustReplace: true, ...over });
const gate = (budget: number, admitted: number[] | null = null): RolloutGate => ({ budget, admitted: (i) => admitted === null || admitted.includes(i) });

void test("rolloutTargets: which version each task should run now", () => {
  const cases: { name: string; replicas: number; slots: RolloutSlot[]; gate?: RolloutGate; want: number[] }[] = [
    { name: "8 serving, default budget (10%, at least 1): one moves to v2, the rest wait", replicas: 8, slots: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => serving(i)), want: [2, 1, 1, 1, 1, 1, 1, 1] },
    { name: "8 serving, a budget of 2: two move", replicas: 8, slots: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => serving(i)), gate: gate(2), want: [2, 2, 1, 1, 1, 1, 1, 1] },
    { name: "3 serving: at least one at a time", replicas: 3, slots: [0, 1, 2].map((i) => serving(i)), want: [2, 1, 1] },
    { name: "a task already at v2 that does not serve yet uses the budget", replicas: 4, slots: [serving(0, { version: 2, ready: false }), serving(1), serving(2), serving(3)], want: [2, 1, 1, 1] },
    { name: "tasks that do not serve are replaced at once, whatever the budget", replicas: 4, slots: [serving(0), serving(1, { ready: false }), serving(2, { ready: false }), serving(3)], want: [1, 2, 2, 1] },
    { name: "a change that keeps the attempt (only replicas) moves every task at once", replicas: 4, slots: [0, 1, 2, 3].map((i) => serving(i, { mustReplace: false })), want: [2, 2, 2, 2] },
    { name: "no live attempt (ended, stopping): nothing to disrupt", replicas: 2, slots: [serving(0, { live: false, ready: false }), serving(1)], want: [2, 1] },
    { name: "a missing slot counts as disrupted", replicas: 4, slots: [serving(0), serving(1), serving(2)], want: [1, 1, 1] },
    { name: "a new slot (no task) runs the job's version", replicas: 2, slots: [serving(0), serving(1, { version: null, ready: false, live: false })], want: [1, 2] },
    { name: "phase gate: only admitted slots move, even with budget to spare", replicas: 6, slots: [0, 1, 2, 3, 4, 5].map((i) => serving(i)), gate: gate(6, [2]), want: [1, 1, 2, 1, 1, 1] },
    { name: "phase gate and budget: two admitted, budget of one", replicas: 6, slots: [0, 1, 2, 3, 4, 5].map((i) => serving(i)), gate: gate(1, [3, 4]), want: [1, 1, 1, 2, 1, 1] },
    // The server cannot tell a task that does not serve from one whose "running" report it has not
    // read yet (a fleet just started: thousands of reports queued). Stopping such tasks outside the
    // phase at once stopped thousands of serving tasks against a budget of 1,000 (bench/rollout.ts).
    { name: "phase gate: a live task not serving yet keeps its version outside the phase", replicas: 4, slots: [serving(0), serving(1, { ready: false }), serving(2, { ready: false }), serving(3)], gate: gate(4, [0]), want: [2, 1, 1, 1] },
    { name: "phase gate: inside the phase it moves at once, already counted as down", replicas: 4, slots: [serving(0), serving(1, { ready: false }), serving(2), serving(3)], gate: gate(1, [0, 1]), want: [1, 2, 1, 1] },
    { name: "phase gate: no live attempt outside the phase (nothing to stop) takes the job's version", replicas: 2, slots: [serving(0), serving(1, { live: false, ready: false })], gate: gate(2, [0]), want: [2, 2] },
  ];
  for (const c of cases) {
    const got = rolloutTargets(2, c.replicas, c.slots, c.gate);
    assert.deepEqual(c.slots.map((s) => got.versions.get(s.index)), c.want, c.name);
  }
});

void test("rolloutTargets: a rolling restart replaces stale slots within the gate and the budget", () => {
  const at2 = (i: number, over: Partial<RolloutSlot> = {}): RolloutSlot => serving(i, { version: 2, stale: true, ...over });
  const cases: { name: string; slots: RolloutSlot[]; gate: RolloutGate; want: number[] }[] = [
    { name: "budget 1: one at a time", slots: [0, 1, 2, 3].map((i) => at2(i)), gate: gate(1), want: [0] },
    { name: "budget 2, phase of 1", slots: [0, 1, 2, 3].map((i) => at2(i)), gate: gate(2, [1]), want: [1] },
    { name: "already restarted slots are not stale", slots: [at2(0, { stale: false }), at2(1), at2(2)], gate: gate(1), want: [1] },
    { name: "one restarting (not serving) uses the budget", slots: [at2(0, { stale: false, ready: false }), at2(1), at2(2)], gate: gate(1), want: [] },
  ];
  for (const c of cases) assert.deepEqual([...rolloutTargets(2, c.slots.length, c.slots, c.gate).restart].sort(), c.want, c.name);
});

void test("rolloutTargets: maxSurge moves more tasks by starting the new attempt beside the old one", () => {
  const surgeGate = (budget: number, surge: number): RolloutGate => ({ budget, admitted: () => true, surge });
  const cases: { name: string; slots: RolloutSlot[]; gate: RolloutGate; want: { v: number[]; surge: number[] } }[] = [
    { name: "budget 1, surge 2: one stops, two surge", slots: [0, 1, 2, 3].map((i) => serving(i)), gate: surgeGate(1, 2), want: { v: [2, 2, 2, 1], surge: [1, 2] } },
    { name: "no surge: only the budget", slots: [0, 1, 2, 3].map((i) => serving(i)), gate: surgeGate(1, 0), want: { v: [2, 1, 1, 1], surge: [] } },
    { name: "a slot surging already counts against the surge (and serves: no budget used)", slots: [serving(0, { version: 2, surging: true }), serving(1), serving(2)], gate: surgeGate(1, 1), want: { v: [2, 2, 1], surge: [] } },
  ];
  for (const c of cases) {
    const got = rolloutTargets(2, c.slots.length, c.slots, c.gate);
    assert.deepEqual({ v: c.slots.map((s) => got.versions.get(s.index)), surge: [...got.surge].sort() }, c.want, c.name);
  }
});
