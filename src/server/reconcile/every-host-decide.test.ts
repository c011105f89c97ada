// Every-host jobs in the pure decisions (table): the job's wanted indexes are its running slots
// (decideJob creates, keeps and stops tasks by them, holes included), placement pins each task to its
// slot's host (planPinned, with the scheduler's reasons when the host has no room), the plan says why
// a task stops, and rollouts default to phases by failure domain.

import assert from "node:assert/strict";
import { test } from "node:test";
import { TaskOverheadMiB } from "../../model/index.ts";
import type { JobSpec } from "../../model/index.ts";
import { ClusterIndex } from "../../scheduler/api.ts";
import { attempt, hostState, input, schedHostOf, specOf, task } from "../testing/fixtures.ts";
import { decideJob, placementNeeds } from "./decide.ts";
import { planPinned } from "./every-host-place.ts";
import { wantedOf } from "./every-host-input.ts";
import { planTaskChange } from "./plan-tasks.ts";
import { defaultPhasesOf, planPhases } from "./rollout-phases.ts";

const spec: JobSpec = { ...specOf({ replicas: 0 }), everyHost: true };
const hosts = new Map(["h1", "h2", "h3"].map((id) => [id, hostState(id)]));

void test("every-host decisions (table)", () => {
  const cases: { name: string; everyHost: [number, string][]; tasks: ReturnType<typeof task>[]; want: { put: string[]; stop: string[]; del: number[]; needs: number[] } }[] = [
    {
      name: "a slot without a task: the task is made (placed by the placement phase)",
      everyHost: [[0, "h1"], [1, "h2"]],
      tasks: [task(0, { hostId: "h1" })],
      want: { put: ["1:-"], stop: [], del: [], needs: [] },
    },
    {
      name: "a task whose slot is gone (host left, drained, not matching): its attempt stops, the task stays until it ended",
      everyHost: [[0, "h1"]],
      tasks: [task(0, { hostId: "h1" }), task(2, { hostId: "h3" })],
      want: { put: [], stop: ["a2"], del: [], needs: [] },
    },
    {
      name: "holes stay: slots 0 and 2 are the job; index 1 is not made",
      everyHost: [[0, "h1"], [2, "h3"]],
      tasks: [task(0, { hostId: "h1" }), task(2, { hostId: "h3" })],
      want: { put: [], stop: [], del: [], needs: [] },
    },
    {
      name: "an unplaced task of a slot is a placement need",
      everyHost: [[0, "h1"], [1, "h2"]],
      tasks: [task(0, { hostId: "h1" }), task(1, { hostId: null, attemptId: null })],
      want: { put: [], stop: [], del: [], needs: [1] },
    },
  ];
  for (const c of cases) {
    const atts = c.tasks.filter((t) => t.attemptId !== null).map((t) => attempt(t.attemptId ?? "", t.index, { hostId: t.hostId ?? "h1", state: "running" }));
    const inp = input({ spec, hosts, tasks: c.tasks, attempts: atts, everyHost: new Map(c.everyHost) });
    const d = decideJob(inp);
    const made = d.putTasks.filter((t) => !c.tasks.some((o) => o.index === t.index)).map((t) => `${t.index}:${t.hostId ?? "-"}`);
    assert.deepEqual(made, c.want.put, c.name);
    assert.deepEqual(d.putAttempts.filter((a) => a.desired === "stop").map((a) => a.id), c.want.stop, c.name);
    assert.deepEqual(d.deleteTasks, c.want.del, c.name);
    assert.deepEqual(placementNeeds(inp).map((n) => n.index), c.want.needs, c.name);
  }
});

void test("a task whose slot is gone is deleted once its attempt ended", () => {
  const inp = input({ spec, hosts, tasks: [task(0), task(2, { hostId: "h3" })], attempts: [attempt("a0", 0, { state: "running" }), attempt("a2", 2, { hostId: "h3", state: "exited", desired: "stop", endedAt: 1 })], everyHost: new Map([[0, "h1"]]) });
  const d = decideJob(inp);
  assert.deepEqual(d.deleteTasks, [2]);
  assert.deepEqual(d.deleteAttempts, ["a2"]);
});

