// The application's approval gates a rollout's replacements, a rolling restart and metric actions as
// it gates drains (approval-gate.ts through decideJob): held tasks keep running and are listed in
// `held` (what the ApprovalAsker asks about); an approved one goes; jobs without `disruption` and
// tasks that do not serve are never held.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobSpec, MetricAction } from "../../model/index.ts";
import { attempt, input, specOf, task } from "../testing/fixtures.ts";
import { decideJob } from "./decide.ts";
import { startRollout } from "./rollout-start.ts";
import type { Approval, JobInput } from "./types.ts";

const disruption = { approve: "http://127.0.0.1:1/approve", timeoutMs: 1000, onTimeout: "wait" as const };
const yes = (cause: string, ...indexes: number[]): ReadonlyMap<number, Approval> => new Map(indexes.map((i) => [i, { ok: true, reason: "approved", at: 0, cause }]));
const no = (...indexes: number[]): ReadonlyMap<number, Approval> => new Map(indexes.map((i) => [i, { ok: false, reason: "index rebuilding", at: 0 }]));

function rolloutInput(over: Partial<JobSpec>, approvals?: ReadonlyMap<number, Approval>, ready = true): JobInput {
  const spec = specOf({ replicas: 2, env: { V: "2" }, rollout: { phases: ["all"], bakeMs: 0, deadlineMs: 60_000, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback" }, ...over });
  const rollout = startRollout({ job: "web", version: 2, from: 1, cause: "apply", spec, tasks: [0, 1].map((index) => ({ index, domain: null })), now: 0 });
  const state = ready ? "running" : "starting";
  return input({ job: { name: "web", version: 2, removedAt: null, updatedAt: 0 }, spec, specs: { 1: specOf({ replicas: 2 }) }, tasks: [task(0), task(1)], attempts: [attempt("a0", 0, { state }), attempt("a1", 1, { state })], rollout, ...(approvals ? { approvals } : {}) });
}
const stopped = (inp: JobInput): string[] => decideJob(inp).putAttempts.filter((a) => a.desired === "stop").map((a) => a.id);

void test("approval gate: a rollout's phase", async (t) => {
  const cases: { name: string; inp: JobInput; stops: string[]; held: { index: number; cause: string }[] }[] = [
    { name: "no disruption policy: the rollout stops task 0 (budget 1)", inp: rolloutInput({}), stops: ["a0"], held: [] },
    { name: "policy, nothing asked yet: held, task 0 keeps running", inp: rolloutInput({ disruption }), stops: [], held: [{ index: 0, cause: "rollout" }] },
    { name: "policy, the application says not yet: held", inp: rolloutInput({ disruption }, no(0, 1)), stops: [], held: [{ index: 0, cause: "rollout" }] },
    { name: "policy, task 0 approved: it goes", inp: rolloutInput({ disruption }, yes("rollout", 0)), stops: ["a0"], held: [] },
    { name: "policy, a yes for a drain is no yes for the rollout: held", inp: rolloutInput({ disruption }, yes("drain", 0)), stops: [], held: [{ index: 0, cause: "rollout" }] },
    { name: "tasks not serving are never held", inp: rolloutInput({ disruption }, undefined, false), stops: ["a0", "a1"], held: [] },
  ];
  for (const c of cases) {
    await t.test(c.name, () => {
      assert.deepEqual(stopped(c.inp), c.stops);
      assert.deepEqual(decideJob(c.inp).held ?? [], c.held);
    });
  }
});

void test("approval gate: a metric action waits for the application's yes", () => {
  const fired: MetricAction = { check: 0, condition: "errors above 5 for 30s", value: 12, since: 0, firedAt: 30_000, action: "restart", state: "waiting", held: null, actedAt: null };
  const inp = (over: Partial<JobSpec>, approvals?: ReadonlyMap<number, Approval>): JobInput =>
    input({ spec: specOf({ replicas: 2, ...over }), tasks: [task(0), task(1)], attempts: [attempt("a0", 0, { metricAction: fired }), attempt("a1", 1)], now: 40_000, ...(approvals ? { approvals } : {}) });
  assert.deepEqual(stopped(inp({})), ["a0"], "no policy: acted at once");
  assert.deepEqual(stopped(inp({ disruption })), [], "policy: held");
  assert.deepEqual(decideJob(inp({ disruption })).held, [{ index: 0, cause: "metric" }]);
  assert.deepEqual(stopped(inp({ disruption }, yes("metric", 0))), ["a0"], "approved: acted");
});
