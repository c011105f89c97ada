import { test } from "node:test";
import assert from "node:assert/strict";
import { describeCondition, evaluateCondition, histogramReadings, readingsOf, signalReadings } from "./metric-condition.ts";
import type { ConditionVerdict, MetricCondition, SignalReading } from "./metric-condition.ts";

const errorsAbove5For30s: MetricCondition = { when: "above", threshold: 5, forMs: 30_000 };

/** Readings every 10 s from t=0. */
function every10s(values: (number | null)[]): SignalReading[] {
  return values.map((value, i) => ({ at: i * 10_000, value }));
}

function kinds(c: MetricCondition, values: (number | null)[]): ConditionVerdict["kind"][] {
  const out: ConditionVerdict["kind"][] = [];
  let state = evaluateCondition(c, []).state;
  for (const r of every10s(values)) {
    const step = evaluateCondition(c, [r], state);
    state = step.state;
    out.push(step.verdict.kind);
  }
  return out;
}

void test("evaluateCondition: named cases, a reading every 10 s", () => {
  const cases: [string, MetricCondition, (number | null)[], ConditionVerdict["kind"][]][] = [
    ["steady below", errorsAbove5For30s, [0, 1, 2, 1], ["ok", "ok", "ok", "ok"]],
    ["steady above: fires once the breach has lasted 30 s", errorsAbove5For30s, [9, 9, 9, 9, 9], ["pending", "pending", "pending", "firing", "firing"]],
    ["at the threshold is not above it", errorsAbove5For30s, [5, 5, 5, 5, 5], ["ok", "ok", "ok", "ok", "ok"]],
    ["brief spike: one reading above, then calm", errorsAbove5For30s, [0, 50, 0, 0, 0, 0], ["ok", "pending", "ok", "ok", "ok", "ok"]],
    ["spike at the end of a long calm is only pending", errorsAbove5For30s, [0, 0, 0, 0, 0, 80], ["ok", "ok", "ok", "ok", "ok", "pending"]],
    ["flapping around the threshold never fires: each healthy reading starts the wait again", errorsAbove5For30s, [6, 4, 6, 4, 6, 4, 6, 4, 6], ["pending", "ok", "pending", "ok", "pending", "ok", "pending", "ok", "pending"]],
    ["flapping after firing stays firing (no clear and re-fire per dip)", errorsAbove5For30s, [9, 9, 9, 9, 4, 9, 4], ["pending", "pending", "pending", "firing", "firing", "firing", "firing"]],
    ["firing: two healthy readings in a row clear it, and the wait starts again", errorsAbove5For30s, [9, 9, 9, 9, 0, 0, 9, 9], ["pending", "pending", "pending", "firing", "firing", "ok", "pending", "pending"]],
    ["missing readings alone: no verdict, never a failure", errorsAbove5For30s, [null, null, null, null, null], ["unknown", "unknown", "unknown", "unknown", "unknown"]],
    ["missing readings inside a pending breach are no evidence: it goes on, and fires on a breaching one", errorsAbove5For30s, [9, null, 9, 9], ["pending", "pending", "pending", "firing"]],
    ["a pending breach with no breaching reading for for/2 ends", errorsAbove5For30s, [9, 9, null, null, 9, 9], ["pending", "pending", "pending", "unknown", "pending", "pending"]],
    ["missing readings never fire by themselves", errorsAbove5For30s, [9, null, null, null, null], ["pending", "pending", "unknown", "unknown", "unknown"]],
    ["a firing breach stays firing through failed scrapes (only healthy readings clear it)", errorsAbove5For30s, [9, 9, 9, 9, null, null, null, 0, 0], ["pending", "pending", "pending", "firing", "firing", "firing", "firing", "firing", "ok"]],
    ["NaN is a missing reading", errorsAbove5For30s, [Number.NaN, Number.NaN], ["unknown", "unknown"]],
    ["below: clients at 0 for 20 s", { when: "below", threshold: 1, forMs: 20_000 }, [3, 0, 0, 0], ["ok", "pending", "pending", "firing"]],
    ["clearAfter 1: one healthy reading clears a firing breach", { ...errorsAbove5For30s, clearAfter: 1 }, [9, 9, 9, 9, 4, 9], ["pending", "pending", "pending", "firing", "ok", "pending"]],
    ["rearm 30 s: a cleared check is not judged again for 30 s", { ...errorsAbove5For30s, rearmMs: 30_000 }, [9, 9, 9, 9, 0, 0, 9, 9, 9, 9, 9], ["pending", "pending", "pending", "firing", "firing", "ok", "ok", "ok", "pending", "pending", "pending"]],
  ];
  for (const [name, c, values, want] of cases) assert.deepEqual(kinds(c, values), want, name);
});

