// Property: `tiffin plan` and the apply that follows place identically. Random clusters (sizes,
// racks, labels, with and without an OCI runtime) take a run of random jobs and scale-ups against a
// real server and SQLite file with fake agents; after each apply the tasks must sit exactly where the
// plan said, and the ones the plan could not place must stay unplaced.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobStatus, PlanResult } from "../api/types.ts";
import type { JobSpec } from "../model/index.ts";
import { mulberry32 } from "../scheduler/api.ts";
import { specOf } from "./testing/fixtures.ts";
import { call, eventually, FakeAgent, startTestServer } from "./testing/harness.ts";

const Seeds = [11, 42];
const JobsPerCluster = 8;

void test("plan and the following apply place identically (random clusters)", async (t) => {
  for (const seed of Seeds) {
    await t.test(`seed ${seed}`, async (tt) => {
      const rnd = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const ts = await startTestServer();
      tt.after(() => ts.cleanup());
      const { url, adminToken, joinToken } = ts.server;
      const agents: FakeAgent[] = [];
      const hostCount = 2 + Math.floor(rnd() * 5);
      for (let i = 0; i < hostCount; i++) {
        const a = new FakeAgent(url, `h${i}`);
        await a.register(joinToken, {
          cores: pick([1, 2, 4]),
          memoryMiB: pick([1024, 2048, 4096]),
          labels: { rack: pick(["r1", "r2", "r3"]), disk: pick(["ssd", "hdd"]) },
          runtime: rnd() < 0.3 ? "none" : "crun 1.8.1 (simulated)",
        });
        await a.heartbeat();
        agents.push(a);
      }
      const beat = setInterval(() => void Promise.all(agents.map((a) => a.heartbeat())).catch(() => undefined), 300);
      tt.after(() => clearInterval(beat));

      const applied = new Map<string, JobSpec>();
      for (let j = 0; j < JobsPerCluster; j++) {
        // Either a new job or a scale-up of one applied before.
        const prev = applied.size > 0 && rnd() < 0.4 ? pick([...applied.values()]) : null;
        const spec: JobSpec = prev
          ? { ...prev, replicas: prev.replicas + 1 + Math.floor(rnd() * 3) }
          : specOf({
              name: `job${j}`,
              replicas: 1 + Math.floor(rnd() * 5),
              resources: { cpu: pick([0.25, 0.5, 1, 2]), memoryMiB: pick([128, 256, 512, 1024]), diskMiB: 10 },
              spread: pick(["none", "rack"] as const),
              isolation: pick(["none", "sandbox"] as const),
              constraints: { os: null, kernel: null, labels: rnd() < 0.3 ? { disk: "ssd" } : {} },
            });
        const plan = (await call(url, "POST", "/v1/plan", adminToken, { spec })).body as PlanResult;
        const r = await call(url, "POST", "/v1/jobs", adminToken, { spec });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        applied.set(spec.name, spec);
        // Settled: every task placed or unplaced with its reason.
        const status = await eventually(`${spec.name} settled`, async () => {
          const s = (await call(url, "GET", `/v1/jobs/${spec.name}`, adminToken)).body as JobStatus;
          return s.tasks.length === spec.replicas && s.tasks.every((x) => x.hostId !== null || x.reason !== null) ? s : null;
        });
        const want = Object.fromEntries(plan.placements.map((p) => [p.index, p.hostId]));
        const got = Object.fromEntries(status.tasks.filter((x) => x.hostId !== null).map((x) => [x.index, x.hostId]));
        assert.deepEqual(got, want, `${spec.name} (${prev ? "scale-up" : "new"}): apply placed where the plan said`);
        assert.deepEqual(status.tasks.filter((x) => x.hostId === null).map((x) => x.index).sort((a, b) => a - b), plan.unplaced.map((u) => u.index).sort((a, b) => a - b), `${spec.name}: the same tasks unplaced`);
      }
    });
  }
});
