import { test } from "node:test";
import assert from "node:assert/strict";
import { specOf } from "../testing/fixtures.ts";
import { replaceCauses } from "./version-change.ts";

void test("replaceCauses: which spec changes need a new attempt", () => {
  const base = specOf({ replicas: 3 });
  const cases: { name: string; to: ReturnType<typeof specOf>; want: string[] }[] = [
    { name: "same spec", to: base, want: [] },
    { name: "replicas only", to: specOf({ replicas: 5 }), want: [] },
    { name: "restart policy and maintenance", to: specOf({ replicas: 3, restart: { backoffInitialMs: 1, backoffMaxMs: 2, moveAfterFailures: 9 }, maintenance: "endure" }), want: [] },
    { name: "adapt bounds only (the server's policy)", to: specOf({ replicas: 3, adapt: { min: { cpu: null, memoryMiB: 64 }, max: { cpu: 2, memoryMiB: null }, everyMs: 3_600_000 } }), want: [] },
    { name: "env", to: specOf({ replicas: 3, env: { A: "1" } }), want: ["env"] },
    { name: "command, resources and replicas", to: specOf({ replicas: 1, command: ["/bin/true"], resources: { cpu: 2, memoryMiB: 256, diskMiB: 100 } }), want: ["command", "resources"] },
    { name: "metric checks added, then tuned: judged by the agent from the new spec, no restart", to: specOf({ replicas: 3, metricChecks: [{ signal: "errors", when: "above", threshold: 5, forMs: 30_000, graceMs: 0, action: "restart" }] }), want: [] },
    { name: "a file name that is no identifier", to: specOf({ replicas: 3, files: { "a/b.txt": { content: "x", mode: 0o644 } } }), want: ["files"] },
  ];
  for (const c of cases) assert.deepEqual(replaceCauses(base, c.to), c.want, c.name);
});
