// Named readings after a leader change (table): the readings agents report for a rollout's checks live
// in the leading server's memory (../rollout-samples.ts), so a new leader holds only those since it
// began leading (JudgeReader.samplesSince). Its judge re-collects for a whole bake from then, says so
// in each comparison's verdict, never passes on the gap, and the phase's deadline moves by the time
// lost; once re-collected, the verdict is the one the former leader would have reached.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobSpec, Rollout } from "../../model/index.ts";
import type { RawMetricPoint, RolloutChecks } from "../../model/judge/index.ts";
import { judgeBake } from "./rollout-judge.ts";
import type { JudgeReader } from "./rollout-judge.ts";
import { stepRollout } from "./rollout-step.ts";
import type { StepTask } from "./rollout-step.ts";
import { startRollout } from "./rollout-start.ts";

const checks: RolloutChecks = {
  health: false,
  crashRate: null,
  metrics: [{ metric: { kind: "counter", name: "errors_total" }, better: "lower", tolerance: 0.05, slack: 0, alpha: 0.05, minSamples: 5 }],
  efficiency: null,
  custom: [],
};
const BAKE = 10_000;
const DEADLINE = 30_000;
const rollout: Rollout = (() => {
  const spec = { name: "web", replicas: 4, rollout: { phases: [1, "all"], bakeMs: BAKE, deadlineMs: DEADLINE, maxUnavailable: 1, maxSurge: 0, onFailure: "rollback", checks } } as unknown as JobSpec; // only the fields a rollout reads
  const r = startRollout({ job: "web", version: 2, from: 1, cause: "apply", spec, tasks: [0, 1, 2, 3].map((index) => ({ index, domain: null })), now: 0 });
  return { ...r, phases: r.phases.map((p, i) => (i === 0 ? { ...p, startedAt: 0, healthyAt: 0 } : p)) };
})();
const tasks: StepTask[] = [0, 1, 2, 3].map((index) => ({ index, isNew: index === 0, ready: true, newEnds: 0, oldEnds: 0 }));

/** A server that holds readings from `since` on (one a second, up to `now`): `bad` gives the new task 5x the errors. */
function reader(since: number, now: number, bad: boolean, leaderSince: number | null): JudgeReader {
  return {
    seriesOf: () => [],
    domainOf: () => null,
    namedOf: (index): RawMetricPoint[] => {
      const out: RawMetricPoint[] = [];
      for (let at = Math.ceil(since / 1000) * 1000; at <= now; at += 1000) out.push({ at, value: (at / 1000) * (index === 0 && bad ? 5 : 1) + ((at / 1000 + index) % 5) * 0.01 });
      return out;
    },
    ...(leaderSince !== null ? { samplesSince: leaderSince } : {}),
  };
}
const step = (now: number, read: JudgeReader) => stepRollout(rollout, tasks, now, (healthyAt, reached) => judgeBake(rollout, checks, tasks, reached, healthyAt, now, read));

void test("a new leader re-collects a bake's readings before it judges, and reaches the former leader's verdict (table)", () => {
  const cases: { name: string; now: number; bad: boolean; leaderSince: number | null; outcome: string | null; detail: RegExp }[] = [
    { name: "one leader all along, equal: passes at the bake's end", now: BAKE, bad: false, leaderSince: null, outcome: "passed", detail: /within/ },
    { name: "one leader all along, 5x errors: fails", now: BAKE, bad: true, leaderSince: null, outcome: "failed", detail: /worse/ },
    { name: "leader since 8 s, at 12 s, equal: re-collecting, no pass on 4 s of readings", now: 12_000, bad: false, leaderSince: 8000, outcome: null, detail: /re-collecting since the leader change .* \(4s of the 10s bake\)/ },
    { name: "leader since 8 s, at 12 s, 5x errors: re-collecting (no verdict on the gap)", now: 12_000, bad: true, leaderSince: 8000, outcome: null, detail: /re-collecting/ },
    { name: "leader since 8 s, at 18 s, equal: a bake re-collected, passes like the former leader", now: 18_000, bad: false, leaderSince: 8000, outcome: "passed", detail: /within/ },
    { name: "leader since 8 s, at 18 s, 5x errors: fails like the former leader", now: 18_000, bad: true, leaderSince: 8000, outcome: "failed", detail: /worse/ },
    { name: "leader since 25 s, at 31 s (past the 30 s deadline): the deadline moved by the 25 s lost, still re-collecting", now: 31_000, bad: false, leaderSince: 25_000, outcome: null, detail: /re-collecting/ },
    { name: "leader since 25 s, at 35 s: re-collected within the moved deadline, passes", now: 35_000, bad: false, leaderSince: 25_000, outcome: "passed", detail: /within/ },
    { name: "leader since before the bake began: nothing lost, judged as usual", now: BAKE, bad: false, leaderSince: -5000, outcome: "passed", detail: /within/ },
  ];
  for (const c of cases) {
    const s = step(c.now, reader(c.leaderSince ?? 0, c.now, c.bad, c.leaderSince));
    const p = s.rollout.phases[0];
    const metric = p?.checks.find((x) => x.name === "metric rate of errors_total");
    const shown = JSON.stringify(p?.checks.map((x) => [x.name, x.verdict, x.detail]));
    assert.equal(p?.outcome ?? null, c.outcome, `${c.name}: ${s.rollout.why ?? ""} ${shown}`);
    assert.match(metric?.detail ?? "", c.detail, `${c.name}: ${shown}`);
  }
});
