// atRest: which jobs a full reconcile pass may skip until something of theirs changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MaintenanceWindow } from "../../model/index.ts";
import { attempt, hostState, input, specOf, task } from "../testing/fixtures.ts";
import { atRest, DebounceMs, MaxPassGapMs, passGapMs } from "./loop.ts";

const window: MaintenanceWindow = { id: "w1", scope: "host", target: "h1", start: 0, durationMs: 1000, reason: "disk swap", leadMs: 0, closeMs: 0, createdAt: 0, cancelledAt: null };

void test("atRest: only jobs no clock can change", () => {
  const spec = specOf({ replicas: 2 });
  const placed = [task(0, { attemptId: "a0" }), task(1, { hostId: "h2", attemptId: "a1" })];
  const running = [attempt("a0", 0, { state: "running" }), attempt("a1", 1, { hostId: "h2", state: "running" })];
  const cases: { name: string; over: Parameters<typeof input>[0]; want: boolean }[] = [
    { name: "every replica placed and running", over: { spec, tasks: placed, attempts: running }, want: true },
    { name: "a replica not made yet", over: { spec, tasks: placed.slice(0, 1), attempts: running.slice(0, 1) }, want: false },
    { name: "a replica unplaced (no host fits: capacity may come)", over: { spec, tasks: [placed[0]!, task(1, { hostId: null, attemptId: null })], attempts: running.slice(0, 1) }, want: false },
    { name: "a failure count the clock will reset", over: { spec, tasks: [placed[0]!, task(1, { hostId: "h2", attemptId: "a1", failures: 1 })], attempts: running }, want: false },
    { name: "a live attempt on a down host (lost after the fence wait)", over: { spec, tasks: placed, attempts: running, hosts: new Map([["h1", hostState("h1")], ["h2", hostState("h2", { status: "down" })]]) }, want: false },
    { name: "a live attempt on a host no longer known", over: { spec, tasks: placed, attempts: running, hosts: new Map([["h1", hostState("h1")]]) }, want: false },
    { name: "ended attempts on a down host do not matter", over: { spec, tasks: placed, attempts: [...running, attempt("old", 1, { hostId: "h3", state: "exited" })] }, want: true },
    { name: "a suspect host is not down yet: its change to down is a store change", over: { spec, tasks: placed, attempts: running, hosts: new Map([["h1", hostState("h1")], ["h2", hostState("h2", { status: "suspect" })]]) }, want: true },
    // An endure task stopped for a window that ended with its host not back: its move elsewhere after
    // the job's maintenanceOverrun is a clock decision (a full pass skipping it left it there for good).
    {
      name: "a task held in place by an overrun window",
      over: { spec: specOf({ maintenance: "endure", maintenanceOverrunMs: 1000 }), tasks: [task(0, { attemptId: "a0" })], attempts: [attempt("a0", 0, { state: "exited", desired: "stop" })], hosts: new Map([["h1", hostState("h1", { status: "down", overrun: [window] })]]) },
      want: false,
    },
  ];
  for (const c of cases) assert.equal(atRest(input(c.over)), c.want, c.name);
});

void test("passGapMs: quick passes follow at once, slow ones rest as long as they took, at most MaxPassGapMs", () => {
  const cases: { name: string; tookMs: number; want: number }[] = [
    { name: "an idle cluster's pass", tookMs: 2, want: 0 },
    { name: "a pass as long as the debounce", tookMs: DebounceMs, want: 0 },
    { name: "a 10,000-task job mid-rollout", tookMs: 60, want: 60 },
    { name: "a very slow pass rests at most the cap", tookMs: 5000, want: MaxPassGapMs },
  ];
  for (const c of cases) assert.equal(passGapMs(c.tookMs), c.want, c.name);
});
