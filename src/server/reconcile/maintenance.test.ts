import { test } from "node:test";
import assert from "node:assert/strict";
import type { Attempt, JobSpec, MaintenanceWindow } from "../../model/index.ts";
import { decideJob, placementNeeds } from "./decide.ts";
import { endureApprovalDeadline, endureAsks, endureBlock, EndureAskAheadMs, endureWindow, moveWindow } from "./maintenance.ts";
import type { Approval, HostState, JobInput } from "./types.ts";
import { attempt, hostState, input, specOf, task } from "../testing/fixtures.ts";

const win = (over: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({ id: "w1", scope: "rack", target: "r1", start: 100_000, durationMs: 50_000, reason: "PDU", leadMs: 10_000, closeMs: null, createdAt: 0, cancelledAt: null, ...over });
const hosts = (w: MaintenanceWindow | null, over: Partial<HostState> = {}): JobInput["hosts"] =>
  new Map([["h1", hostState("h1", w ? { windows: [w], closed: true, ...over } : over)], ["h2", hostState("h2")]]);
const onH1 = (n: number): Pick<JobInput, "tasks" | "attempts"> => ({ tasks: Array.from({ length: n }, (_, i) => task(i)), attempts: Array.from({ length: n }, (_, i) => attempt(`a${i}`, i)) });

void test("moveWindow: a move job's tasks leave from the start less its lead; the lead sized by its budget when the window gives none", async (t) => {
  const ctx = (now: number, n = 3, budget = 1) => ({ tasks: onH1(n).tasks, hosts: hosts(win({ leadMs: null })), budget, now });
  const cases: { name: string; got: MaintenanceWindow | null; want: boolean }[] = [
    { name: "window lead 10 s: not at start - 10.001 s", got: moveWindow(hostState("h1", { windows: [win()] }), { maintenance: "move" }, { tasks: [], hosts: new Map(), budget: 1, now: 89_999 }), want: false },
    { name: "window lead 10 s: due at start - 10 s", got: moveWindow(hostState("h1", { windows: [win()] }), { maintenance: "move" }, { tasks: [], hosts: new Map(), budget: 1, now: 90_000 }), want: true },
    { name: "3 tasks, budget 1, no lead given: 3 steps of a minute before", got: moveWindow(hosts(win({ leadMs: null })).get("h1"), { maintenance: "move" }, ctx(100_000 - 180_000)), want: true },
    { name: "3 tasks, budget 1: not 3 min + 1 ms before", got: moveWindow(hosts(win({ leadMs: null })).get("h1"), { maintenance: "move" }, ctx(100_000 - 180_001)), want: false },
    { name: "3 tasks, budget 3: one step (a minute) before", got: moveWindow(hosts(win({ leadMs: null })).get("h1"), { maintenance: "move" }, ctx(100_000 - 60_001, 3, 3)), want: false },
    { name: "an endure job never moves", got: moveWindow(hostState("h1", { windows: [win()] }), { maintenance: "endure" }, { tasks: [], hosts: new Map(), budget: 1, now: 95_000 }), want: false },
    { name: "after the end: no", got: moveWindow(hostState("h1", { windows: [win()] }), { maintenance: "move" }, { tasks: [], hosts: new Map(), budget: 1, now: 150_000 }), want: false },
  ];
  for (const c of cases) await t.test(c.name, () => assert.equal(c.got !== null, c.want));
  assert.equal(endureWindow(hostState("h1", { windows: [win()] }), { maintenance: "endure" }, 99_999), null, "endure: not before the start");
  assert.equal(endureWindow(hostState("h1", { windows: [win()] }), { maintenance: "endure" }, 100_000)?.id, "w1", "endure: from the start");
  assert.equal(endureWindow(hostState("h1", { windows: [win()] }), { maintenance: "endure" }, 150_000), null, "endure: not from the end");
});

void test("maintenance: move jobs leave within their budget before the window; at its start what is left stops", async (t) => {
  const budget2 = specOf({ replicas: 4, rollout: { phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 2, maxSurge: 0, onFailure: "rollback" } });
  await t.test("in the lead: two of four move (budget 2), make-before-break", () => {
    const inp = input({ spec: budget2, hosts: hosts(win()), now: 95_000, ...onH1(4) });
    assert.deepEqual(placementNeeds(inp).map((n) => [n.index, n.move]), [[0, true], [1, true]]);
    assert.deepEqual(decideJob(inp).putAttempts, [], "nothing stopped before the start");
  });
  await t.test("before the lead: nothing", () => assert.deepEqual(placementNeeds(input({ spec: budget2, hosts: hosts(win()), now: 89_000, ...onH1(4) })), []));
  await t.test("at the start: the tasks still there stop", () => {
    const d = decideJob(input({ spec: budget2, hosts: hosts(win()), now: 100_000, ...onH1(4) }));
    assert.deepEqual(d.putAttempts.filter((a) => a.desired === "stop").map((a) => a.id), ["a0", "a1", "a2", "a3"]);
  });
  await t.test("endure jobs are not moved", () => assert.deepEqual(placementNeeds(input({ spec: specOf({ replicas: 4, maintenance: "endure" }), hosts: hosts(win()), now: 95_000, ...onH1(4) })), []));
});

void test("maintenance: endure jobs stop at the start, keep their place (host down too), start again on the same host at the end", async (t) => {
  const spec = specOf({ maintenance: "endure" });
  await t.test("before the start: untouched", () => assert.deepEqual(decideJob(input({ spec, hosts: hosts(win()), now: 99_000, ...onH1(1) })).putAttempts, []));
  await t.test("at the start: stopped gracefully", () => {
    const d = decideJob(input({ spec, hosts: hosts(win()), now: 100_000, ...onH1(1) }));
    assert.deepEqual(d.putAttempts.map((a) => [a.id, a.desired]), [["a0", "stop"]]);
    assert.deepEqual(d.putTasks, [], "the task keeps its host");
  });
  const ended = { tasks: [task(0)], attempts: [attempt("a0", 0, { desired: "stop", state: "exited", endedAt: 100_500 })] };
  await t.test("stopped, during the window: no new attempt, no move", () => {
    const d = decideJob(input({ spec, hosts: hosts(win()), now: 120_000, ...ended }));
    assert.deepEqual([d.putTasks, d.putAttempts.filter((a) => a.desired === "run")], [[], []]);
    assert.deepEqual(placementNeeds(input({ spec, hosts: hosts(win()), now: 120_000, ...ended })), []);
  });
  await t.test("the host down for the work: still kept in place", () => {
    const d = decideJob(input({ spec, hosts: hosts(win(), { status: "down" }), now: 120_000, ...ended }));
    assert.deepEqual(d.putTasks, []);
  });
  await t.test("after the end: a new attempt on the same host", () => {
    const d = decideJob(input({ spec, hosts: hosts(null), now: 150_000, ...ended }));
    const fresh = d.putAttempts.find((a) => a.desired === "run");
    assert.equal(fresh?.hostId, "h1");
    assert.equal(d.putTasks[0]?.hostId, "h1");
    assert.equal(d.putTasks[0]?.failures, 0, "not a failure");
  });
  await t.test("a move job on a down host in a window is re-placed as usual", () => {
    const d = decideJob(input({ spec: specOf(), hosts: hosts(win(), { status: "down" }), now: 120_000, tasks: [task(0)], attempts: [attempt("a0", 0, { desired: "stop", state: "exited", endedAt: 100_500 })] }));
    assert.equal(d.putTasks[0]?.hostId, null);
  });
});

void test("maintenance overrun: endure tasks wait for a host not back after the window's end, up to the job's limit, then go elsewhere", async (t) => {
  const ended = { tasks: [task(0)], attempts: [attempt("a0", 0, { desired: "stop", state: "exited", endedAt: 100_500 })] };
  const down = (over: Partial<HostState> = {}): JobInput["hosts"] => new Map([["h1", hostState("h1", { status: "down", overrun: [win()], ...over })], ["h2", hostState("h2")]]);
  const limit1m = specOf({ maintenance: "endure", maintenanceOverrunMs: 60_000 });
  const cases: { name: string; spec: ReturnType<typeof specOf>; hosts: JobInput["hosts"]; now: number; kept: boolean }[] = [
    { name: "host down after the end, within the job's 1 min: kept in place", spec: limit1m, hosts: down(), now: 150_000 + 59_999, kept: true },
    { name: "host down after the end, past the job's limit: placed elsewhere", spec: limit1m, hosts: down(), now: 150_000 + 60_000, kept: false },
    { name: "no limit set: the default 15 min holds", spec: specOf({ maintenance: "endure" }), hosts: down(), now: 150_000 + 14 * 60_000, kept: true },
    { name: "no limit set: past 15 min, elsewhere", spec: specOf({ maintenance: "endure" }), hosts: down(), now: 150_000 + 15 * 60_000, kept: false },
    { name: "a limit of 0: elsewhere at the end", spec: specOf({ maintenance: "endure", maintenanceOverrunMs: 0 }), hosts: down(), now: 150_000, kept: false },
    { name: "a move job is not held by an overrun", spec: specOf({ maintenanceOverrunMs: 60_000 }), hosts: down(), now: 150_001, kept: false },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const d = decideJob(input({ spec: c.spec, hosts: c.hosts, now: c.now, ...ended }));
      assert.equal(d.putTasks.length === 0, c.kept, JSON.stringify(d.putTasks));
      if (!c.kept) assert.equal(d.putTasks[0]?.hostId, null, "unplaced, so placed elsewhere");
    });
  }
  await t.test("endureWindow names the overrun window while it holds", () => {
    assert.equal(endureWindow(down().get("h1"), limit1m, 170_000)?.id, "w1");
    assert.equal(endureWindow(down().get("h1"), limit1m, 210_000), null);
  });
});

