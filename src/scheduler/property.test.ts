// Property test: on random small clusters and random job sequences, the fast planner's plan is
// feasible (checked here from first principles, not with the scheduler's filters) and is the very
// plan the naive score-every-host loop makes, so its spread is as good.

import { test } from "node:test";
import assert from "node:assert/strict";
import { domainKey } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import { ClusterIndex } from "./cluster.ts";
import { mulberry32 } from "./hash.ts";
import { makeHost, makeSpec } from "./testing.ts";
import type { Plan, PlanRequest, SchedHost, SchedTask } from "./types.ts";
import { parseVersion, parseVersionRange, satisfies } from "./versions.ts";

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function randomHosts(r: Rand): SchedHost[] {
  const hosts: SchedHost[] = [];
  const dcs = 1 + Math.floor(r() * 3);
  for (let d = 0; d < dcs; d++) {
    const clusters = 1 + Math.floor(r() * 3);
    for (let c = 0; c < clusters; c++) {
      const racks = 1 + Math.floor(r() * 4);
      for (let k = 0; k < racks; k++) {
        const n = Math.floor(r() * 5); // empty racks too
        for (let i = 0; i < n; i++) {
          hosts.push(
            makeHost(`h-${d}-${c}-${k}-${i}`, {
              datacenter: `dc${d}`,
              cluster: `c${c}`,
              rack: `r${k}`, // rack names repeat across clusters on purpose
              cores: pick(r, [2, 4, 8, 16]),
              memoryMiB: pick(r, [2048, 4096, 8192, 16384]),
              diskMiB: pick(r, [1000, 5000, 20000]),
              os: pick(r, [{ id: "debian", version: "12.5" }, { id: "debian", version: "11" }, { id: "ubuntu", version: "24.04" }]),
              kernel: pick(r, ["5.10.0-28-amd64", "6.1.0-18-amd64", "6.12.3", "7.0"]),
              labels: r() < 0.3 ? { ssd: "true" } : {},
              schedulable: r() > 0.1,
            }),
          );
        }
      }
    }
  }
  return hosts;
}

function randomSpec(r: Rand, name: string): JobSpec {
  return makeSpec(name, {
    replicas: 1 + Math.floor(r() * 12),
    cpu: pick(r, [0.25, 0.5, 1, 2, 3]),
    memoryMiB: pick(r, [128, 512, 1024, 3000]),
    diskMiB: pick(r, [0, 100, 2000]),
    spread: pick(r, ["rack", "rack", "cluster", "datacenter", "none"] as const),
    antiAffinity: r() < 0.2 ? pick(r, ["net", "disk-heavy"]) : null,
    os: r() < 0.15 ? pick(r, [{ id: "debian", version: "12" }, { id: "debian", version: null }]) : null,
    kernel: r() < 0.15 ? pick(r, [">=6.1", ">=5.10 <7", "<6"]) : null,
    labels: r() < 0.15 ? { ssd: "true" } : {},
  });
}

/** Feasibility from first principles: the index's tasks before the plan plus the plan fit every rule. */
function checkFeasible(before: ClusterIndex, hosts: SchedHost[], req: PlanRequest, plan: Plan): void {
  const spec = req.spec;
  const moving = new Set(req.indexes);
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const load = new Map<string, { cpu: number; mem: number; disk: number }>();
  const tagRacks = new Map<string, number>();
  const rackOf = (h: SchedHost): string => domainKey(h.domain, "rack");
  for (const h of hosts) {
    const l = { cpu: 0, mem: 0, disk: 0 };
    for (const t of before.tasksOn(h.id)) {
      if (t.job === spec.name && moving.has(t.index)) continue;
      l.cpu += t.cpu;
      l.mem += t.memoryMiB;
      l.disk += t.diskMiB;
      if (t.antiAffinity !== null) tagRacks.set(`${t.antiAffinity}@${rackOf(h)}`, (tagRacks.get(`${t.antiAffinity}@${rackOf(h)}`) ?? 0) + 1);
    }
    load.set(h.id, l);
  }
  const range = spec.constraints.kernel === null ? null : parseVersionRange(spec.constraints.kernel);
  for (const p of plan.placements) {
    const h = byId.get(p.hostId)!;
    assert.ok(h.schedulable, `${p.hostId} not schedulable`);
    assert.ok(!(req.avoid?.[p.index] ?? []).includes(h.id), "avoided host used");
    const os = spec.constraints.os;
    if (os) assert.ok(h.os.id === os.id && (os.version === null || h.os.version.split(".")[0] === os.version), "os");
    if (range && !("error" in range)) assert.ok(satisfies(parseVersion(h.kernel)!, range), "kernel");
    for (const [k, v] of Object.entries(spec.constraints.labels)) assert.equal(h.labels[k], v, "labels");
    const l = load.get(h.id)!;
    l.cpu += spec.resources.cpu;
    l.mem += spec.resources.memoryMiB;
    l.disk += spec.resources.diskMiB;
    assert.ok(l.cpu <= h.cores + 1e-9 && l.mem <= h.memoryMiB && l.disk <= h.diskMiB, `${h.id} overbooked`);
    if (spec.antiAffinity !== null) {
      const key = `${spec.antiAffinity}@${rackOf(h)}`;
      assert.equal(tagRacks.get(key) ?? 0, 0, `two ${spec.antiAffinity} tasks in ${rackOf(h)}`);
      tagRacks.set(key, 1);
    }
  }
  assert.equal(plan.placements.length + plan.unplaced.length, new Set(req.indexes).size);
}

