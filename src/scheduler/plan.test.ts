import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterIndex } from "./cluster.ts";
import { makeHost, makeSpec } from "./testing.ts";
import type { HostParts, SpecParts } from "./testing.ts";
import type { Plan, SchedHost, SchedTask } from "./types.ts";

/** `racks` racks of `perRack` hosts, ids r<rack>h<i>. */
function fleet(racks: number, perRack: number, p: HostParts = {}): SchedHost[] {
  const hosts: SchedHost[] = [];
  for (let r = 0; r < racks; r++) for (let i = 0; i < perRack; i++) hosts.push(makeHost(`r${r}h${i}`, { ...p, rack: `r${r}` }));
  return hosts;
}
const range = (n: number, from = 0): number[] => Array.from({ length: n }, (_, i) => from + i);
const rackOf = (hostId: string): string => hostId.split("h")[0]!;
function perRack(plan: Plan): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of plan.placements) out[rackOf(p.hostId)] = (out[rackOf(p.hostId)] ?? 0) + 1;
  return out;
}
function planJob(index: ClusterIndex, name: string, parts: SpecParts, indexes: number[], seed = 1): Plan {
  const spec = makeSpec(name, parts);
  const plan = index.plan({ spec, indexes, seed });
  index.commit(plan, spec);
  return plan;
}

void test("6 replicas on 3 racks: 2 per rack", () => {
  for (let seed = 0; seed < 10; seed++) {
    const plan = new ClusterIndex(fleet(3, 2)).plan({ spec: makeSpec("web", { replicas: 6 }), indexes: range(6), seed });
    assert.deepEqual(perRack(plan), { r0: 2, r1: 2, r2: 2 }, `seed ${seed}`);
    assert.equal(plan.unplaced.length, 0);
  }
});

void test("spread counts tasks already placed and those placed earlier in the plan", () => {
  const index = new ClusterIndex(fleet(3, 2));
  const first = planJob(index, "web", {}, range(2));
  assert.equal(new Set(first.placements.map((p) => rackOf(p.hostId))).size, 2, "two tasks, two racks");
  const more = planJob(index, "web", {}, range(4, 2));
  const total = perRack({ job: "web", placements: [...first.placements, ...more.placements], unplaced: [] });
  assert.deepEqual(total, { r0: 2, r1: 2, r2: 2 });
});

void test("spread by cluster and by datacenter", () => {
  const hosts = [
    ...["a", "b", "c", "d"].map((id) => makeHost(id, { cluster: "c1", rack: id })),
    makeHost("e", { cluster: "c2", rack: "e" }),
    makeHost("f", { datacenter: "dc2", cluster: "c1", rack: "f" }),
  ];
  const clusters = new ClusterIndex(hosts).plan({ spec: makeSpec("web", { spread: "cluster" }), indexes: range(3) });
  const clusterOf = (id: string): string => (id === "e" ? "c2" : id === "f" ? "dc2/c1" : "c1");
  assert.deepEqual(clusters.placements.map((p) => clusterOf(p.hostId)).sort(), ["c1", "c2", "dc2/c1"]);
  const dcs = new ClusterIndex(hosts).plan({ spec: makeSpec("web", { spread: "datacenter" }), indexes: range(2) });
  assert.deepEqual(dcs.placements.map((p) => (p.hostId === "f" ? "dc2" : "dc1")).sort(), ["dc1", "dc2"]);
});

void test("bin-packing: without spread, the fullest host that fits takes the task", () => {
  const index = new ClusterIndex(
    [makeHost("empty", { cores: 8 }), makeHost("half", { cores: 8 }), makeHost("full", { cores: 8 })],
    [
      { job: "x", index: 0, hostId: "half", cpu: 4, memoryMiB: 8192, diskMiB: 0, antiAffinity: null },
      { job: "x", index: 1, hostId: "full", cpu: 7.5, memoryMiB: 16000, diskMiB: 0, antiAffinity: null },
    ],
  );
  const plan = planJob(index, "web", { spread: "none", cpu: 2, memoryMiB: 256 }, range(3));
  // "full" has 0.5 cores left; "half" takes two tasks (then has none left), then "empty".
  assert.deepEqual(plan.placements.map((p) => p.hostId), ["half", "half", "empty"]);
});

void test("anti-affinity: one task per rack with a tag, across jobs; the rest unplaced with counted reasons", () => {
  const index = new ClusterIndex(fleet(3, 2));
  const a = planJob(index, "a", { antiAffinity: "net" }, range(5));
  assert.deepEqual(perRack(a), { r0: 1, r1: 1, r2: 1 });
  assert.deepEqual(a.unplaced, [
    { index: 3, reasons: { "anti-affinity": 6 } },
    { index: 4, reasons: { "anti-affinity": 6 } },
  ]);
  const b = planJob(index, "b", { antiAffinity: "net" }, range(1));
  assert.deepEqual(b.placements, [], "another job with the same tag finds every rack taken");
  const c = planJob(index, "c", { antiAffinity: "disk" }, range(3));
  assert.equal(c.placements.length, 3, "another tag is unaffected");
});