void test("maintenance: the endure stop at a window's start asks the job's application (cause maintenance); not yet holds it until the approval deadline, then onTimeout", async (t) => {
  const disruption = (onTimeout: "wait" | "allow") => ({ approve: "http://127.0.0.1:1/approve", timeoutMs: 2000, onTimeout });
  const answer = (ok: boolean, cause = "maintenance"): ReadonlyMap<number, Approval> => new Map([[0, { ok, reason: ok ? "approved" : "index rebuilding", at: 99_000, cause, answered: true }]]);
  const cases: { name: string; spec: JobSpec; now: number; approvals?: ReadonlyMap<number, Approval>; state?: Attempt["state"]; stops: boolean; held: boolean }[] = [
    { name: "no approval policy: stopped at the start", spec: specOf({ maintenance: "endure" }), now: 100_000, stops: true, held: false },
    { name: "policy, nothing answered yet: held at the start", spec: specOf({ maintenance: "endure", disruption: disruption("wait") }), now: 100_000, stops: false, held: true },
    { name: "policy, not yet: held", spec: specOf({ maintenance: "endure", disruption: disruption("allow") }), now: 101_000, approvals: answer(false), stops: false, held: true },
    { name: "policy, yes to maintenance: stopped", spec: specOf({ maintenance: "endure", disruption: disruption("wait") }), now: 100_000, approvals: answer(true), stops: true, held: false },
    { name: "a yes for a drain is no yes for the window: held", spec: specOf({ maintenance: "endure", disruption: disruption("wait") }), now: 100_000, approvals: answer(true, "drain"), stops: false, held: true },
    { name: "still not yet at the approval deadline (start + timeout), onTimeout allow: stopped", spec: specOf({ maintenance: "endure", disruption: disruption("allow") }), now: 102_000, approvals: answer(false), stops: true, held: false },
    { name: "still not yet past the deadline, onTimeout wait: still held (asked again)", spec: specOf({ maintenance: "endure", disruption: disruption("wait") }), now: 140_000, approvals: answer(false), stops: false, held: true },
    { name: "a task that does not serve is stopped without asking", spec: specOf({ maintenance: "endure", disruption: disruption("wait") }), now: 100_000, state: "starting", stops: true, held: false },
    { name: "before the start: neither stopped nor held", spec: specOf({ maintenance: "endure", disruption: disruption("wait") }), now: 99_000, stops: false, held: false },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      const inp = input({ spec: c.spec, hosts: hosts(win()), now: c.now, tasks: [task(0)], attempts: [attempt("a0", 0, { state: c.state ?? "running" })], ...(c.approvals ? { approvals: c.approvals } : {}) });
      const d = decideJob(inp);
      assert.equal(d.putAttempts.some((a) => a.id === "a0" && a.desired === "stop"), c.stops);
      assert.deepEqual(d.held ?? [], c.held ? [{ index: 0, cause: "maintenance" }] : []);
      assert.deepEqual(d.putTasks.filter((x) => x.hostId !== "h1"), [], "never moved");
      // The window's report says why the stop waits (and nothing when it does not).
      const b = endureBlock(inp, "h1");
      assert.equal(b?.reason ?? null, c.held && c.now >= 100_000 ? "approval" : null);
      if (b) assert.match(b.detail, c.approvals?.get(0)?.cause === "maintenance" ? /^task 0: the application says not yet: "index rebuilding" \(its answer since [\d:]+ UTC, asked every 1s\); the endure stop/ : /^task 0: asking http:\/\/127.0.0.1:1\/approve, no answer yet; the endure stop/);
    });
  }
  await t.test("the deadline is the window's start plus the job's approval timeout", () => assert.equal(endureApprovalDeadline(win(), disruption("allow")), 102_000));
  await t.test("asked ahead of the start (so a prompt yes stops it at the start), not earlier", () => {
    const spec = specOf({ maintenance: "endure", disruption: disruption("wait") });
    const at = (now: number) => endureAsks(input({ spec, hosts: hosts(win()), now, tasks: [task(0)], attempts: [attempt("a0", 0)] })).map((a) => [a.index, a.window.id]);
    assert.deepEqual(at(100_000 - EndureAskAheadMs - 1), []);
    assert.deepEqual(at(100_000 - EndureAskAheadMs), [[0, "w1"]]);
    assert.deepEqual(at(100_000), [[0, "w1"]]);
    assert.deepEqual(at(150_000), [], "not after the end");
    assert.deepEqual(endureAsks(input({ spec: specOf({ maintenance: "endure" }), hosts: hosts(win()), now: 100_000, tasks: [task(0)], attempts: [attempt("a0", 0)] })), [], "no policy: nothing to ask");
  });
});
