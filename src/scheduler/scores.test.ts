import { test } from "node:test";
import assert from "node:assert/strict";
import type { PlanContext } from "./context.ts";
import { PoolRegistry } from "./pools.ts";
import { binpackScore, SCORES, spreadScore } from "./scores.ts";
import { closePlan, openPlan } from "./session.ts";
import { ClusterState } from "./state.ts";
import { makeHost, makeSpec } from "./testing.ts";
import type { SpecParts } from "./testing.ts";
import type { SchedTask } from "./types.ts";

/** Two racks of one host each (a in r1, b in r2), the given tasks, and a plan context for job "web". */
function withCluster<T>(spec: SpecParts, tasks: Partial<SchedTask>[], fn: (ctx: PlanContext, slot: (id: string) => number) => T, seed = 0): T {
  const st = new ClusterState();
  st.upsert(makeHost("a", { rack: "r1", cores: 10, memoryMiB: 1000 }));
  st.upsert(makeHost("b", { rack: "r2", cores: 10, memoryMiB: 1000 }));
  st.upsert(makeHost("c", { rack: "r1", cluster: "c2", cores: 0, memoryMiB: 0 }));
  for (const [i, t] of tasks.entries()) {
    st.assign({ job: "web", index: i, cpu: 0, memoryMiB: 0, diskMiB: 0, antiAffinity: null, ...t, slot: st.slotOf.get(t.hostId ?? "a")! });
  }
  const s = openPlan(st, new PoolRegistry(), { spec: makeSpec("web", spec), indexes: [99], seed });
  try {
    return fn(s.ctx, (id) => st.slotOf.get(id)!);
  } finally {
    closePlan(s);
  }
}

void test("spread scores 100 / (1 + tasks of the job in the host's domain)", () => {
  const cases: { name: string; spread: NonNullable<SpecParts["spread"]>; tasks: Partial<SchedTask>[]; a: number; b: number }[] = [
    { name: "empty", spread: "rack", tasks: [], a: 100, b: 100 },
    { name: "one in r1", spread: "rack", tasks: [{ hostId: "a" }], a: 50, b: 100 },
    { name: "three in r1, one in r2", spread: "rack", tasks: [{ hostId: "a" }, { hostId: "a" }, { hostId: "a" }, { hostId: "b" }], a: 25, b: 50 },
    { name: "same cluster at cluster level", spread: "cluster", tasks: [{ hostId: "a" }], a: 50, b: 50 },
    { name: "none scores all equal", spread: "none", tasks: [{ hostId: "a" }], a: 100, b: 100 },
    { name: "other jobs do not count", spread: "rack", tasks: [{ hostId: "a", job: "other" }], a: 100, b: 100 },
  ];
  for (const c of cases) {
    withCluster({ spread: c.spread }, c.tasks, (ctx, slot) => {
      assert.equal(spreadScore.score(ctx, slot("a")), c.a, `${c.name}: a`);
      assert.equal(spreadScore.score(ctx, slot("b")), c.b, `${c.name}: b`);
    });
  }
});

void test("spread ties order domains by a seeded hash: same seed same order, seeds vary it", () => {
  const order = (seed: number): boolean => withCluster({}, [], (ctx, slot) => spreadScore.tie!(ctx, slot("a")) < spreadScore.tie!(ctx, slot("b")), seed);
  assert.equal(order(1), order(1));
  const seen = new Set(Array.from({ length: 32 }, (_, seed) => order(seed)));
  assert.equal(seen.size, 2, "some seed must prefer each rack");
});

void test("bin-pack scores how full the host is, 0..100, averaged over cpu and memory", () => {
  const cases: { name: string; tasks: Partial<SchedTask>[]; want: number }[] = [
    { name: "empty", tasks: [], want: 0 },
    { name: "half cpu", tasks: [{ cpu: 5 }], want: 25 },
    { name: "half cpu, half memory", tasks: [{ cpu: 5, memoryMiB: 500 }], want: 50 },
    { name: "full", tasks: [{ cpu: 10, memoryMiB: 1000 }], want: 100 },
    { name: "overbooked is clamped", tasks: [{ cpu: 30, memoryMiB: 3000 }], want: 100 },
  ];
  for (const c of cases) withCluster({}, c.tasks, (ctx, slot) => assert.equal(binpackScore.score(ctx, slot("a")), c.want, c.name));
  withCluster({}, [], (ctx, slot) => assert.equal(binpackScore.score(ctx, slot("c")), 100, "a host without capacity counts as full"));
});

void test("every score stays within 0..100", () => {
  withCluster({}, [{ hostId: "a", cpu: 3 }], (ctx, slot) => {
    for (const s of SCORES) for (const id of ["a", "b", "c"]) {
      const v = s.score(ctx, slot(id));
      assert.ok(v >= 0 && v <= 100, `${s.name} on ${id}: ${v}`);
    }
  });
});