void test("evaluateCondition: a long `for` fires after it, through failed scrapes and idle intervals", () => {
  // "connected clients at 0 for 5 m", a scrape every 10 s: 0 clients throughout, but two scrapes in a
  // row fail every minute (a sick task answers slowly). Before: two missing readings in a row ended the
  // breach, the wait restarted every minute and the check never fired.
  const clientsAt0For5m: MetricCondition = { when: "below", threshold: 1, forMs: 300_000 };
  const values = Array.from({ length: 40 }, (_, i): number | null => (i % 6 === 4 || i % 6 === 5 ? null : 0));
  const got = kinds(clientsAt0For5m, values);
  assert.equal(got.indexOf("firing"), 30, `fires at the first breaching reading 5 m after the first: ${got.join(",")}`);
  assert.ok(got.slice(0, 30).every((k) => k === "pending"), "pending (never reset) until then");
  // p99 latency above 200 ms for 1 m on a task that serves a request every 25 s: intervals without a
  // request have no quantile (null), and must not restart the wait either.
  const latency: MetricCondition = { when: "above", threshold: 0.2, forMs: 60_000 };
  const sparse = [0.5, null, 0.6, null, null, 0.7, null, 0.5, null, null];
  // It fires on the first breaching reading once 1 m has passed (never on a missing one).
  assert.deepEqual(kinds(latency, sparse), ["pending", "pending", "pending", "pending", "pending", "pending", "pending", "firing", "firing", "firing"]);
  // A flapping signal held for 10 minutes (up one reading, down the next) never fires, however long.
  const flapping = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? 0 : 3));
  assert.ok(!kinds(clientsAt0For5m, flapping).includes("firing"), "flapping never fires");
});

void test("evaluateCondition: a firing verdict says since when, with what value, read when", () => {
  const { verdict } = evaluateCondition(errorsAbove5For30s, every10s([1, 7, 8, 9, 12]));
  assert.deepEqual(verdict, { kind: "firing", since: 10_000, value: 12, at: 40_000 });
  const dip = evaluateCondition(errorsAbove5For30s, every10s([7, 8, 9, 12, 3]));
  assert.deepEqual(dip.verdict, { kind: "firing", since: 0, value: 12, at: 30_000 }, "a dip keeps the value that fired");
  const later = evaluateCondition(errorsAbove5For30s, every10s([7, 8, 9, 12, 30, 40]));
  assert.deepEqual(later.verdict, { kind: "firing", since: 0, value: 12, at: 30_000 }, "still firing: the reading that fired, not the latest");
});

void test("readingsOf: counters become per-second rates; a reset is not a spike, a gap is no reading", () => {
  const cases: [string, (number | null)[], (number | null)[]][] = [
    ["steady climb of 50 per 10 s", [0, 50, 100, 150], [null, 5, 5, 5]],
    ["counter reset (task restarted) counts from 0, never negative or huge", [900, 1000, 20, 70], [null, 10, 2, 5]],
    ["flat", [7, 7, 7], [null, 0, 0]],
    ["a missing scrape leaves no reading on either side of it", [0, 50, null, 150, 200], [null, 5, null, null, 5]],
  ];
  for (const [name, raw, want] of cases) {
    assert.deepEqual(readingsOf("counter", every10s(raw)).map((r) => r.value), want, name);
  }
  assert.deepEqual(readingsOf("gauge", every10s([3, null, 0])).map((r) => r.value), [3, null, 0], "gauges as they are");
});

void test("counter reset inside a breach does not fire a check that was calm", () => {
  const rates = readingsOf("counter", every10s([0, 10, 20, 30, 2, 12, 22, 32]));
  assert.equal(evaluateCondition(errorsAbove5For30s, rates).verdict.kind, "ok");
});

void test("describeCondition", () => {
  assert.equal(describeCondition("errors", errorsAbove5For30s), "errors above 5 for 30s");
  assert.equal(describeCondition("clients", { when: "below", threshold: 1, forMs: 300_000 }), "clients below 1 for 5m");
  assert.equal(describeCondition("latency", { when: "above", threshold: 0.2, forMs: 1500 }), "latency above 0.2 for 1500ms");
});

void test("signalReadings: the server's series points as readings (rollout safety checks); a failed scrape is none", () => {
  const points = [
    { at: 0, up: true, clients: 3, errorsPerSec: 0.5, latencySeconds: 0.1 },
    { at: 60_000, up: false, clients: 3, errorsPerSec: 9, latencySeconds: 0.1 },
    { at: 120_000, up: true, clients: 0, errorsPerSec: 9, latencySeconds: null },
  ];
  assert.deepEqual(signalReadings(points, "errors").map((r) => r.value), [0.5, null, 9]);
  assert.deepEqual(signalReadings(points, "clients").map((r) => r.value), [3, null, 0]);
  assert.deepEqual(signalReadings(points, "latency").map((r) => r.value), [0.1, null, null]);
  // A rollout's "errors above 5 for 1m" over per-minute points: the failed scrape breaks nothing alone.
  const c: MetricCondition = { when: "above", threshold: 5, forMs: 60_000 };
  const more = [...points, { at: 180_000, up: true, clients: 0, errorsPerSec: 8, latencySeconds: null }];
  assert.equal(evaluateCondition(c, signalReadings(more, "errors")).verdict.kind, "firing");
});

void test("histogramReadings: the quantile of each interval's increase; resets, missing scrapes and empty intervals", () => {
  const b = (under01: number, under1: number, all: number): [number, number][] => [[0.1, under01], [1, under1], [Infinity, all]];
  const raw = [
    { at: 0, buckets: b(0, 0, 0) },
    { at: 10_000, buckets: b(10, 20, 20) }, // 10 under 0.1, 10 in (0.1, 1]
    { at: 20_000, buckets: b(10, 20, 20) }, // nothing observed
    { at: 30_000, buckets: null }, // scrape failed
    { at: 40_000, buckets: b(10, 30, 40) }, // after a missing one: none
    { at: 50_000, buckets: b(4, 4, 4) }, // restarted: counted from 0, all 4 under 0.1
  ];
  const got = histogramReadings(0.5, raw).map((r) => r.value);
  assert.deepEqual(got, [null, 0.1, null, null, null, 0.05]);
});
