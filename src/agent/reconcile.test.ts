import assert from "node:assert/strict";
import { test } from "node:test";
import type { Assignment } from "../api/types.ts";
import {
  planCleanup,
  planDisconnectStops,
  planReconcile,
  REASON_NEVER_STARTED,
  REASON_STOPPED,
  REASON_UNASSIGNED,
  REASON_UNKNOWN,
} from "./reconcile.ts";
import type { AttemptDirInfo, LocalAttempt } from "./reconcile.ts";
import { testAssignment, testSpec } from "./test-fixtures.ts";

const NOW = 1_000_000;
const spec = testSpec();
const asg = (id: string, over: Partial<Assignment["attempt"]> = {}) => testAssignment(id, spec, over);
const loc = (id: string, over: Partial<LocalAttempt> = {}): LocalAttempt => ({ id, ended: false, stopping: null, stopAfterMs: null, ...over });

const reconcileCases: {
  name: string;
  desired: Assignment[];
  local: LocalAttempt[];
  known?: string[];
  want: { start: string[]; stop: [string, string][]; fail: [string, string, string][]; wakeAt: number | null };
}[] = [
  { name: "nothing", desired: [], local: [], want: { start: [], stop: [], fail: [], wakeAt: null } },
  { name: "new pending attempt starts", desired: [asg("a")], local: [], want: { start: ["a"], stop: [], fail: [], wakeAt: null } },
  { name: "running attempt left alone", desired: [asg("a", { state: "running" })], local: [loc("a")], want: { start: [], stop: [], fail: [], wakeAt: null } },
  { name: "startAfter in the future waits", desired: [asg("a", { startAfter: NOW + 500 }), asg("b", { startAfter: NOW + 100 })], local: [], want: { start: [], stop: [], fail: [], wakeAt: NOW + 100 } },
  { name: "startAfter reached starts", desired: [asg("a", { startAfter: NOW })], local: [], want: { start: ["a"], stop: [], fail: [], wakeAt: null } },
  { name: "desired stop stops a live attempt", desired: [asg("a", { desired: "stop", state: "running" })], local: [loc("a")], want: { start: [], stop: [["a", REASON_STOPPED]], fail: [], wakeAt: null } },
  { name: "desired stop not sent twice", desired: [asg("a", { desired: "stop" })], local: [loc("a", { stopping: REASON_STOPPED })], want: { start: [], stop: [], fail: [], wakeAt: null } },
  { name: "desired stop of an ended attempt does nothing", desired: [asg("a", { desired: "stop" })], local: [loc("a", { ended: true })], want: { start: [], stop: [], fail: [], wakeAt: null } },
  { name: "attempt gone from the set is stopped", desired: [], local: [loc("a")], want: { start: [], stop: [["a", REASON_UNASSIGNED]], fail: [], wakeAt: null } },
  { name: "ended attempt gone from the set is left", desired: [], local: [loc("a", { ended: true })], want: { start: [], stop: [], fail: [], wakeAt: null } },
  { name: "attempt already handled is not restarted", desired: [asg("a")], local: [], known: ["a"], want: { start: [], stop: [], fail: [], wakeAt: null } },
  { name: "terminal attempt in the set is ignored", desired: [asg("a", { state: "exited" })], local: [], want: { start: [], stop: [], fail: [], wakeAt: null } },
  { name: "pending attempt stopped before start is reported", desired: [asg("a", { desired: "stop" })], local: [], want: { start: [], stop: [], fail: [["a", REASON_NEVER_STARTED, "stopped"]], wakeAt: null } },
  { name: "running attempt unknown here is reported, not restarted", desired: [asg("a", { state: "running" })], local: [], want: { start: [], stop: [], fail: [["a", REASON_UNKNOWN, "failed"]], wakeAt: null } },
];
for (const c of reconcileCases) {
  void test(`planReconcile: ${c.name}`, () => {
    const plan = planReconcile(c.desired, new Map(c.local.map((l) => [l.id, l])), new Set(c.known ?? []), NOW);
    assert.deepEqual(
      { start: plan.start.map((a) => a.attempt.id), stop: plan.stop.map((s) => [s.id, s.reason]), fail: plan.fail.map((f) => [f.id, f.reason, f.state]), wakeAt: plan.wakeAt },
      c.want,
    );
  });
}

void test("planReconcile: attempts waiting on startAfter are listed, so their packages are fetched ahead", () => {
  const plan = planReconcile([asg("a", { startAfter: NOW + 500 }), asg("b"), asg("c", { startAfter: NOW + 9, desired: "stop" })], new Map(), new Set(), NOW);
  assert.deepEqual(plan.waiting.map((a) => a.attempt.id), ["a"]);
  assert.deepEqual(plan.start.map((a) => a.attempt.id), ["b"]);
});

const disconnectCases: { name: string; local: LocalAttempt[]; lastContact: number; want: { stop: string[]; nextCheckAt: number | null } }[] = [
  { name: "default policy never stops", local: [loc("a")], lastContact: 0, want: { stop: [], nextCheckAt: null } },
  { name: "past stopAfterMs stops", local: [loc("a", { stopAfterMs: 1000 })], lastContact: NOW - 1000, want: { stop: ["a"], nextCheckAt: null } },
  { name: "before stopAfterMs waits", local: [loc("a", { stopAfterMs: 1000 })], lastContact: NOW - 400, want: { stop: [], nextCheckAt: NOW + 600 } },
  { name: "mixed jobs: only the at-most-one job stops", local: [loc("a", { stopAfterMs: 1000 }), loc("b"), loc("c", { stopAfterMs: 5000 })], lastContact: NOW - 2000, want: { stop: ["a"], nextCheckAt: NOW + 3000 } },
  { name: "already stopping or ended skipped", local: [loc("a", { stopAfterMs: 1, stopping: "x" }), loc("b", { stopAfterMs: 1, ended: true })], lastContact: 0, want: { stop: [], nextCheckAt: null } },
];
for (const c of disconnectCases) {
  void test(`planDisconnectStops: ${c.name}`, () => {
    const got = planDisconnectStops(c.local, c.lastContact, NOW);
    assert.deepEqual({ stop: got.stop.map((s) => s.id), nextCheckAt: got.nextCheckAt }, c.want);
    for (const s of got.stop) assert.match(s.reason, /^disconnected from server for \d+ms$/);
  });
}

const dir = (id: string, index: number, createdAt: number, done = true, job = "web"): AttemptDirInfo => ({ id, job, index, createdAt, done });
const cleanupCases: { name: string; dirs: AttemptDirInfo[]; want: string[] }[] = [
  { name: "three or fewer kept", dirs: [dir("a", 0, 1), dir("b", 0, 2), dir("c", 0, 3)], want: [] },
  { name: "oldest beyond three deleted", dirs: [dir("a", 0, 1), dir("b", 0, 2), dir("c", 0, 3), dir("d", 0, 4), dir("e", 0, 5)], want: ["b", "a"] },
  { name: "counted per task", dirs: [dir("a", 0, 1), dir("b", 0, 2), dir("c", 0, 3), dir("x", 1, 0), dir("y", 0, 0, true, "db")], want: [] },
  { name: "an old attempt not done is kept", dirs: [dir("a", 0, 1, false), dir("b", 0, 2), dir("c", 0, 3), dir("d", 0, 4)], want: [] },
];
for (const c of cleanupCases) void test(`planCleanup: ${c.name}`, () => assert.deepEqual(planCleanup(c.dirs), c.want));
