// Incremental decisions (decide.ts decideFocus): a decision that walks only the tasks whose task or
// attempts changed since the last pass, plus those the rollout controller moves now, writes exactly
// what a decision over every task writes, pass after pass through a whole rollout, and the job never
// has more tasks down than its budget. Pure: simulated agents apply each decision's stops and starts.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Attempt, Task } from "../../model/index.ts";
import type { JobDecision, JobInput } from "./types.ts";
import { decideFocus, decideJob, isReady } from "./decide.ts";
import { attempt, hostState, input, specOf, task } from "../testing/fixtures.ts";

const N = 40;
const hosts = new Map(Array.from({ length: 4 }, (_, h) => [`h${h}`, hostState(`h${h}`, { capacity: { cpu: 64, memoryMiB: 65_536, diskMiB: 100_000 } })]));
const v1 = specOf({ replicas: N, resources: { cpu: 0.1, memoryMiB: 16, diskMiB: 1 } });
const v2 = { ...v1, env: { V: "2" }, rollout: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 4, maxSurge: 0, onFailure: "rollback" as const } };

/** The store after a decision's writes, and the task indexes they touched. */
function apply(tasks: Map<number, Task>, atts: Map<string, Attempt>, d: JobDecision): void {
  for (const t of d.putTasks) tasks.set(t.index, t);
  for (const i of d.deleteTasks) tasks.delete(i);
  for (const a of d.putAttempts) atts.set(a.id, a);
  for (const id of d.deleteAttempts) atts.delete(id);
}

/** Simulated agents, `k` actions a step (a slow fleet: reports trickle in): a stopped attempt exits,
 * a pending one runs. Returns the task indexes whose attempts changed. */
function agents(atts: Map<string, Attempt>, k: number, now: number): Set<number> {
  const changed = new Set<number>();
  for (const a of [...atts.values()].sort((x, y) => x.index - y.index)) {
    if (changed.size >= k) break;
    if (a.desired === "stop" && (a.state === "running" || a.state === "pending")) atts.set(a.id, { ...a, state: "exited", exitCode: 0, endedAt: now, endCause: "stop" });
    else if (a.desired === "run" && a.state === "pending") atts.set(a.id, { ...a, state: "running", startedAt: now, pid: 1 });
    else continue;
    changed.add(a.index);
  }
  return changed;
}

/** Runs v1 -> v2 to the end, deciding incrementally or not; returns every decision and the most down at once. */
function roll(incremental: boolean, perStep: number): { decisions: JobDecision[]; mostDown: number; walked: number } {
  const tasks = new Map(Array.from({ length: N }, (_, i) => [i, task(i, { hostId: `h${i % 4}` })]));
  const atts = new Map(Array.from({ length: N }, (_, i) => [`a${i}`, attempt(`a${i}`, i, { hostId: `h${i % 4}` })]));
  let n = 0;
  const decisions: JobDecision[] = [];
  let mostDown = 0;
  let walked = 0;
  let changed: Set<number> | null = null; // the first decision of the new version sees everything
  for (let step = 0; step < 200; step++) {
    const now = 1000 + step * 10;
    const inp: JobInput = input({ job: { name: "web", version: 2, removedAt: null, updatedAt: 0 }, spec: v2, specs: { 1: v1 }, hosts, tasks: [...tasks.values()], attempts: [...atts.values()], now });
    inp.newId = () => `n${n++}`;
    if (incremental && changed !== null) {
      inp.focus = changed;
      walked += changed.size;
    } else walked += N;
    const d = decideJob(inp);
    decisions.push(d);
    apply(tasks, atts, d);
    const down = [...tasks.values()].filter((t) => !isReady(t.attemptId ? atts.get(t.attemptId) : undefined, v2)).length;
    mostDown = Math.max(mostDown, down);
    changed = agents(atts, perStep, now);
    if (changed.size === 0 && [...tasks.values()].every((t) => t.version === 2 && atts.get(t.attemptId ?? "")?.state === "running")) break;
  }
  return { decisions, mostDown, walked };
}

void test("incremental decisions write what full ones write, through a whole rollout, within the budget", () => {
  for (const perStep of [1, 3, 8, 100]) {
    const full = roll(false, perStep);
    const inc = roll(true, perStep);
    assert.deepEqual(inc.decisions, full.decisions, `${perStep} agent reports a step: the same writes, pass by pass`);
    assert.ok(inc.mostDown <= 4, `${perStep} a step: at most the budget (4) down at once, got ${inc.mostDown}`);
    assert.ok(full.decisions.at(-1)?.putTasks.length === 0, "the rollout ends");
    if (perStep < 8) assert.ok(inc.walked * 3 < full.walked, `${perStep} a step: the incremental passes walk a fraction of the tasks (${inc.walked} against ${full.walked})`);
  }
});

void test("decideFocus: what an incremental decision walks (table)", () => {
  const t = (i: number, version: number): [number, Task] => [i, task(i, { version })];
  const wanted = (n: number) => ({ has: (i: number) => i < n, list: () => Array.from({ length: n }, (_, i) => i) });
  const targets = (versions: [number, number][], restart: number[] = [], surge: number[] = []) => ({ versions: new Map(versions), restart: new Set(restart), surge: new Set(surge) });
  const cases: { name: string; changed: number[]; f: Parameters<typeof decideFocus>[1]; want: number[] }[] = [
    { name: "nothing changed, nothing moves: nothing to walk", changed: [], f: { tasks: new Map([t(0, 2), t(1, 1)]), wanted: wanted(2), targets: targets([[0, 2], [1, 1]]), jobVersion: 2, changedAttempts: [] }, want: [] },
    { name: "a task whose attempt changed", changed: [1], f: { tasks: new Map([t(0, 2), t(1, 1)]), wanted: wanted(2), targets: targets([[0, 2], [1, 1]]), jobVersion: 2, changedAttempts: [] }, want: [1] },
    { name: "budget freed: the controller moves an old task now", changed: [], f: { tasks: new Map([t(0, 2), t(1, 1)]), wanted: wanted(2), targets: targets([[0, 2], [1, 2]]), jobVersion: 2, changedAttempts: [] }, want: [1] },
    { name: "a rolling restart's and a surge's slots", changed: [], f: { tasks: new Map([t(0, 2), t(1, 2), t(2, 1)]), wanted: wanted(3), targets: targets([[0, 2], [1, 2], [2, 2]], [0], [2]), jobVersion: 2, changedAttempts: [] }, want: [0, 2] },
    { name: "an attempt lost or stopped by a metric check before the walk", changed: [], f: { tasks: new Map([t(0, 2), t(1, 2)]), wanted: wanted(2), targets: targets([[0, 2], [1, 2]]), jobVersion: 2, changedAttempts: [attempt("x", 1)] }, want: [1] },
    { name: "a wanted slot with no task, a task no longer wanted", changed: [], f: { tasks: new Map([t(0, 2), t(5, 2)]), wanted: wanted(2), targets: targets([[0, 2]]), jobVersion: 2, changedAttempts: [] }, want: [1, 5] },
  ];
  for (const c of cases) assert.deepEqual([...decideFocus(new Set(c.changed), c.f)].sort((a, b) => a - b), c.want, c.name);
});
