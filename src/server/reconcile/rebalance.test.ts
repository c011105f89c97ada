import { test } from "node:test";
import assert from "node:assert/strict";
import { ClusterIndex } from "../../scheduler/api.ts";
import { makeHost, makeSpec } from "../../scheduler/testing.ts";
import type { FailureDomain } from "../../model/index.ts";
import { planSpreadMove, spreadCandidate } from "./rebalance.ts";

void test("spreadCandidate: the newest task of the most crowded domain, when the gap is 2 or more", () => {
  const rackOf = (h: string): string => h.slice(0, 2);
  const tasks = (hosts: string[]) => hosts.map((hostId, index) => ({ index, hostId }));
  const cases: { name: string; hosts: string[]; open: string[]; want: number | null }[] = [
    { name: "3/3/0 after a rack came back: move", hosts: ["r2a", "r3a", "r2b", "r3b", "r2a", "r3a"], open: ["r1", "r2", "r3"], want: 4 },
    { name: "2/2/2: balanced", hosts: ["r1a", "r2a", "r3a", "r1a", "r2a", "r3a"], open: ["r1", "r2", "r3"], want: null },
    { name: "2/1/0 (3 tasks... gap 2): move one from r1", hosts: ["r1a", "r2a", "r1b"], open: ["r1", "r2", "r3"], want: 2 },
    { name: "the empty rack is not open (down or draining): nothing", hosts: ["r2a", "r3a", "r2b", "r3b"], open: ["r2", "r3"], want: null },
    { name: "gap of 1 is as good as it gets", hosts: ["r1a", "r2a", "r1b"], open: ["r1", "r2"], want: null },
  ];
  for (const c of cases) assert.equal(spreadCandidate(tasks(c.hosts), rackOf, new Set(c.open))?.index ?? null, c.want, c.name);
});

void test("planSpreadMove: moves one task into the emptiest rack; never into one as crowded; leaves the index as it was otherwise", () => {
  const hosts = ["r1", "r2", "r3"].map((rack) => makeHost(`h-${rack}`, { rack, cores: 4, memoryMiB: 4096 }));
  const domains = new Map<string, FailureDomain>(hosts.map((h) => [h.id, h.domain]));
  const spec = makeSpec("web", { replicas: 6, cpu: 0.5, memoryMiB: 256 });
  const on = (host: string, index: number) => ({ job: "web", index, hostId: host, cpu: 0.5, memoryMiB: 256, diskMiB: 0, antiAffinity: null });
  const crowded = [on("h-r2", 0), on("h-r3", 1), on("h-r2", 2), on("h-r3", 3), on("h-r2", 4), on("h-r3", 5)];
  const index = new ClusterIndex(hosts, crowded);
  const mv = planSpreadMove(index, spec, domains, domains);
  assert.deepEqual(mv?.need, { index: 4, avoid: ["h-r2"], move: true });
  assert.deepEqual(mv?.plan.placements, [{ index: 4, hostId: "h-r1" }]);
  assert.equal(index.hostOf("web", 4), "h-r1", "booked in the index");

  // r1 has no room: the only other place is r2, as crowded as r3 would be after: no move, index unchanged.
  const full = new ClusterIndex([makeHost("h-r1", { rack: "r1", cores: 0.2 }), ...hosts.slice(1)], crowded);
  assert.equal(planSpreadMove(full, spec, domains, domains), null);
  assert.deepEqual(full.tasksOf("web").map((t) => t.hostId), crowded.map((t) => t.hostId));
  assert.equal(planSpreadMove(new ClusterIndex(hosts, crowded), { ...spec, spread: "none" }, domains, domains), null, "spread none: nothing to restore");
});
