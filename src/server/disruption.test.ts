import { test } from "node:test";
import assert from "node:assert/strict";
import { disruptionBudget, disruptionsLeft, jobDisruptionBudget } from "./disruption.ts";
import type { MaxUnavailable } from "./disruption.ts";

void test("disruptionBudget: tasks of a job that may be down at once", () => {
  const cases: { name: string; replicas: number; setting?: MaxUnavailable; want: number }[] = [
    { name: "default: a tenth of 20", replicas: 20, want: 2 },
    { name: "default: a tenth of 8 rounds down to the minimum", replicas: 8, want: 1 },
    { name: "default: at least one of 3", replicas: 3, want: 1 },
    { name: "default: at least one of 0", replicas: 0, want: 1 },
    { name: "a count", replicas: 10, setting: 3, want: 3 },
    { name: "a count of 0: none (the job allows no voluntary disruption)", replicas: 10, setting: 0, want: 0 },
    { name: "0%: none", replicas: 10, setting: "0%", want: 0 },
    { name: "5% of 10 rounds down, but to one, not none", replicas: 10, setting: "5%", want: 1 },
    { name: "10% of 50", replicas: 50, setting: "10%", want: 5 },
    { name: "10% of 6 rounds down to the minimum", replicas: 6, setting: "10%", want: 1 },
    { name: "100%", replicas: 7, setting: "100%", want: 7 },
  ];
  for (const c of cases) assert.equal(disruptionBudget(c.replicas, c.setting), c.want, c.name);
});

void test("disruptionsLeft: what the budget still allows", () => {
  assert.equal(disruptionsLeft(20, 0), 2);
  assert.equal(disruptionsLeft(20, 1), 1);
  assert.equal(disruptionsLeft(20, 5), 0, "never negative when more are down than the budget");
  assert.equal(disruptionsLeft(8, 0, 3), 3, "the job's own setting");
});

void test("jobDisruptionBudget: the spec's rollout.maxUnavailable, else the default", () => {
  assert.equal(jobDisruptionBudget({ replicas: 40 }), 4);
  assert.equal(jobDisruptionBudget({ replicas: 40, rollout: { phases: null, bakeMs: 0, deadlineMs: 1000, maxUnavailable: "25%", maxSurge: 0, onFailure: "rollback" } }), 10);
  assert.equal(jobDisruptionBudget({ replicas: 40, rollout: { phases: null, bakeMs: 0, deadlineMs: 1000, maxUnavailable: 3, maxSurge: 0, onFailure: "rollback" } }), 3);
});
