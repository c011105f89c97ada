// Property: `tiffin plan` and the apply that follows place identically for updates too. Random
// clusters (sizes, racks, labels, with and without an OCI runtime) first take a few jobs, then a run
// of random changes: env only (restarts in place), a new size (in place when it fits, moves when
// not), isolation none <-> sandbox (moves off hosts without a runtime), a label constraint, and a
// drained host. Fake agents play along (start what they are given, stop what they are asked to); once
// a change has rolled out completely, every task must sit exactly where the plan said, and the ones
// the plan could not place must stay unplaced.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobStatus, PlanResult } from "../api/types.ts";
import type { JobSpec } from "../model/index.ts";
import { mulberry32 } from "../scheduler/api.ts";
import { specOf } from "./testing/fixtures.ts";
import { call, eventually, FakeAgent, startTestServer } from "./testing/harness.ts";

const Seeds = [7, 23, 42, 99];
const FirstJobs = 4;
const Changes = 8;
const Live = new Set(["pending", "starting", "running", "healthy", "unhealthy"]);

// The seeds run side by side (each its own server and fake agents): the test mostly waits for the
// cluster to be quiet, so one after another took two minutes of the suite's time.
void test("plan and the following apply place identically for updates (random clusters)", { concurrency: true }, async (t) => {
  // What the changes did, over all seeds: the property is only worth something if each happened.
  const seen = { inPlace: 0, moved: 0, unplaced: 0, stalled: 0 };
  await Promise.all(Seeds.map((seed) =>
    t.test(`seed ${seed}`, async (tt) => {
      const rnd = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const ts = await startTestServer();
      tt.after(() => ts.cleanup());
      const { url, adminToken, joinToken } = ts.server;
      const agents: FakeAgent[] = [];
      const hostCount = 3 + Math.floor(rnd() * 4);
      for (let i = 0; i < hostCount; i++) {
        const a = new FakeAgent(url, `h${i}`);
        await a.register(joinToken, {
          cores: pick([2, 4]),
          memoryMiB: pick([1024, 2048, 4096]),
          labels: { rack: pick(["r1", "r2", "r3"]), disk: pick(["ssd", "hdd"]) },
          runtime: i < 2 || rnd() < 0.2 ? "none" : "crun 1.8.1 (simulated)",
        });
        await a.heartbeat();
        agents.push(a);
      }
      const applied = new Map<string, JobSpec>();
      const job = async (name: string): Promise<JobStatus> => (await call(url, "GET", `/v1/jobs/${name}`, adminToken)).body as JobStatus;
      // The agents' side: start what they were given, stop what they were asked to.
      const play = async (): Promise<void> => {
        await Promise.all(agents.map((a) => a.heartbeat()));
        for (const name of applied.keys()) {
          for (const task of (await job(name)).tasks) {
            for (const at of task.attempts) {
              const agent = agents.find((a) => a.hostId === at.hostId);
              if (!agent || !Live.has(at.state)) continue;
              if (at.desired === "stop") await agent.report([{ id: at.id, state: "stopped", endCause: "stop", endedAt: Date.now() }]);
              else if (at.state === "pending") await agent.report([{ id: at.id, state: "running", pid: 10, startedAt: Date.now() }]);
            }
          }
        }
      };
      let playing = Promise.resolve();
      const beat = setInterval(() => {
        playing = playing.then(play).catch(() => undefined);
      }, 200);
      tt.after(async () => {
        clearInterval(beat);
        await playing;
      });
      // Rolled out: no attempt waiting to start or to stop, every task of the job's version running
      // or unplaced with its reason. A task may stay on an older version only while the rollout is
      // stalled (rollout.ts: a replacement that cannot be placed uses up the disruption budget).
      const settled = (spec: JobSpec): Promise<JobStatus> =>
        eventually(
          `${spec.name} settled`,
          async () => {
            const s = await job(spec.name);
            const cur = s.tasks.filter((x) => x.version === s.version);
            const stalled = cur.some((x) => x.hostId === null);
            const done =
              s.tasks.length === spec.replicas &&
              s.tasks.every((x) => x.attempts.every((a) => !Live.has(a.state) || (a.id === x.attemptId && a.desired === "run" && a.state === "running"))) &&
              cur.every((x) => (x.hostId === null ? x.reason !== null : x.state === "running")) &&
              (cur.length === s.tasks.length || stalled);
            return done ? s : null;
          },
          30_000,
        ).catch(async (err: unknown) => {
          if (process.env["DBG"]) console.log("unsettled", spec.name, JSON.stringify((await job(spec.name)).tasks.map((x) => [x.index, x.version, x.hostName, x.state, x.reason, x.attempts.map((a) => [a.id.slice(-4), a.version, a.hostId.slice(-4), a.state, a.desired])])));
          throw err;
        });
      // Quiet: every job rolled out and nothing moving for a second (a spread move after a change
      // that opened a domain, rebalance.ts, is the cluster's next step, not the plan's promise).
      const snapshot = async (): Promise<string> => JSON.stringify(await Promise.all([...applied.values()].map(async (spec) => (await settled(spec)).tasks.map((x) => [x.hostId, x.attemptId]))));
      const quiet = async (): Promise<void> => {
        await eventually("the cluster quiet", async () => {
          const a = await snapshot();
          await new Promise((r) => setTimeout(r, 1000));
          return a === (await snapshot());
        }, 60_000);
      };
      const check = async (spec: JobSpec, what: string): Promise<void> => {
        await quiet();
        const plan = (await call(url, "POST", "/v1/plan", adminToken, { spec })).body as PlanResult;
        const r = await call(url, "POST", "/v1/jobs", adminToken, { spec });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        applied.set(spec.name, spec);
        // Quiet, not just settled: a task is unplaced at the new version by one write and placed by
        // the next. Where apply put a task is where its first attempt of the new version ran: a spread
        // move after the change opened a domain (rebalance.ts) may have followed.
        await quiet();
        const status = await settled(spec);
        const firstHost = (x: JobStatus["tasks"][number]): string | null => x.attempts.filter((a) => a.version === status.version).at(-1)?.hostId ?? null;
        const want = new Map(plan.placements.map((p) => [p.index, p.hostId]));
        const unplanned = new Set(plan.unplaced.map((u) => u.index));
        const seenAs = JSON.stringify({ plan: plan.tasks?.map((p) => [p.index, p.action, p.reason, p.hostBefore, p.hostAfter]), status: status.tasks.map((x) => [x.index, x.version, x.hostId, x.state, x.reason, x.attempts.map((a) => [a.version, a.hostId, a.state])]) });
        for (const p of plan.tasks ?? []) {
          if (p.action !== "replace" || p.hostBefore === null) continue;
          if (p.hostAfter === p.hostBefore) seen.inPlace++;
          else if (p.hostAfter === null) seen.unplaced++;
          else seen.moved++;
        }
        if (status.tasks.some((x) => x.version !== status.version)) seen.stalled++;
        for (const x of status.tasks) {
          const where = `${spec.name}/${x.index} (${what})`;
          if (x.version === status.version) {
            const first = firstHost(x);
            if (first === null) assert.ok(unplanned.has(x.index) && x.hostId === null, `${where}: unplaced, but the plan put it on ${want.get(x.index)}: ${seenAs}`);
            else assert.equal(first, want.get(x.index), `${where}: apply placed it where the plan said: ${seenAs}`);
          } else {
            // Held back by a stalled rollout: still where it was, which the plan either keeps or could not place anew.
            assert.ok(unplanned.has(x.index) || want.get(x.index) === x.hostId, `${where}: kept on ${x.hostId} at v${x.version}, the plan put it on ${want.get(x.index)}: ${seenAs}`);
          }
        }
      };

      for (let j = 0; j < FirstJobs; j++) {
        const spec = specOf({
          name: `job${j}`,
          replicas: 1 + Math.floor(rnd() * 4),
          resources: { cpu: pick([0.25, 0.5, 1]), memoryMiB: pick([128, 256, 512]), diskMiB: 10 },
          spread: pick(["none", "rack"] as const),
          isolation: pick(["none", "sandbox"] as const),
        });
        await check(spec, "new");
      }
      let drained = 0;
      for (let c = 0; c < Changes; c++) {
        const prev = pick([...applied.values()]);
        const kind = pick(["env", "size", "size", "isolation", "isolation", "labels", "drain"] as const);
        if (kind === "drain" && drained < hostCount - 2) {
          const host = agents[hostCount - 1 - drained]!;
          drained++;
          const d = await call(url, "POST", `/v1/hosts/${host.name}/drain`, adminToken);
          assert.equal(d.status, 200, JSON.stringify(d.body));
          for (const spec of applied.values()) await settled(spec);
        }
        const next: JobSpec =
          kind === "env" || kind === "drain"
            ? { ...prev, env: { ...prev.env, V: String(c) } }
            : kind === "size"
              ? { ...prev, resources: { ...prev.resources, cpu: pick([0.25, 0.5, 1, 2, 3]), memoryMiB: pick([128, 512, 1024, 2048]) } }
              : kind === "isolation"
                ? { ...prev, isolation: prev.isolation === "none" ? "sandbox" : "none" }
                : { ...prev, constraints: { ...prev.constraints, labels: Object.keys(prev.constraints.labels).length > 0 ? {} : { disk: "ssd" } } };
        await check(next, kind);
      }
    }),
  ));
  if (process.env["DBG"]) console.log("seen", seen);
  assert.ok(seen.inPlace > 0 && seen.moved > 0 && seen.unplaced > 0 && seen.stalled > 0, `every kind of change happened: ${JSON.stringify(seen)}`);
});
