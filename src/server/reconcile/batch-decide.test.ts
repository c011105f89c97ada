import { test } from "node:test";
import assert from "node:assert/strict";
import { newRun } from "../../model/index.ts";
import type { Attempt, BatchPolicy, Run, Task } from "../../model/index.ts";
import { decideBatch, runOutcome } from "./batch-decide.ts";
import type { BatchDecision, BatchJobInput } from "./batch-decide.ts";
import { attempt, hostState, input, specOf } from "../testing/fixtures.ts";

const policy = (over: Partial<BatchPolicy> = {}): BatchPolicy => ({
  completions: 4, parallelism: 2, items: null, retries: { limit: 1, backoffInitialMs: 500, backoffMaxMs: 2000 },
  deadlineMs: null, successCount: null, failedItems: "finish", keepRuns: 2, ...over,
});

function batchInput(p: BatchPolicy, runs: Run[], over: Partial<BatchJobInput> = {}): BatchJobInput {
  const spec = specOf({ replicas: 0, batch: p });
  return { ...input({ spec }), runs, ...over };
}

/** The input after a decision's writes, with the placement phase's part: every new task placed on
 * h1 with a pending attempt `p<index>`. */
function applied(inp: BatchJobInput, d: BatchDecision): BatchJobInput {
  const tasks = new Map(inp.tasks.map((t) => [t.index, t]));
  const atts = new Map(inp.attempts.map((a) => [a.id, a]));
  for (const i of d.deleteTasks) tasks.delete(i);
  for (const t of d.putTasks) {
    const id = `p${t.index}-${atts.size}`;
    tasks.set(t.index, { ...t, hostId: "h1", attemptId: id });
    atts.set(id, attempt(id, t.index, { state: "pending", ...(t.batch ? { batch: t.batch } : {}) }));
  }
  for (const a of d.putAttempts) atts.set(a.id, a);
  for (const id of d.deleteAttempts) atts.delete(id);
  const runs = new Map(inp.runs.map((r) => [r.id, r]));
  for (const r of d.putRuns) runs.set(r.id, r);
  for (const id of d.deleteRuns) runs.delete(id);
  return { ...inp, tasks: [...tasks.values()], attempts: [...atts.values()], runs: [...runs.values()] };
}

/** The agent's part: the attempt of item `index` ended with `code` (0: done). */
function ended(inp: BatchJobInput, index: number, code: number): BatchJobInput {
  const t = inp.tasks.find((x) => x.index === index);
  assert.ok(t?.attemptId, `item ${index} has a task with an attempt`);
  return { ...inp, attempts: inp.attempts.map((a) => (a.id === t.attemptId ? { ...a, state: "exited", exitCode: code, startedAt: 1, endedAt: inp.now } : a)) };
}

/** Freezes the runs read (they are the mirror's objects: a decision copies what it changes). */
function frozen<T>(v: T): T {
  if (typeof v === "object" && v !== null && !Object.isFrozen(v)) {
    for (const x of Object.values(v)) frozen(x);
    Object.freeze(v);
  }
  return v;
}
const step = (inp: BatchJobInput): BatchJobInput => applied(inp, decideBatch({ ...inp, runs: frozen(inp.runs) }));
const runOf = (inp: BatchJobInput, id = "r1"): Run => {
  const r = inp.runs.find((x) => x.id === id);
  assert.ok(r);
  return r;
};
const running = (inp: BatchJobInput): number[] => inp.tasks.map((t: Task) => t.index).sort((a, b) => a - b);
const settled = (inp: BatchJobInput): void => assert.deepEqual(decideBatch(inp), { putRuns: [], deleteRuns: [], putTasks: [], deleteTasks: [], putAttempts: [], deleteAttempts: [] }, "deciding again does nothing more");

void test("a queued run starts its first items, parallelism at a time, each task naming its run and item", () => {
  const p = policy({ items: ["a", "b", "c", "d"] });
  const inp = step(batchInput(p, [newRun({ job: "web", id: "r1", version: 1, policy: p, cause: "manual", now: 0, params: { env: "prod" } })]));
  assert.equal(runOf(inp).state, "running");
  assert.equal(runOf(inp).startedAt, 100_000);
  assert.deepEqual(running(inp), [0, 1]);
  assert.deepEqual(inp.tasks[1]?.batch, { run: "r1", item: 1, value: "b", params: { env: "prod" } });
  assert.deepEqual(runOf(inp).items.map((i) => i.state), ["running", "running", "pending", "pending"]);
  settled(inp);
});

