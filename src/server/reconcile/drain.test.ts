import { test } from "node:test";
import assert from "node:assert/strict";
import type { HostDrain, JobSpec, MaintenanceWindow } from "../../model/index.ts";
import type { JobInput } from "./types.ts";
import { anyHostLeaving, blockOfUnplaced, drainAllowance, drainCandidates, drainDue, jobDrainBlock, mergeBlocks } from "./drain.ts";
import { decideJob, placementNeeds } from "./decide.ts";
import { attempt, hostState, input, specOf, task } from "../testing/fixtures.ts";

/** A job of `replicas` tasks with a disruption budget of `n`. */
const withBudget = (replicas: number, n: number): JobSpec => specOf({ replicas, rollout: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: n, maxSurge: 0, onFailure: "rollback" } });
const drainOf = (over: Partial<HostDrain> = {}): HostDrain => ({ startedAt: 0, deadline: null, then: "wait", checkedAt: null, blocked: [], actedAt: null, ...over });
const draining = (over: Partial<HostDrain> = {}): JobInput["hosts"] => new Map([["h1", hostState("h1", { draining: true, drain: drainOf(over) })], ["h2", hostState("h2")]]);
/** n tasks of "web" on h1, all running. */
const onH1 = (n: number): Pick<JobInput, "tasks" | "attempts"> => ({
  tasks: Array.from({ length: n }, (_, i) => task(i)),
  attempts: Array.from({ length: n }, (_, i) => attempt(`a${i}`, i)),
});

void test("drainAllowance: the budget less tasks down for any cause and moves under way", async (t) => {
  const cases: { name: string; inp: JobInput; want: { budget: number; down: number; moving: number; allowed: number } }[] = [
    { name: "10 serving, budget 3: 3 may leave", inp: input({ spec: withBudget(10, 3), ...onH1(10) }), want: { budget: 3, down: 0, moving: 0, allowed: 3 } },
    {
      name: "a crashing task counts against the budget (any cause)",
      inp: input({ spec: withBudget(4, 2), tasks: onH1(4).tasks, attempts: [...onH1(3).attempts, attempt("a3", 3, { state: "failed", endedAt: 1 })] }),
      want: { budget: 2, down: 1, moving: 0, allowed: 1 },
    },
    {
      name: "a rollout's stopped task and a move under way: nothing left of a budget of 2",
      inp: input({
        spec: withBudget(4, 2),
        tasks: [task(0, { hostId: "h2", attemptId: "b0" }), task(1), task(2), task(3)],
        attempts: [attempt("a0", 0), attempt("b0", 0, { hostId: "h2", state: "starting" }), attempt("a1", 1, { desired: "stop" }), attempt("a2", 2), attempt("a3", 3)],
      }),
      want: { budget: 2, down: 1, moving: 1, allowed: 0 },
    },
    { name: "a 1-task job: budget 1 (at least one), one may leave", inp: input({ ...onH1(1) }), want: { budget: 1, down: 0, moving: 0, allowed: 1 } },
    { name: "an unplaced task is down", inp: input({ spec: specOf({ replicas: 2 }), tasks: [task(0), task(1, { hostId: null, attemptId: null })], attempts: [attempt("a0", 0)] }), want: { budget: 1, down: 1, moving: 0, allowed: 0 } },
  ];
  for (const c of cases) await t.test(c.name, () => assert.deepEqual(drainAllowance(c.inp), c.want));
});

