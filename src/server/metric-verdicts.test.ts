// An agent's check verdicts into the attempt's metricAction, and the typed end of an attempt stopped
// for one: named cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Attempt, MetricCheckVerdict } from "../model/index.ts";
import { metricStopEnd, withMetricVerdicts } from "./metric-verdicts.ts";
import { attempt, specOf } from "./testing/fixtures.ts";

const spec = specOf({
  metricChecks: [
    { signal: "errors", when: "above", threshold: 5, forMs: 30_000, graceMs: 0, action: "restart" },
    { signal: "clients", when: "below", threshold: 1, forMs: 300_000, graceMs: 0, action: "move" },
  ],
});
const v = (check: number, state: MetricCheckVerdict["state"], value: number | null = 12): MetricCheckVerdict => ({ check, state, value, since: 1000, at: 31_000 });

void test("withMetricVerdicts: named cases", () => {
  const waiting = withMetricVerdicts(attempt("a", 0), spec, [v(0, "firing")])!;
  const cases: [string, Attempt, MetricCheckVerdict[], (a: Attempt | null) => void][] = [
    ["ok and pending change nothing", attempt("a", 0), [v(0, "ok"), v(1, "pending")], (a) => assert.equal(a, null)],
    ["unknown (no readings) changes nothing", attempt("a", 0), [v(0, "unknown", null)], (a) => assert.equal(a, null)],
    ["firing starts a waiting action naming the check, value and time", attempt("a", 0), [v(1, "firing", 0)], (a) => {
      assert.deepEqual(a?.metricAction, { check: 1, condition: "clients below 1 for 5m", value: 0, since: 1000, firedAt: 31_000, action: "move", state: "waiting", held: null, actedAt: null });
    }],
    ["still firing: no new write", waiting, [v(0, "firing", 40)], (a) => assert.equal(a, null)],
    ["stopped firing while waiting: the action is dropped", waiting, [v(0, "ok", 1)], (a) => assert.equal(a !== null && "metricAction" in a, false)],
    ["acting: left alone whatever the agent says", { ...waiting, metricAction: { ...waiting.metricAction!, state: "acting" } }, [v(0, "ok")], (a) => assert.equal(a, null)],
    ["an attempt the server stops anyway: nothing", attempt("a", 0, { desired: "stop" }), [v(0, "firing")], (a) => assert.equal(a, null)],
    ["an ended attempt: nothing", attempt("a", 0, { state: "exited" }), [v(0, "firing")], (a) => assert.equal(a, null)],
    ["a check index the spec does not have: nothing", attempt("a", 0), [v(5, "firing")], (a) => assert.equal(a, null)],
  ];
  for (const [name, a, verdicts, check] of cases) {
    try {
      check(withMetricVerdicts(a, spec, verdicts));
    } catch (err) {
      assert.fail(`${name}: ${String(err)}`);
    }
  }
});

void test("metricStopEnd: a stop for a metric check ends failed with endCause metric and a reason that names it", () => {
  const acting = withMetricVerdicts(attempt("a", 0), spec, [v(0, "firing", 12.345)])!;
  const m = { ...acting.metricAction!, state: "acting" as const, actedAt: 32_000 };
  const stopped = metricStopEnd({ ...acting, desired: "stop", metricAction: m, state: "stopped", endCause: "stop", reason: "stopped: by the server" });
  assert.equal(stopped.state, "failed");
  assert.equal(stopped.endCause, "metric");
  assert.match(stopped.reason ?? "", /^metric check failed: errors above 5 for 30s \(health check 0: 12\.3 at 1970-01-01T00:00:31\.000Z\); restart$/);
  // Anything else is left as reported: an exit of its own, or a stop without a metric action.
  const exited = { ...acting, metricAction: m, state: "exited" as const, endCause: "exit" as const };
  assert.equal(metricStopEnd(exited), exited);
  const plain = attempt("b", 0, { state: "stopped", endCause: "stop" });
  assert.equal(metricStopEnd(plain), plain);
});
