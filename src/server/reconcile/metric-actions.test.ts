// Fired metric checks against the disruption budget: named cases, and the reconciler's whole answer
// (stop, then a restart or a move counted as a failure) over several passes.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Attempt, MetricAction } from "../../model/index.ts";
import { metricActions } from "./metric-actions.ts";
import { decideJob } from "./decide.ts";
import { attempt, input, specOf, task } from "../testing/fixtures.ts";
import type { JobDecision, JobInput } from "./types.ts";

const fired = (firedAt: number, over: Partial<MetricAction> = {}): MetricAction => ({
  check: 0, condition: "errors above 5 for 30s", value: 12, since: firedAt - 30_000, firedAt, action: "restart", state: "waiting", held: null, actedAt: null, ...over,
});
const slot = (index: number, over: Partial<Attempt> = {}, ready = true) => ({ index, ready, attempt: attempt(`a${index}`, index, over) });

void test("metricActions: named cases", () => {
  const cases: { name: string; slots: ReturnType<typeof slot>[]; replicas: number; alsoDown?: number; budget?: number; acted: string[]; held: string[] }[] = [
    { name: "nothing fired", slots: [slot(0), slot(1)], replicas: 2, acted: [], held: [] },
    { name: "one fired, budget free: acted", slots: [slot(0, { metricAction: fired(10) }), slot(1)], replicas: 2, acted: ["a0"], held: [] },
    { name: "4 fired, budget 1: the first to fire acts, 3 held", slots: [slot(0, { metricAction: fired(40) }), slot(1, { metricAction: fired(10) }), slot(2, { metricAction: fired(30) }), slot(3, { metricAction: fired(20) })], replicas: 4, acted: ["a1"], held: ["a0", "a2", "a3"] },
    { name: "budget in use by a task that does not serve: all held", slots: [slot(0, { metricAction: fired(10) }), slot(1, {}, false), slot(2), slot(3)], replicas: 4, acted: [], held: ["a0"] },
    { name: "a missing task counts as down", slots: [slot(0, { metricAction: fired(10) }), slot(1), slot(2)], replicas: 4, acted: [], held: ["a0"] },
    { name: "a fired task that does not serve costs nothing: acted even with the budget used", slots: [slot(0, { metricAction: fired(10) }, false), slot(1, { metricAction: fired(5) }), slot(2), slot(3)], replicas: 4, acted: ["a0"], held: ["a1"] },
    { name: "tasks a rollout stops in this pass share the budget", slots: [slot(0, { metricAction: fired(10) }), slot(1), slot(2), slot(3)], replicas: 4, alsoDown: 1, acted: [], held: ["a0"] },
    { name: "8 replicas: the default budget (10%, at least 1) is 1", slots: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => slot(i, i < 3 ? { metricAction: fired(i) } : {})), replicas: 8, acted: ["a0"], held: ["a1", "a2"] },
    { name: "8 replicas with the job's budget of 2 (rollout.maxUnavailable)", budget: 2, slots: [0, 1, 2, 3, 4, 5, 6, 7].map((i) => slot(i, { metricAction: fired(i) })), replicas: 8, acted: ["a0", "a1"], held: ["a2", "a3", "a4", "a5", "a6", "a7"] },
    { name: "already acting: left alone", slots: [slot(0, { desired: "stop", metricAction: fired(10, { state: "acting", actedAt: 11 }) }), slot(1)], replicas: 2, acted: [], held: [] },
    { name: "held with the same figures: no write", slots: [slot(0, { metricAction: fired(10, { held: { at: 5, budget: 1, down: 1 } }) }), slot(1, {}, false)], replicas: 2, acted: [], held: [] },
  ];
  for (const c of cases) {
    const out = metricActions(c.slots, c.replicas, c.alsoDown ?? 0, 1000, c.budget);
    assert.deepEqual(out.filter((a) => a.metricAction?.state === "acting").map((a) => a.id).sort(), c.acted, `${c.name}: acted`);
    assert.deepEqual(out.filter((a) => a.metricAction?.state === "waiting").map((a) => a.id).sort(), c.held, `${c.name}: held`);
    for (const a of out) {
      if (a.metricAction?.state === "acting") assert.equal(a.desired, "stop", c.name);
      else assert.ok(a.desired === "run" && a.metricAction?.held !== null, c.name);
    }
  }
});

