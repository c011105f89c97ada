import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultPhases, planPhases } from "./rollout-phases.ts";
import type { PhaseTask } from "./rollout-phases.ts";
import type { RolloutPhaseSpec } from "../../model/index.ts";

const at = (index: number, dc: string, cluster: string, rack: string): PhaseTask => ({ index, domain: { region: "r", datacenter: dc, cluster, rack } });
const flat = (n: number): PhaseTask[] => Array.from({ length: n }, (_, i) => at(i, "d", "c", "k"));
// 12 tasks: datacenters d1 (clusters c1, c2) and d2 (c3); racks k1..k6, two tasks each; indexes interleaved.
const spread: PhaseTask[] = [
  at(0, "d2", "c3", "k5"), at(1, "d1", "c1", "k1"), at(2, "d1", "c2", "k3"), at(3, "d1", "c1", "k2"), at(4, "d2", "c3", "k6"), at(5, "d1", "c2", "k4"),
  at(6, "d2", "c3", "k5"), at(7, "d1", "c1", "k1"), at(8, "d1", "c2", "k3"), at(9, "d1", "c1", "k2"), at(10, "d2", "c3", "k6"), at(11, "d1", "c2", "k4"),
];

void test("defaultPhases: adapt to the job's size and spread", () => {
  const cases: { name: string; tasks: PhaseTask[]; want: RolloutPhaseSpec[] }[] = [
    { name: "1 task", tasks: flat(1), want: [1, "all"] },
    { name: "3 tasks: 1 -> all", tasks: flat(3), want: [1, "all"] },
    { name: "6 tasks in one cluster", tasks: flat(6), want: [1, "50%", "all"] },
    { name: "100 tasks in one cluster", tasks: flat(100), want: [1, "10%", "50%", "all"] },
    { name: "12 tasks over clusters and datacenters", tasks: spread, want: [1, "cluster", "datacenter", "all"] },
  ];
  for (const c of cases) assert.deepEqual(defaultPhases(c.tasks), c.want, c.name);
});

void test("planPhases: which tasks each phase adds", () => {
  const cases: { name: string; specs: RolloutPhaseSpec[]; tasks: PhaseTask[]; want: [RolloutPhaseSpec, number[]][] }[] = [
    { name: "3 tasks, 1 -> all", specs: [1, "all"], tasks: flat(3), want: [[1, [0]], ["all", [1, 2]]] },
    { name: "6 tasks, 1 -> 50% -> all", specs: [1, "50%", "all"], tasks: flat(6), want: [[1, [0]], ["50%", [1, 2]], ["all", [3, 4, 5]]] },
    { name: "a last phase is added when the rules stop short", specs: [2], tasks: flat(4), want: [[2, [0, 1]], ["all", [2, 3]]] },
    { name: "a share rounds up, at least one task", specs: ["10%", "all"], tasks: flat(6), want: [["10%", [0]], ["all", [1, 2, 3, 4, 5]]] },
    { name: "a phase adding nothing is left out", specs: [1, "10%", "all"], tasks: flat(5), want: [[1, [0]], ["all", [1, 2, 3, 4]]] },
    {
      name: "by domain: 1 machine, its rack, its cluster, its datacenter, everywhere",
      specs: [1, "rack", "cluster", "datacenter", "all"],
      tasks: spread,
      want: [[1, [1]], ["rack", [7]], ["cluster", [3, 9]], ["datacenter", [2, 5, 8, 11]], ["all", [0, 4, 6, 10]]],
    },
    { name: "a cluster phase with nothing reached yet takes the first task's cluster", specs: ["cluster", "all"], tasks: spread, want: [["cluster", [1, 3, 7, 9]], ["all", [0, 2, 4, 5, 6, 8, 10, 11]]] },
    { name: "unplaced tasks come last", specs: [1, "all"], tasks: [{ index: 0, domain: null }, at(1, "d", "c", "k")], want: [[1, [1]], ["all", [0]]] },
    { name: "no tasks: no phases", specs: [1, "all"], tasks: [], want: [] },
  ];
  for (const c of cases) assert.deepEqual(planPhases(c.specs, c.tasks).map((p) => [p.spec, p.tasks]), c.want, c.name);
});