void test("drainDue: the deadline's action, once it passed, unless it waits", async (t) => {
  const cases: { name: string; h: Parameters<typeof drainDue>[0]; now: number; want: ReturnType<typeof drainDue> }[] = [
    { name: "no drain record", h: hostState("h1", { draining: true }), now: 5, want: null },
    { name: "no deadline", h: hostState("h1", { draining: true, drain: drainOf() }), now: 5, want: null },
    { name: "before the deadline", h: hostState("h1", { draining: true, drain: drainOf({ deadline: 10, then: "force" }) }), now: 9, want: null },
    { name: "at the deadline: force", h: hostState("h1", { draining: true, drain: drainOf({ deadline: 10, then: "force" }) }), now: 10, want: "force" },
    { name: "past the deadline: stop", h: hostState("h1", { draining: true, drain: drainOf({ deadline: 10, then: "stop" }) }), now: 11, want: "stop" },
    { name: "past the deadline: wait does nothing", h: hostState("h1", { draining: true, drain: drainOf({ deadline: 10, then: "wait" }) }), now: 11, want: null },
    { name: "undrained: nothing", h: hostState("h1", { draining: false, drain: drainOf({ deadline: 10, then: "stop" }) }), now: 11, want: null },
  ];
  for (const c of cases) await t.test(c.name, () => assert.equal(drainDue(c.h, c.now), c.want));
});

void test("drain moves: as many tasks at once as the budget allows (parallelism), all at a forcing deadline", async (t) => {
  const budget3 = withBudget(6, 3);
  const cases: { name: string; inp: JobInput; want: number[] }[] = [
    { name: "budget 3, six serving on the draining host: three move", inp: input({ spec: budget3, hosts: draining(), ...onH1(6) }), want: [0, 1, 2] },
    {
      name: "budget 3, one task crashing elsewhere: two move",
      inp: input({ spec: budget3, hosts: draining(), tasks: onH1(6).tasks, attempts: [...onH1(5).attempts, attempt("a5", 5, { state: "failed", endedAt: 1 })] }),
      want: [0, 1],
    },
    { name: "budget 1 of a 2-task job with one task unplaced: none", inp: input({ spec: specOf({ replicas: 2 }), hosts: draining(), tasks: [task(0), task(1, { hostId: null, attemptId: null })], attempts: [attempt("a0", 0)] }), want: [] },
    {
      name: "the same past a forcing deadline: the serving one moves regardless",
      inp: input({ spec: specOf({ replicas: 2 }), hosts: draining({ deadline: 50, then: "force" }), now: 100, tasks: [task(0), task(1, { hostId: null, attemptId: null })], attempts: [attempt("a0", 0)] }),
      want: [0],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(drainCandidates(c.inp, drainAllowance(c.inp).allowed).map((x) => x.index), c.want);
      assert.deepEqual(placementNeeds(c.inp).filter((n) => n.move).map((n) => n.index), c.want, "placementNeeds asks for the same moves");
    });
  }
});

void test("decideJob at a drain's deadline: stop stops all; force stops what finds no host; wait and before do nothing", async (t) => {
  const blocked = [{ job: "web", reason: "no-room" as const, detail: "no host fits", tasks: [0], since: 1 }];
  const cases: { name: string; hosts: JobInput["hosts"]; now: number; stopped: string[] }[] = [
    { name: "then stop, past the deadline", hosts: draining({ deadline: 50, then: "stop" }), now: 100, stopped: ["a0", "a1"] },
    { name: "then stop, before the deadline", hosts: draining({ deadline: 150, then: "stop" }), now: 100, stopped: [] },
    { name: "then force, no room reported", hosts: draining({ deadline: 50, then: "force", blocked }), now: 100, stopped: ["a0", "a1"] },
    { name: "then force, nothing reported: they move make-before-break instead", hosts: draining({ deadline: 50, then: "force" }), now: 100, stopped: [] },
    { name: "then wait, past the deadline", hosts: draining({ deadline: 50, then: "wait", blocked }), now: 100, stopped: [] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const d = decideJob(input({ spec: specOf({ replicas: 2 }), hosts: c.hosts, now: c.now, ...onH1(2) }));
      assert.deepEqual(d.putAttempts.filter((a) => a.desired === "stop").map((a) => a.id).sort(), c.stopped);
    });
  }
});