function applied(inp: JobInput, d: JobDecision): JobInput {
  const atts = new Map(inp.attempts.map((a) => [a.id, a]));
  for (const a of d.putAttempts) atts.set(a.id, a);
  for (const id of d.deleteAttempts) atts.delete(id);
  const tasks = new Map(inp.tasks.map((t) => [t.index, t]));
  for (const t of d.putTasks) tasks.set(t.index, t);
  return { ...inp, tasks: [...tasks.values()], attempts: [...atts.values()] };
}

void test("decideJob: a stopped-for-a-metric attempt is a failure, restarted after back-off where it is, or moved with action move", () => {
  for (const action of ["restart", "move"] as const) {
    const spec = specOf({ replicas: 1 });
    let inp = input({ spec, tasks: [task(0)], attempts: [attempt("a0", 0, { metricAction: fired(99_000, { action }) })] });
    const d1 = decideJob(inp);
    assert.equal(d1.putAttempts[0]?.desired, "stop", `${action}: stopped at once (budget free)`);
    inp = applied(inp, d1);
    // The agent reports the stop; the server's merge (metricStopEnd) makes it a metric failure.
    inp = { ...inp, attempts: inp.attempts.map((a) => ({ ...a, state: "failed", endCause: "metric", endedAt: 100_000 })) };
    const d2 = decideJob(inp);
    const t = d2.putTasks[0];
    assert.equal(t?.failures, 1, `${action}: counted as a failure`);
    if (action === "restart") {
      assert.equal(t?.hostId, "h1");
      const next = d2.putAttempts.find((a) => a.id === t?.attemptId);
      assert.equal(next?.startAfter, 100_000 + 1000, "after the back-off");
    } else {
      assert.equal(t?.hostId, null, "unplaced, to be placed elsewhere");
      assert.deepEqual(t?.avoidHosts, ["h1"]);
    }
  }
});

void test("decideJob: 4 tasks all fired with budget 1 are stopped one at a time, the next once the last one serves again", () => {
  const spec = specOf({ replicas: 4 });
  let inp = input({ spec, tasks: [0, 1, 2, 3].map((i) => task(i)), attempts: [0, 1, 2, 3].map((i) => attempt(`a${i}`, i, { metricAction: fired(99_000 + i) })) });
  const stoppedAt: string[] = [];
  for (let pass = 0; pass < 12; pass++) {
    const d = decideJob(inp);
    inp = applied(inp, d);
    const stopping = inp.attempts.filter((a) => a.desired === "stop" && (a.state === "running" || a.state === "pending"));
    assert.ok(stopping.length <= 1, `pass ${pass}: at most one stopped at a time, got ${stopping.map((a) => a.id).join(",")}`);
    for (const a of stopping) if (!stoppedAt.includes(a.id)) stoppedAt.push(a.id);
    // The agent: stopped attempts end (metric), new ones start and run.
    inp = { ...inp, attempts: inp.attempts.map((a) => (a.desired === "stop" && a.state === "running" ? { ...a, state: "failed", endCause: "metric", endedAt: inp.now } : a.state === "pending" ? { ...a, state: "running", startedAt: inp.now } : a)) };
    const held = inp.attempts.filter((a) => a.metricAction?.state === "waiting");
    if (held.length > 0) assert.ok(held.every((a) => a.metricAction?.held !== null), "every fired one not acted on says it is held");
  }
  assert.deepEqual(stoppedAt, ["a0", "a1", "a2", "a3"], "in the order they fired");
});
