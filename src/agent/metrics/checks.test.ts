// The agent's judging of metric checks per scrape: grace, failed scrapes, and when it reports at once.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { MetricHealthCheck } from "../../model/index.ts";
import { stepChecks } from "./checks.ts";
import type { CheckRun } from "./checks.ts";
import type { TaskSignals } from "./signals.ts";

const errors5: MetricHealthCheck = { signal: "errors", when: "above", threshold: 5, forMs: 2000, graceMs: 1000, action: "restart" };
const sig = (errorsPerSec: number | null): TaskSignals => ({ clients: 3, errorsPerSec, latencySeconds: 0.1 });

function run(scrapes: (TaskSignals | null)[]): { states: string[]; changedAt: number[] } {
  let runs: CheckRun[] = [];
  const states: string[] = [];
  const changedAt: number[] = [];
  scrapes.forEach((s, i) => {
    const r = stepChecks([errors5], runs, s, i * 1000, 0);
    runs = r.runs;
    states.push(runs[0]?.verdict.state ?? "none");
    if (r.changed) changedAt.push(i * 1000);
  });
  return { states, changedAt };
}

void test("stepChecks: named cases, a scrape a second", () => {
  const cases: [string, (TaskSignals | null)[], string[], number[]][] = [
    ["breaching inside the grace is not judged", [sig(50), sig(1), sig(1)], ["unknown", "ok", "ok"], []],
    ["steady above: fires after `for`, reported once when it starts firing", [sig(0), sig(9), sig(9), sig(9), sig(9)], ["unknown", "pending", "pending", "firing", "firing"], [3000]],
    ["failed scrapes only: no verdict", [null, null, null, null, null], ["unknown", "unknown", "unknown", "unknown", "unknown"], []],
    ["errors rate not known yet (one scrape): no verdict", [sig(null), sig(null), sig(9)], ["unknown", "unknown", "pending"], []],
    ["fires, then clears after two calm scrapes: reported again", [sig(0), sig(9), sig(9), sig(9), sig(0), sig(0)], ["unknown", "pending", "pending", "firing", "firing", "ok"], [3000, 5000]],
  ];
  for (const [name, scrapes, states, changedAt] of cases) assert.deepEqual(run(scrapes), { states, changedAt }, name);
});

void test("stepChecks: a check that stopped firing gets its grace again before it is judged", () => {
  const grace3s: MetricHealthCheck = { ...errors5, graceMs: 3000 };
  let runs: CheckRun[] = [];
  const states: string[] = [];
  const values = [9, 9, 9, 9, 9, 9, 0, 0, 9, 9, 9, 9];
  values.forEach((v, i) => {
    runs = stepChecks([grace3s], runs, sig(v), i * 1000, 0).runs;
    states.push(runs[0]?.verdict.state ?? "none");
  });
  // Grace until 3 s; fires at 5 s; clears at 7 s; not judged until 10 s.
  assert.deepEqual(states, ["unknown", "unknown", "unknown", "pending", "pending", "firing", "firing", "ok", "ok", "ok", "pending", "pending"]);
});