void test("jobDrainBlock: what holds a job on a draining host", async (t) => {
  const fits = (): null => null;
  const full = (): { reasons: { memory: number }; text: string } => ({ reasons: { memory: 2 }, text: "no host fits: memory on 2 hosts" });
  const labels = (): { reasons: { labels: number }; text: string } => ({ reasons: { labels: 2 }, text: "no host fits: labels on 2 hosts" });
  const cases: { name: string; inp: JobInput; dry: Parameters<typeof jobDrainBlock>[2]; want: { reason: string; tasks: number[] } | null }[] = [
    { name: "1 task, room elsewhere: not held (it moves)", inp: input({ hosts: draining(), ...onH1(1) }), dry: fits, want: null },
    { name: "1 task, every other host full: no room", inp: input({ hosts: draining(), ...onH1(1) }), dry: full, want: { reason: "no-room", tasks: [0] } },
    { name: "1 task, no other host has its labels: a constraint", inp: input({ hosts: draining(), ...onH1(1) }), dry: labels, want: { reason: "constraint", tasks: [0] } },
    {
      name: "2 tasks, the other one down, budget 1: the budget",
      inp: input({ spec: specOf({ replicas: 2 }), hosts: draining(), tasks: [task(0), task(1, { hostId: "h2", attemptId: "a1" })], attempts: [attempt("a0", 0), attempt("a1", 1, { hostId: "h2", state: "failed", endedAt: 1 })] }),
      dry: fits,
      want: { reason: "budget", tasks: [0] },
    },
    {
      name: "a move under way: not held",
      inp: input({ hosts: draining(), tasks: [task(0, { hostId: "h2", attemptId: "b0" })], attempts: [attempt("a0", 0), attempt("b0", 0, { hostId: "h2", state: "starting" })] }),
      dry: full,
      want: null,
    },
    { name: "nothing on the host", inp: input({ hosts: draining(), tasks: [task(0, { hostId: "h2" })], attempts: [attempt("a0", 0, { hostId: "h2" })] }), dry: full, want: null },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const b = jobDrainBlock(c.inp, "h1", c.dry);
      assert.deepEqual(b && { reason: b.reason, tasks: b.tasks }, c.want);
    });
  }
});

void test("blockOfUnplaced and mergeBlocks", () => {
  assert.equal(blockOfUnplaced({ cpu: 1, labels: 3 }), "no-room", "a host that matches but is full: room is what lacks");
  assert.equal(blockOfUnplaced({ "not-schedulable": 2 }), "no-room", "every other host drains or is down");
  assert.equal(blockOfUnplaced({ os: 1, "anti-affinity": 2 }), "constraint");
  assert.equal(blockOfUnplaced({}), "no-room", "no other host at all");
  const prev = [{ job: "a", reason: "budget" as const, detail: "x", tasks: [0], since: 5 }];
  assert.deepEqual(
    mergeBlocks(prev, [{ job: "b", reason: "no-room", detail: "y", tasks: [1] }, { job: "a", reason: "budget", detail: "x2", tasks: [0] }], 9).map((b) => [b.job, b.since]),
    [["a", 5], ["b", 9]],
    "the same job held for the same reason keeps its since; new ones start now",
  );
  assert.equal(mergeBlocks(prev, [{ job: "a", reason: "no-room", detail: "z", tasks: [0] }], 9)[0]?.since, 9, "a new reason starts a new since");
});