void test("constraints: only hosts meeting os, kernel and labels", () => {
  const hosts = [
    makeHost("deb12", { rack: "r1", os: { id: "debian", version: "12.5" }, kernel: "6.1.0-18-amd64", labels: { disk: "ssd" } }),
    makeHost("deb11", { rack: "r2", os: { id: "debian", version: "11" }, kernel: "5.10.0-28-amd64", labels: { disk: "ssd" } }),
    makeHost("ubu", { rack: "r3", os: { id: "ubuntu", version: "24.04" }, kernel: "6.8.0", labels: {} }),
  ];
  const cases: { name: string; spec: SpecParts; want: string[] }[] = [
    { name: "os", spec: { os: { id: "debian", version: "12" } }, want: ["deb12"] },
    { name: "os any version", spec: { os: { id: "debian", version: null } }, want: ["deb11", "deb12"] },
    { name: "kernel >=6.1", spec: { kernel: ">=6.1" }, want: ["deb12", "ubu"] },
    { name: "kernel >=5.10 <6.2", spec: { kernel: ">=5.10 <6.2" }, want: ["deb11", "deb12"] },
    { name: "label", spec: { labels: { disk: "ssd" } }, want: ["deb11", "deb12"] },
    { name: "all three", spec: { os: { id: "debian", version: null }, kernel: ">=6", labels: { disk: "ssd" } }, want: ["deb12"] },
  ];
  for (const c of cases) {
    const plan = new ClusterIndex(hosts).plan({ spec: makeSpec("web", c.spec), indexes: range(6) });
    assert.deepEqual([...new Set(plan.placements.map((p) => p.hostId))].sort(), c.want, c.name);
    assert.equal(plan.placements.length, 6, c.name);
  }
});

void test("unplaced tasks say why, one reason per host", () => {
  const hosts = [
    makeHost("draining", { rack: "r1", schedulable: false }),
    makeHost("ubuntu", { rack: "r1", os: { id: "ubuntu", version: "24.04" } }),
    makeHost("small", { rack: "r2", cores: 1 }),
    makeHost("tight", { rack: "r3", memoryMiB: 100 }),
    makeHost("nodisk", { rack: "r4", diskMiB: 10 }),
  ];
  const plan = new ClusterIndex(hosts).plan({ spec: makeSpec("web", { cpu: 2, memoryMiB: 512, diskMiB: 100, os: { id: "debian", version: null } }), indexes: [0, 1] });
  const reasons = { "not-schedulable": 1, os: 1, cpu: 1, memory: 1, disk: 1 };
  assert.deepEqual(plan, { job: "web", placements: [], unplaced: [{ index: 0, reasons }, { index: 1, reasons }] });
  assert.deepEqual(new ClusterIndex([]).plan({ spec: makeSpec("web"), indexes: [0] }).unplaced, [{ index: 0, reasons: {} }]);
});

void test("avoid list: a moved task stays off the hosts it left, other tasks may use them", () => {
  const hosts = [makeHost("a", { rack: "r1" }), makeHost("b", { rack: "r2" })];
  const spec = makeSpec("web", { spread: "none" });
  for (let seed = 0; seed < 8; seed++) {
    const plan = new ClusterIndex(hosts).plan({ spec, indexes: [0, 1], avoid: { 0: ["a"], 1: ["b"] }, seed });
    assert.deepEqual(plan.placements, [{ index: 0, hostId: "b" }, { index: 1, hostId: "a" }], `seed ${seed}`);
  }
  const stuck = new ClusterIndex([makeHost("a")]).plan({ spec, indexes: [0, 1], avoid: { 0: ["a", "gone"] } });
  assert.deepEqual(stuck.unplaced, [{ index: 0, reasons: { avoided: 1 } }]);
  assert.deepEqual(stuck.placements, [{ index: 1, hostId: "a" }]);
});

void test("a draining host gets nothing, now or after it starts draining", () => {
  const hosts = fleet(2, 2);
  hosts[0] = { ...hosts[0]!, schedulable: false };
  const index = new ClusterIndex(hosts);
  const first = planJob(index, "web", {}, range(9));
  assert.ok(first.placements.every((p) => p.hostId !== "r0h0"));
  assert.equal(first.placements.length, 9);
  index.upsertHost({ ...hosts[1]!, schedulable: false });
  const second = planJob(index, "api", {}, range(9));
  assert.ok(second.placements.every((p) => p.hostId !== "r0h0" && p.hostId !== "r0h1"));
  assert.equal(index.tasksOn("r0h1").length > 0, true, "a draining host keeps its tasks in the index");
  index.upsertHost({ ...hosts[1]!, schedulable: true });
  const third = planJob(index, "db", { spread: "none", cpu: 0.5 }, range(1));
  assert.equal(third.placements.length, 1);
});