/** The most tasks of the job in one domain at its spread level after the plan. */
function worstDomain(index: ClusterIndex, hosts: SchedHost[], spec: JobSpec): number {
  if (spec.spread === "none") return 0;
  const byId = new Map(hosts.map((h) => [h.id, h]));
  const counts = new Map<string, number>();
  for (const t of index.tasksOf(spec.name)) {
    const k = domainKey(byId.get(t.hostId)!.domain, spec.spread);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return Math.max(0, ...counts.values());
}

void test("fast plans are feasible and equal to the naive loop's on random clusters", () => {
  let plans = 0;
  let placed = 0;
  let unplaced = 0;
  for (let world = 0; world < 150; world++) {
    const r = mulberry32(1000 + world);
    const hosts = randomHosts(r);
    const fast = new ClusterIndex(hosts);
    const naive = new ClusterIndex(hosts);
    const specs: JobSpec[] = [];
    for (let j = 0; j < 12; j++) {
      // Mostly new jobs; sometimes re-place or grow an earlier one (moves, avoid lists, existing spread).
      const reuse = specs.length > 0 && r() < 0.3;
      const spec = reuse ? pick(r, specs) : randomSpec(r, `job${j}`);
      if (!reuse) specs.push(spec);
      const indexes = Array.from({ length: spec.replicas }, (_, i) => (reuse && r() < 0.5 ? i : i + spec.replicas * j));
      const avoid: Record<number, string[]> = {};
      if (reuse && hosts.length > 0) for (const i of indexes) if (r() < 0.3) avoid[i] = [pick(r, hosts).id, pick(r, hosts).id];
      const req: PlanRequest = { spec, indexes, avoid, seed: Math.floor(r() * 1000) };
      const a = fast.plan(req);
      const b = naive.naivePlan(req);
      assert.deepEqual(a, b, `world ${world} job ${j} (${spec.spread})`);
      assert.deepEqual(fast.plan(req), a, "plan() must not change the index");
      checkFeasible(fast, hosts, req, a);
      fast.commit(a, spec);
      naive.commit(b, spec);
      assert.ok(worstDomain(fast, hosts, spec) <= worstDomain(naive, hosts, spec));
      plans++;
      placed += a.placements.length;
      unplaced += a.unplaced.length;
    }
    // Occasionally the fleet changes under the index: drain one host, remove another.
    if (hosts.length > 2) {
      const h = { ...hosts[0]!, schedulable: false };
      fast.upsertHost(h);
      naive.upsertHost(h);
      fast.removeHost(hosts[1]!.id);
      naive.removeHost(hosts[1]!.id);
      const spec = randomSpec(r, "after-change");
      const req = { spec, indexes: [0, 1, 2, 3], seed: 7 };
      assert.deepEqual(fast.plan(req), naive.naivePlan(req));
    }
  }
  // Guard against a vacuous pass: the worlds must exercise both outcomes.
  assert.ok(plans > 1000 && placed > 3000 && unplaced > 100, `plans ${plans} placed ${placed} unplaced ${unplaced}`);
});

void test("tasks the index knows keep counting after plans and commits (sanity of the reads)", () => {
  const hosts = [makeHost("a", { rack: "r1" }), makeHost("b", { rack: "r2" })];
  const index = new ClusterIndex(hosts, [{ job: "x", index: 0, hostId: "a", cpu: 2, memoryMiB: 100, diskMiB: 10, antiAffinity: null } satisfies SchedTask]);
  assert.deepEqual(index.used("a"), { cpu: 2, memoryMiB: 100, diskMiB: 10 });
  assert.equal(index.hostOf("x", 0), "a");
  assert.equal(index.hostOf("x", 1), null);
});