void test("drain moves and the application's approval (spec disruption)", async (t) => {
  const approving = specOf({ replicas: 2, disruption: { approve: "http://127.0.0.1:1/ok", timeoutMs: 1000, onTimeout: "wait" } });
  const yes = { ok: true, reason: "approved", at: 1 };
  // The application's own answer since 12:00:05 UTC, asked again since (at: the last time).
  const notYet = { ok: false, reason: "rebuilding index", at: Date.UTC(2026, 11, 6, 12, 0, 9), answered: true, since: Date.UTC(2026, 11, 6, 12, 0, 5) };
  const timedOut = { ok: false, reason: "no answer within 1000 ms: wait", at: 7, answered: false, since: Date.UTC(2026, 11, 6, 12, 1, 0) };
  const cases: { name: string; inp: JobInput; moves: number[]; block: string | null }[] = [
    { name: "no answer yet: nothing moves, the report says it asks", inp: input({ spec: approving, hosts: draining(), ...onH1(2) }), moves: [], block: "approval: task 0: asking http://127.0.0.1:1/ok, no answer yet" },
    { name: "not yet: nothing moves, the report gives the application's answer, its reason and since when", inp: input({ spec: approving, hosts: draining(), approvals: new Map([[0, notYet]]), ...onH1(2) }), moves: [], block: 'approval: task 0: the application says not yet: "rebuilding index" (its answer since 12:00:05 UTC, asked every 1s)' },
    { name: "no answer in time: the report says so, and since when", inp: input({ spec: approving, hosts: draining(), approvals: new Map([[0, timedOut]]), ...onH1(2) }), moves: [], block: "approval: task 0: no answer within 1000 ms: wait (since 12:01:00 UTC, asked every 1s)" },
    { name: "yes for task 0: it moves", inp: input({ spec: approving, hosts: draining(), approvals: new Map([[0, yes]]), ...onH1(2) }), moves: [0], block: null },
    { name: "a forcing deadline overrides a not yet", inp: input({ spec: approving, hosts: draining({ deadline: 5, then: "force" }), now: 10, approvals: new Map([[0, notYet]]), ...onH1(2) }), moves: [0, 1], block: null },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(placementNeeds(c.inp).filter((n) => n.move).map((n) => n.index), c.moves);
      const b = jobDrainBlock(c.inp, "h1", () => null);
      assert.equal(b && `${b.reason}: ${b.detail}`, c.block);
      assert.deepEqual(drainCandidates(c.inp, 1, { ignoreApproval: true }).map((x) => x.index), c.moves.length > 1 ? c.moves : [0], "what the asker asks about: the next move within the budget (all when forced)");
    });
  }
});

void test("a disruption budget of 0: drains and windows wait, the report says so, the deadline acts", async (t) => {
  const zero = specOf({ replicas: 1, rollout: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 0, maxSurge: 1, onFailure: "rollback" } });
  await t.test("nothing moves, nothing stops", () => {
    const inp = input({ spec: zero, hosts: draining(), ...onH1(1) });
    assert.deepEqual([drainAllowance(inp).budget, drainAllowance(inp).allowed], [0, 0]);
    assert.deepEqual(placementNeeds(inp), []);
    assert.deepEqual(decideJob(inp).putAttempts, []);
  });
  await t.test("the report names the budget of 0, not a silent wait", () => {
    const b = jobDrainBlock(input({ spec: zero, hosts: draining(), ...onH1(1) }), "h1", () => null);
    assert.equal(b?.reason, "budget");
    assert.match(b?.detail ?? "", /disruption budget 0 .*none of its tasks may be disrupted/);
  });
  await t.test("a window's moves wait too", () => {
    const w = { id: "w1", scope: "rack" as const, target: "r1", start: 100_000, durationMs: 50_000, reason: "PDU", leadMs: 10_000, closeMs: null, createdAt: 0, cancelledAt: null };
    const inp = input({ spec: zero, hosts: new Map([["h1", hostState("h1", { windows: [w], closed: true })], ["h2", hostState("h2")]]), now: 95_000, ...onH1(1) });
    assert.deepEqual(placementNeeds(inp), []);
  });
  await t.test("past a forcing deadline: it moves regardless; a stopping one stops it", () => {
    const force = input({ spec: zero, hosts: draining({ deadline: 50, then: "force" }), now: 100, ...onH1(1) });
    assert.deepEqual(drainCandidates(force, drainAllowance(force).allowed).map((x) => x.index), [0]);
    assert.equal(jobDrainBlock(force, "h1", () => null), null, "no longer held");
    const stop = decideJob(input({ spec: zero, hosts: draining({ deadline: 50, then: "stop" }), now: 100, ...onH1(1) }));
    assert.deepEqual(stop.putAttempts.map((a) => [a.id, a.desired]), [["a0", "stop"]]);
  });
});

