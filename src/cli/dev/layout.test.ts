import { test } from "node:test";
import assert from "node:assert/strict";
import { devLayout, formatLabels } from "./layout.ts";

void test("devLayout: names, racks and clusters, and a fair slice of the machine", () => {
  const three = devLayout(3, { cores: 2, memoryMiB: 8000, diskMiB: 30_000 });
  assert.deepEqual(
    three.map((a) => [a.name, a.labels["cluster"], a.labels["rack"], a.cores, a.memoryMiB, a.diskMiB]),
    [
      ["dev-1", "c1", "r1", 0.6, 2666, 10_000],
      ["dev-2", "c1", "r2", 0.6, 2666, 10_000],
      ["dev-3", "c2", "r3", 0.6, 2666, 10_000],
    ],
  );
  for (const a of three) assert.deepEqual({ region: a.labels["region"], datacenter: a.labels["datacenter"] }, { region: "dev", datacenter: "dc1" });
  const total = three.reduce((s, a) => s + a.cores, 0);
  assert.ok(total <= 2, "never more cores than the machine has");

  const six = devLayout(6, { cores: 8, memoryMiB: 16_000, diskMiB: 1000 });
  assert.deepEqual(six.map((a) => `${a.labels["cluster"]}/${a.labels["rack"]}`), ["c1/r1", "c1/r2", "c1/r3", "c2/r1", "c2/r2", "c2/r3"]);
  assert.equal(six[0]?.cores, 1.3);

  const one = devLayout(1, { cores: 0.05, memoryMiB: 10, diskMiB: 10 });
  assert.deepEqual([one[0]?.cores, one[0]?.memoryMiB, one[0]?.diskMiB], [0.1, 64, 64], "floors keep a tiny machine usable");
});

void test("formatLabels", () => {
  assert.equal(formatLabels({ region: "dev", rack: "r1" }), "region=dev,rack=r1");
});
