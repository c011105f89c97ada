import { test } from "node:test";
import assert from "node:assert/strict";
import { devAgentArgs, devLayout, formatLabels } from "./layout.ts";

void test("devLayout: names, racks and clusters, and slices sized so the fleet survives losing one agent", () => {
  const three = devLayout(3, { cores: 2, memoryMiB: 8000, diskMiB: 30_000 });
  assert.deepEqual(
    three.map((a) => [a.name, a.labels["cluster"], a.labels["rack"], a.cores, a.memoryMiB, a.diskMiB]),
    [
      ["dev-1", "c1", "r1", 1, 4000, 15_000],
      ["dev-2", "c1", "r2", 1, 4000, 15_000],
      ["dev-3", "c2", "r3", 1, 4000, 15_000],
    ],
  );
  for (const a of three) assert.deepEqual({ region: a.labels["region"], datacenter: a.labels["datacenter"] }, { region: "dev", datacenter: "dc1" });
  // The README's failover demo: with any one agent killed, the others still offer the whole machine,
  // so its tasks find room elsewhere instead of waiting for the agent to come back.
  for (let dead = 0; dead < three.length; dead++) {
    const left = three.filter((_, i) => i !== dead);
    assert.equal(left.reduce((s, a) => s + a.cores, 0), 2, `cores without dev-${dead + 1}`);
    assert.equal(left.reduce((s, a) => s + a.memoryMiB, 0), 8000, `memory without dev-${dead + 1}`);
  }

  const six = devLayout(6, { cores: 8, memoryMiB: 16_000, diskMiB: 1000 });
  assert.deepEqual(six.map((a) => `${a.labels["cluster"]}/${a.labels["rack"]}`), ["c1/r1", "c1/r2", "c1/r3", "c2/r1", "c2/r2", "c2/r3"]);
  assert.equal(six[0]?.cores, 1.6);

  const solo = devLayout(1, { cores: 4, memoryMiB: 8000, diskMiB: 1000 });
  assert.deepEqual([solo[0]?.cores, solo[0]?.memoryMiB], [4, 8000], "one agent gets the machine");

  const one = devLayout(1, { cores: 0.05, memoryMiB: 10, diskMiB: 10 });
  assert.deepEqual([one[0]?.cores, one[0]?.memoryMiB, one[0]?.diskMiB], [0.1, 64, 64], "floors keep a tiny machine usable");
});

void test("formatLabels", () => {
  assert.equal(formatLabels({ region: "dev", rack: "r1" }), "region=dev,rack=r1");
});

void test("devAgentArgs: loopback, the agent's slice and labels, the fallback; --allow-unsandboxed only when asked", () => {
  const [p] = devLayout(1, { cores: 2, memoryMiB: 1024, diskMiB: 2048 });
  assert.ok(p);
  const at = { url: "http://127.0.0.1:7070", joinTokenFile: "/d/server/join.token", dataDir: "/d/dev-1", allowUnsandboxed: false };
  assert.deepEqual(devAgentArgs(p, at), [
    "agent", "--server", "http://127.0.0.1:7070", "--join-token-file", "/d/server/join.token", "--data", "/d/dev-1", "--name", "dev-1", "--listen", "127.0.0.1:0",
    "--labels", "region=dev,datacenter=dc1,cluster=c1,rack=r1", "--cores", "2", "--memory", "1024", "--disk", "2048", "--unsandboxed-fallback",
  ]);
  assert.deepEqual(devAgentArgs(p, { ...at, allowUnsandboxed: true }).slice(-2), ["--unsandboxed-fallback", "--allow-unsandboxed"]);
});