void test("wantedOf: a count, an every-host job's slots, a removed job", () => {
  const counted = wantedOf({ job: { name: "web", version: 1, removedAt: null, updatedAt: 0 }, spec: specOf({ replicas: 3 }) });
  assert.deepEqual([counted.count, counted.list(), counted.has(3)], [3, [0, 1, 2], false]);
  const eh = wantedOf({ job: { name: "web", version: 1, removedAt: null, updatedAt: 0 }, spec, everyHost: new Map([[4, "h1"], [1, "h2"]]) });
  assert.deepEqual([eh.count, eh.list(), eh.has(0), eh.has(4)], [2, [1, 4], false, true]);
  const gone = wantedOf({ job: { name: "web", version: 1, removedAt: 5, updatedAt: 0 }, spec, everyHost: new Map([[0, "h1"]]) });
  assert.equal(gone.count, 0);
});

void test("planPinned: each task on its own slot's host, or unplaced with the scheduler's reasons", () => {
  const big = { ...spec, resources: { cpu: 3, memoryMiB: 64, diskMiB: 10 } };
  const sh = [schedHostOf(hostState("h1")), schedHostOf(hostState("h2")), { ...schedHostOf(hostState("h3")), schedulable: false }];
  const index = new ClusterIndex(sh, [{ job: "other", index: 0, hostId: "h2", cpu: sh[1]!.cores - 1, memoryMiB: 10, diskMiB: 0, antiAffinity: null }], { taskOverheadMiB: TaskOverheadMiB });
  const needs = [0, 1, 2, 3].map((i) => ({ index: i, avoid: ["h1"], move: false }));
  const r = planPinned(index, big, needs, new Map([[0, "h1"], [1, "h2"], [2, "h3"]]));
  assert.deepEqual(r.plan.placements, [{ index: 0, hostId: "h1" }], "the avoid list does not apply: the task belongs to h1");
  assert.deepEqual(r.plan.unplaced.map((u) => [u.index, Object.keys(u.reasons)]), [[1, ["cpu"]], [2, ["not-schedulable"]], [3, []]]);
  assert.equal(index.hostOf(big.name, 0), "h1", "booked in the index");
});

void test("plan: an every-host task whose slot is gone stops, a new slot starts", () => {
  const stop = planTaskChange({ index: 2, task: task(2), from: spec, to: spec, currentReplicas: 3, hostAfter: null, wanted: false });
  assert.equal(stop.action, "stop");
  assert.match(stop.reason, /host left, is draining or no longer matches/);
  const start = planTaskChange({ index: 5, task: null, from: null, to: spec, currentReplicas: 3, hostAfter: "h4", wanted: true });
  assert.deepEqual([start.action, start.reason], ["start", "a matching host without its task"]);
});

void test("every-host rollouts go by failure domain: one host, its rack, its cluster, its datacenter, all", () => {
  const dom = (dc: string, cl: string, rack: string) => ({ region: "r", datacenter: dc, cluster: cl, rack });
  const tasks = [
    { index: 0, domain: dom("d1", "c1", "k1") },
    { index: 1, domain: dom("d1", "c1", "k1") },
    { index: 2, domain: dom("d1", "c1", "k2") },
    { index: 3, domain: dom("d1", "c2", "k3") },
    { index: 4, domain: dom("d2", "c3", "k4") },
  ];
  const phases = planPhases(defaultPhasesOf(spec, tasks), tasks);
  assert.deepEqual(phases.map((p) => [p.spec, p.tasks]), [[1, [0]], ["rack", [1]], ["cluster", [2]], ["datacenter", [3]], ["all", [4]]]);
  assert.notDeepEqual(defaultPhasesOf(specOf({ replicas: 5 }), tasks), defaultPhasesOf(spec, tasks), "a counted job keeps its own defaults");
});