// Found by bench/drain-dc.ts through a real server: hosts drained one after another (a rack or a
// datacenter, host by host), a move's new copy lands on a host whose drain comes next and is stopped
// there before it serves. The task used to be unplaced, and re-placing it (a plain placement, outside
// the budget) made a second copy beside the old one that still served: a move beyond the budget.
void test("a move whose new copy is stopped before serving falls back to the old copy, and the budget holds", () => {
  const spec = specOf({ replicas: 3, rollout: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" } });
  const hosts: JobInput["hosts"] = new Map([["h1", hostState("h1", { draining: true, drain: drainOf() })], ["h2", hostState("h2", { draining: true, drain: drainOf() })], ["h3", hostState("h3")]]);
  const inp = input({
    spec,
    hosts,
    tasks: [task(0, { hostId: "h2", attemptId: "n0" }), task(1, { attemptId: "a1" }), task(2, { hostId: "h3", attemptId: "a2" })],
    attempts: [attempt("a0", 0), attempt("n0", 0, { hostId: "h2", state: "exited", desired: "stop", endedAt: 5 }), attempt("a1", 1), attempt("a2", 2, { hostId: "h3" })],
    now: 10,
  });
  const d = decideJob(inp);
  const t0 = d.putTasks.find((t) => t.index === 0);
  assert.deepEqual([t0?.hostId, t0?.attemptId], ["h1", "a0"], "task 0 points at its old copy again, still serving on h1");
  assert.ok(!d.putAttempts.some((a) => a.id === "a0" && a.desired === "stop"), "the old copy keeps serving");
  // The next placement: one move within the budget of 1, never a second copy of task 0 beside one of task 1.
  const after = input({ spec, hosts, tasks: [t0!, task(1, { attemptId: "a1" }), task(2, { hostId: "h3", attemptId: "a2" })], attempts: [attempt("a0", 0), attempt("n0", 0, { hostId: "h2", state: "exited", desired: "stop", endedAt: 5 }), attempt("a1", 1), attempt("a2", 2, { hostId: "h3" })], now: 10 });
  assert.equal(placementNeeds(after).length, 1, JSON.stringify(placementNeeds(after)));
});

void test("anyHostLeaving: only a draining host or one in a maintenance window lets a task have to leave", async (t) => {
  const window: MaintenanceWindow = { id: "w1", scope: "host", target: "h1", start: 0, durationMs: 60_000, reason: "kernel", leadMs: null, closeMs: null, createdAt: 0, cancelledAt: null };
  const cases: { name: string; hosts: JobInput["hosts"]; want: boolean }[] = [
    { name: "no host", hosts: new Map(), want: false },
    { name: "every host up, none draining", hosts: new Map([["h1", hostState("h1")], ["h2", hostState("h2", { status: "suspect" })], ["h3", hostState("h3", { status: "down" })]]), want: false },
    { name: "a draining host", hosts: draining(), want: true },
    { name: "a host in a maintenance window", hosts: new Map([["h1", hostState("h1", { windows: [window] })], ["h2", hostState("h2")]]), want: true },
    { name: "an empty window list", hosts: new Map([["h1", hostState("h1", { windows: [] })]]), want: false },
  ];
  for (const c of cases) await t.test(c.name, () => assert.equal(anyHostLeaving(c.hosts), c.want));
  // With no host to leave, placementNeeds lists the unplaced tasks only (no drain move).
  const inp = input({ spec: withBudget(3, 1), tasks: [task(0), task(1), task(2, { hostId: null, attemptId: null })], attempts: [attempt("a0", 0), attempt("a1", 1)] });
  assert.deepEqual(placementNeeds(inp).map((n) => [n.index, n.move]), [[2, false]]);
});