void test("items: done on exit 0 (task freed, next item started), retried after the back-off, failed once retries are spent", () => {
  const p = policy();
  let inp = step(batchInput(p, [newRun({ job: "web", id: "r1", version: 1, policy: p, cause: "manual", now: 0 })]));
  inp = step(ended(ended(inp, 0, 0), 1, 3));
  let r = runOf(inp);
  assert.deepEqual(r.items.map((i) => i.state), ["succeeded", "pending", "running", "running"], "item 1 waits for its back-off; 2 and 3 take the free places");
  assert.deepEqual(r.items[0]?.attempts.map((a) => [a.exitCode, a.state]), [[0, "exited"]]);
  assert.equal(r.items[1]?.failures, 1);
  assert.equal(r.items[1]?.notBefore, 100_500);
  assert.deepEqual(running(inp), [2, 3]);
  settled(inp);
  // Past the back-off, with a place free: item 1 again; it fails a second time (limit 1): failed for good.
  inp = step({ ...ended(inp, 2, 0), now: 100_600 });
  assert.deepEqual(running(inp), [1, 3]);
  inp = step({ ...ended(ended(inp, 1, 7), 3, 0), now: 100_700 });
  r = runOf(inp);
  assert.deepEqual(r.items.map((i) => i.state), ["succeeded", "failed", "succeeded", "succeeded"]);
  assert.deepEqual(r.items[1]?.attempts.map((a) => a.exitCode), [3, 7], "each attempt's exit code is kept");
  assert.equal(r.state, "failed", "success is all: one failed item fails the run once the others finished");
  assert.match(r.reason ?? "", /3 of 4 items succeeded, 4 needed; failed: 1/);
  assert.equal(r.endedAt, 100_700);
  assert.deepEqual(running(inp), [], "every task freed");
  settled(inp);
});

void test("failedItems stop: the first item failed for good ends the run and stops the running ones", () => {
  const p = policy({ failedItems: "stop", retries: { limit: 0, backoffInitialMs: 1, backoffMaxMs: 1 } });
  let inp = step(batchInput(p, [newRun({ job: "web", id: "r1", version: 1, policy: p, cause: "manual", now: 0 })]));
  inp = step(ended(inp, 0, 1));
  assert.equal(runOf(inp).state, "failed");
  assert.match(runOf(inp).reason ?? "", /item 0 failed after 1 attempts \(failedItems: stop\)/);
  assert.deepEqual(runOf(inp).items.map((i) => i.state), ["failed", "running", "cancelled", "cancelled"]);
  assert.equal(inp.attempts.find((a) => a.index === 1)?.desired, "stop", "the running item is stopped");
  // It ends (stopped): cancelled, its task freed.
  inp = { ...inp, attempts: inp.attempts.map((a) => (a.index === 1 ? { ...a, state: "stopped" as const, endedAt: inp.now } : a)) };
  inp = step(inp);
  assert.equal(runOf(inp).items[1]?.state, "cancelled");
  assert.deepEqual(running(inp), []);
  settled(inp);
});

void test("success N of M: the run succeeds at N, the rest are cancelled", () => {
  const p = policy({ successCount: 2 });
  let inp = step(batchInput(p, [newRun({ job: "web", id: "r1", version: 1, policy: p, cause: "manual", now: 0 })]));
  inp = step(ended(ended(inp, 0, 0), 1, 0));
  assert.equal(runOf(inp).state, "succeeded");
  assert.deepEqual(runOf(inp).items.map((i) => i.state), ["succeeded", "succeeded", "cancelled", "cancelled"]);
  assert.deepEqual(running(inp), []);
  settled(inp);
});

void test("the deadline fails the run and stops its items", () => {
  const p = policy({ deadlineMs: 5000 });
  let inp = step(batchInput(p, [newRun({ job: "web", id: "r1", version: 1, policy: p, cause: "manual", now: 0 })]));
  settled({ ...inp, now: 104_999 });
  inp = step({ ...inp, now: 105_000 });
  assert.equal(runOf(inp).state, "failed");
  assert.match(runOf(inp).reason ?? "", /deadline/);
  assert.deepEqual(inp.attempts.map((a) => a.desired), ["stop", "stop"]);
});

void test("runs go one at a time, in order; finished ones beyond keepRuns go with their attempts' records", () => {
  const p = policy({ completions: 1, parallelism: 1 });
  const mk = (id: string, at: number): Run => newRun({ job: "web", id, version: 1, policy: p, cause: "manual", now: at });
  let inp = step(batchInput(p, [mk("r1", 1), mk("r2", 2), mk("r3", 3)]));
  assert.deepEqual(inp.runs.map((r) => r.state), ["running", "queued", "queued"]);
  const first = inp.tasks[0]?.attemptId;
  for (let i = 0; i < 3; i++) inp = step(step(ended(inp, 0, 0)));
  assert.deepEqual(inp.runs.map((r) => [r.id, r.state]), [["r2", "succeeded"], ["r3", "succeeded"]], "keepRuns 2: r1 is gone");
  assert.ok(!inp.attempts.some((a: Attempt) => a.id === first), "with its attempt's record");
  settled(inp);
});