void test("deterministic: the same input and seed give the same plan; plan() changes nothing", () => {
  const hosts = fleet(5, 4);
  const spec = makeSpec("web", { replicas: 7, spread: "rack" });
  const index = new ClusterIndex(hosts);
  const before = hosts.map((h) => index.used(h.id));
  const a = index.plan({ spec, indexes: range(7), seed: 42 });
  assert.deepEqual(index.plan({ spec, indexes: range(7), seed: 42 }), a);
  assert.deepEqual(new ClusterIndex(hosts).plan({ spec, indexes: range(7), seed: 42 }), a);
  assert.deepEqual(hosts.map((h) => index.used(h.id)), before);
  assert.equal(index.hostOf("web", 0), null);
  const plans = new Set(range(16).map((seed) => JSON.stringify(index.plan({ spec, indexes: range(7), seed }))));
  assert.ok(plans.size > 1, "different seeds fan out");
});

void test("re-planning a placed task moves it: its own booking does not count against it", () => {
  const index = new ClusterIndex([makeHost("only", { cores: 2 })]);
  const spec = makeSpec("web", { cpu: 2, spread: "none" });
  index.commit(index.plan({ spec, indexes: [0] }), spec);
  assert.equal(index.hostOf("web", 0), "only");
  assert.deepEqual(index.plan({ spec, indexes: [1] }).unplaced, [{ index: 1, reasons: { cpu: 1 } }]);
  assert.deepEqual(index.plan({ spec, indexes: [0] }).placements, [{ index: 0, hostId: "only" }]);
  assert.deepEqual(index.used("only"), { cpu: 2, memoryMiB: 512, diskMiB: 0 }, "the plan put the booking back");
});

void test("index reads and updates: commit, release, hostOf, tasksOn, used, removeHost, moving a host", () => {
  const index = new ClusterIndex([makeHost("a", { rack: "r1" }), makeHost("b", { rack: "r2" })]);
  const spec = makeSpec("web", { cpu: 1, memoryMiB: 100, diskMiB: 10, antiAffinity: "net" });
  index.commit(index.plan({ spec, indexes: [0, 1] }), spec);
  const onA = index.hostOf("web", 0) === "a" ? 0 : 1;
  assert.deepEqual(index.tasksOn("a"), [{ job: "web", index: onA, hostId: "a", cpu: 1, memoryMiB: 100, diskMiB: 10, antiAffinity: "net" }]);
  assert.deepEqual(index.used("a"), { cpu: 1, memoryMiB: 100, diskMiB: 10 });
  assert.equal(index.used("nope"), null);
  assert.equal(index.release("web", onA), true);
  assert.equal(index.release("web", onA), false);
  assert.deepEqual(index.used("a"), { cpu: 0, memoryMiB: 0, diskMiB: 0 });
  // The tag left rack r1 with the task: r1 takes one again.
  assert.deepEqual(index.plan({ spec, indexes: [onA] }).placements, [{ index: onA, hostId: "a" }]);
  // Moving b into r1 re-counts its task there: r1 now holds the tag, r2 is empty.
  index.upsertHost(makeHost("b", { rack: "r1" }));
  assert.deepEqual(index.plan({ spec, indexes: [onA] }).unplaced, [{ index: onA, reasons: { "anti-affinity": 2 } }]);
  const removed = index.removeHost("b");
  assert.equal(removed.length, 1);
  assert.equal(index.hostOf("web", 1 - onA), null);
  assert.equal(index.hostCount, 1);
  assert.equal(index.assign({ ...removed[0]!, hostId: "gone" }), false, "a task on an unknown host is refused");
});

void test("hosts and racks added after a plan are seen by the search inside large domains", () => {
  const t = (hostId: string, cpu: number): SchedTask => ({ job: "x", index: cpu, hostId, cpu, memoryMiB: 0, diskMiB: 0, antiAffinity: null });
  const index = new ClusterIndex([makeHost("a", { cluster: "c1", rack: "r1" }), makeHost("c", { cluster: "c2", rack: "r1" })], [t("a", 4), t("c", 1)]);
  const spec = makeSpec("web", { spread: "none", cpu: 1 });
  assert.deepEqual(index.plan({ spec, indexes: [0] }).placements, [{ index: 0, hostId: "a" }], "a is the fullest");
  // b lands in a new rack of c2 and is fuller than a: c2's bound must grow even though the plan above computed it.
  index.upsertHost(makeHost("b", { cluster: "c2", rack: "r2" }));
  index.assign(t("b", 6));
  assert.deepEqual(index.plan({ spec, indexes: [0] }).placements, [{ index: 0, hostId: "b" }]);
  assert.deepEqual(index.naivePlan({ spec, indexes: [0] }).placements, [{ index: 0, hostId: "b" }]);
});
