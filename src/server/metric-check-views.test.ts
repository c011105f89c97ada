// Each task's metric checks as `GET /v1/jobs/:name/metrics` (and so `tiffin top`) shows them.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MetricAction, MetricCheckVerdict, MetricHealthCheck } from "../model/index.ts";
import { metricCheckViews } from "./metric-check-views.ts";

const errors5: MetricHealthCheck = { signal: "errors", when: "above", threshold: 5, forMs: 30_000, graceMs: 0, action: "restart" };
const clients0: MetricHealthCheck = { signal: "clients", when: "below", threshold: 1, forMs: 300_000, graceMs: 0, action: "move" };
const v = (check: number, state: MetricCheckVerdict["state"], value: number | null = null, since: number | null = null, at: number | null = null): MetricCheckVerdict => ({ check, state, value, since, at });
const action = (over: Partial<MetricAction>): MetricAction => ({ check: 0, condition: "errors above 5 for 30s", value: 9, since: 1000, firedAt: 31_000, action: "restart", state: "waiting", held: null, actedAt: null, ...over });

void test("metricCheckViews: named cases", () => {
  const cases: [string, MetricCheckVerdict[] | undefined, MetricAction | undefined, Partial<ReturnType<typeof metricCheckViews>[number]>[]][] = [
    ["no summary yet: every check unknown", undefined, undefined, [{ state: "unknown", taken: null }, { state: "unknown", taken: null }]],
    ["ok and failing since", [v(0, "ok", 1, null, 5000), v(1, "pending", 0, 2000, 5000)], undefined, [{ state: "ok", value: 1 }, { state: "pending", since: 2000, value: 0 }]],
    ["fired, waiting for the budget's room", [v(0, "firing", 9, 1000, 31_000), v(1, "ok", 3)], action({}), [{ state: "firing", taken: "waiting", value: 9, at: 31_000 }, { state: "ok", taken: null }]],
    ["fired and held by the budget: since when", [v(0, "firing", 9, 1000, 31_000)], action({ held: { at: 32_000, budget: 1, down: 1 } }), [{ state: "firing", taken: "held", heldSince: 32_000 }, { state: "unknown" }]],
    ["acted on (the server stops it)", [v(0, "firing", 9, 1000, 31_000)], action({ state: "acting", actedAt: 33_000 }), [{ state: "firing", taken: "acting" }, { state: "unknown" }]],
    ["the action names check 1: check 0 has none", [v(0, "ok"), v(1, "firing", 0, 0, 300_000)], action({ check: 1, condition: "clients below 1 for 5m", action: "move" }), [{ taken: null }, { taken: "waiting", action: "move" }]],
  ];
  for (const [name, verdicts, act, want] of cases) {
    const got = metricCheckViews([errors5, clients0], verdicts, act);
    assert.equal(got.length, 2, name);
    want.forEach((w, i) => assert.deepEqual({ ...got[i], ...w }, got[i], `${name}: check ${i}`));
  }
  const [first] = metricCheckViews([errors5], undefined, undefined);
  assert.deepEqual(first, { check: 0, condition: "errors above 5 for 30s", action: "restart", state: "unknown", value: null, since: null, at: null, taken: null, heldSince: null });
});