void test("an attempt on a host that went down is lost: a failed attempt of its item, retried", () => {
  const p = policy({ completions: 1, parallelism: 1 });
  let inp = step(batchInput(p, [newRun({ job: "web", id: "r1", version: 1, policy: p, cause: "manual", now: 0 })]));
  inp = step({ ...inp, hosts: new Map([["h1", hostState("h1", { status: "down" })]]) });
  assert.equal(runOf(inp).items[0]?.state, "pending");
  assert.equal(runOf(inp).items[0]?.attempts[0]?.state, "lost");
});

void test("runOutcome, by table", () => {
  const it = (state: Run["items"][number]["state"]) => ({ index: 0, state, failures: 0, notBefore: 0, attempts: [] });
  const cases: { name: string; p: BatchPolicy; items: Run["items"]; now?: number; want: string | null }[] = [
    { name: "all done", p: policy({ completions: 2 }), items: [it("succeeded"), it("succeeded")], want: "succeeded" },
    { name: "one open", p: policy({ completions: 2 }), items: [it("succeeded"), it("running")], want: null },
    { name: "finish: failed, one open", p: policy({ completions: 2 }), items: [it("failed"), it("running")], want: null },
    { name: "stop: failed, one open", p: policy({ completions: 2, failedItems: "stop" }), items: [it("failed"), it("running")], want: "failed" },
    { name: "N of M reached while others run", p: policy({ completions: 3, successCount: 1 }), items: [it("succeeded"), it("running"), it("failed")], want: "succeeded" },
    { name: "N of M missed", p: policy({ completions: 2, successCount: 2 }), items: [it("succeeded"), it("failed")], want: "failed" },
    { name: "deadline", p: policy({ completions: 1, deadlineMs: 10 }), items: [it("running")], now: 10, want: "failed" },
    { name: "before the deadline", p: policy({ completions: 1, deadlineMs: 10 }), items: [it("running")], now: 9, want: null },
  ];
  for (const c of cases) assert.equal(runOutcome(c.p, c.items, 0, c.now ?? 0)?.state ?? null, c.want, c.name);
});

void test("a run keeps the version and policy it started with when a new version is applied", () => {
  const v1 = policy({ parallelism: 3, completions: 3 });
  const v2 = specOf({ replicas: 0, batch: policy({ parallelism: 1, completions: 3 }) });
  const base = batchInput(v1, [newRun({ job: "web", id: "r1", version: 1, policy: v1, cause: "manual", now: 0 })]);
  const inp: BatchJobInput = { ...base, job: { ...base.job, version: 2 }, spec: v2, specOf: (v) => (v === 1 ? specOf({ replicas: 0, batch: v1 }) : null) };
  const d = decideBatch(inp);
  assert.deepEqual(d.putTasks.map((t) => [t.index, t.version]), [[0, 1], [1, 1], [2, 1]], "three at a time, at version 1");
});

void test("a run waiting for upstream runs (a workflow): waits, starts once they succeeded, is cancelled when one did not", () => {
  const p = policy({ completions: 1, parallelism: 1 });
  const mk = (id: string, at: number, after?: string[]): Run => newRun({ job: "web", id, version: 1, policy: p, cause: "manual", now: at, ...(after ? { after } : {}) });
  const upstream = new Map<string, Run["state"]>([["extract/e1", "running"], ["extract/e2", "failed"]]);
  const lookup = (job: string, id: string): { state: Run["state"]; reason: string | null } | null => {
    const s = upstream.get(`${job}/${id}`);
    return s ? { state: s, reason: s === "failed" ? "item 0 failed" : null } : null;
  };
  let inp = step(batchInput(p, [mk("r1", 1, ["extract/e1"]), mk("r2", 2)], { upstream: lookup }));
  assert.deepEqual(inp.runs.map((r) => [r.id, r.state, r.reason]), [["r1", "queued", "waiting for upstream run extract/e1 (running)"], ["r2", "queued", null]], "r1 waits, r2 waits behind it");
  assert.deepEqual(inp.tasks, []);
  assert.deepEqual(decideBatch({ ...inp, runs: frozen(inp.runs) }).putRuns, [], "waiting again writes nothing");
  upstream.set("extract/e1", "succeeded");
  inp = step(inp);
  assert.deepEqual([runOf(inp).state, runOf(inp).reason, running(inp)], ["running", null, [0]], "started once its upstream run succeeded");

  // An upstream run that failed (or is gone) cancels the waiting run with the reason; the next one goes.
  inp = step(batchInput(p, [mk("r3", 3, ["extract/e2"]), mk("r4", 4, ["extract/gone"]), mk("r5", 5)], { upstream: lookup }));
  assert.deepEqual(inp.runs.map((r) => [r.id, r.state, r.reason]), [
    ["r3", "cancelled", "upstream run extract/e2 failed: item 0 failed"],
    ["r4", "cancelled", "upstream run extract/gone is gone (deleted by its job's batch.keep, or the job was removed)"],
    ["r5", "running", null],
  ]);
  assert.deepEqual(runOf(inp, "r3").items.map((i) => i.state), ["cancelled"]);
});
