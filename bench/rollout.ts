// Phased rollouts at scale (issue 14): one job of TASKS tasks over HOSTS simulated agents in RACKS racks,
// CLUSTERS clusters and DATACENTERS datacenters, against a real `tiffin server` process (SQLite).
// Simulated agents start and stop tasks at once (they report "running" for what should run and
// "exited" for what should stop, through the API real agents use), and crash every attempt of a
// version whose spec sets CRASH=1 at start (it reports "exited" with code 1, by itself).
//
//   node bench/rollout.ts [--hosts 1000] [--tasks 10000] [--racks 500] [--clusters 20] [--datacenters 4]
//
// Measured, in order:
//   1. a good v2 with bake 0 and the default 10% budget: rollout time (apply to "succeeded"), the most
//      tasks unavailable at any instant (from the agents' side: a task is available while an attempt
//      of it runs there), the server's CPU;
//   2. a bad v3 (its tasks crash): the tasks it touched (only phase 1's should be), the time from the
//      phase's failure (the Rollout record's failure time) to every task running the old spec again;
//   3. the judge's CPU per comparison (judgeBake on a phase of 1,000 new against 9,000 old tasks).
// Unavailability is counted from what agents report, event by event (no sampling gap).

import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AttemptUpdate } from "../src/api/types.ts";
import type { JobSpec, Rollout } from "../src/model/index.ts";
import { isTerminal } from "../src/model/index.ts";
import { defaultRolloutChecks } from "../src/model/judge/index.ts";
import { judgeBake } from "../src/server/reconcile/rollout-judge.ts";
import { startRollout } from "../src/server/reconcile/rollout-start.ts";
import { startServerProcess } from "../src/server/testing/cluster.ts";
import { specOf } from "../src/server/testing/fixtures.ts";
import { call, cpuSeconds, pool } from "./lib.ts";
import { SimAgent } from "./sim-agent.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "1000" },
    tasks: { type: "string", default: "10000" },
    racks: { type: "string", default: "500" },
    clusters: { type: "string", default: "20" },
    datacenters: { type: "string", default: "4" },
    "deadline-s": { type: "string", default: "600" },
  },
});
const HOSTS = Number(values.hosts);
const TASKS = Number(values.tasks);
const RACKS = Number(values.racks);
const CLUSTERS = Number(values.clusters);
const DCS = Number(values.datacenters);
/** A phase's deadline: long, so a loaded machine measures slowness instead of failing the rollout. */
const DEADLINE_MS = Number(values["deadline-s"]) * 1000;
const JOB = "big";

/** What the fleet runs now: attempt id -> task index, for the job's live attempts (reported running). */
const running = new Map<string, number>();
/** Live attempts per task index. */
const liveByIndex = new Map<number, number>();
let maxUnavailable = 0;
let trackUnavailable = false;
/** Task indexes that ran an attempt, per spec env V (which tasks a version touched). */
const startedByV = new Map<string, Set<number>>();
/** The ids of the bad version's attempts (V=3) the fleet ran. */
const v3Ids = new Set<string>();

function unavailable(): number {
  return TASKS - liveByIndex.size;
}
function up(id: string, index: number): void {
  if (running.has(id)) return;
  running.set(id, index);
  liveByIndex.set(index, (liveByIndex.get(index) ?? 0) + 1);
}
function down(id: string): void {
  const index = running.get(id);
  if (index === undefined) return;
  running.delete(id);
  const n = (liveByIndex.get(index) ?? 1) - 1;
  if (n <= 0) liveByIndex.delete(index);
  else liveByIndex.set(index, n);
  if (trackUnavailable) maxUnavailable = Math.max(maxUnavailable, unavailable());
}

/** A simulated agent (bench/sim-agent.ts) that reports at once; a version whose spec sets CRASH=1
 * exits at start by itself. What it reports is the data plane's view: a task starts or stops when
 * its agent says so. */
function fleetAgent(url: string, name: string, labels: Record<string, string>): SimAgent {
  return new SimAgent({
    url, name, labels, callTimeoutMs: 60_000, connectTimeoutMs: 10_000, heartbeatMs: 1000, actEveryMs: 500, forgetRefused: true,
    plan: (latest, reported, now) => {
      const updates: AttemptUpdate[] = [];
      for (const { attempt: a, spec } of latest) {
        const crash = spec.env["CRASH"] === "1";
        const prev = reported.get(a.id);
        let want: "running" | "exited" | null = null;
        if (a.desired === "stop") want = "exited";
        else if (prev === undefined) want = crash ? "exited" : "running"; // a bad version dies at start, by itself
        if (want === null || prev === want || isTerminal(a.state) || (prev === "exited")) continue;
        const byItself = want === "exited" && a.desired === "run";
        updates.push({ id: a.id, state: want, pid: want === "running" ? 1000 : null, exitCode: want === "exited" ? (byItself ? 1 : 0) : null, signal: null, reason: byItself ? "crashed (simulated)" : null, ports: {}, startedAt: now, endedAt: want === "exited" ? now : null, ...(want === "exited" ? { endCause: byItself ? "exit" : "stop" } : {}) } as AttemptUpdate);
      }
      return updates;
    },
    onSend: (updates, latest) => {
      const byId = new Map(latest.map((x) => [x.attempt.id, x]));
      for (const u of updates) {
        const x = byId.get(u.id);
        if (!x || x.attempt.job !== JOB) continue;
        // Touched: the task was given an attempt of that version to run (started, or crashed at start).
        const v = x.spec.env["V"] ?? "?";
        if (x.attempt.desired === "run") {
          if (!startedByV.has(v)) startedByV.set(v, new Set());
          startedByV.get(v)?.add(x.attempt.index);
        }
        if (u.state === "running") {
          up(u.id, x.attempt.index);
          if (v === "3") v3Ids.add(u.id);
        } else down(u.id);
      }
    },
  });
}

function jobSpec(v: string, crash: boolean): JobSpec {
  return specOf({
    name: JOB,
    replicas: TASKS,
    env: { V: v, ...(crash ? { CRASH: "1" } : {}) },
    resources: { cpu: 0.01, memoryMiB: 16, diskMiB: 1 },
    spread: "rack",
    rollout: { phases: null, bakeMs: 0, deadlineMs: DEADLINE_MS, maxUnavailable: "10%", maxSurge: 0, onFailure: "rollback" },
  });
}

async function waitUntil(what: string, fn: () => Promise<boolean> | boolean, timeoutMs = 600_000, everyMs = 100): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (await fn()) return performance.now() - start;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out: ${what}`);
}

const dir = mkdtempSync(join(tmpdir(), "tiffin-bench-rollout-"));
const server = await startServerProcess({ dataDir: dir, endpoints: null, prefix: "/bench" });
// A kept-alive socket the server closed while idle (its keep-alive timeout, on a loaded machine
// polls can be seconds apart) fails the next call with ECONNRESET before the server read it: tried again.
const api = async <T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
  for (let i = 0; ; i++) {
    try {
      return await call<T>(server.url, method, path, server.adminToken, body);
    } catch (err) {
      if (i >= 3 || (err as NodeJS.ErrnoException).code !== "ECONNRESET") throw err;
    }
  }
};
const rolloutsOf = async (): Promise<Rollout[]> => (await api<Rollout[]>("GET", `/v1/jobs/${JOB}/rollouts`)).body;
const agents: SimAgent[] = [];
try {
  const t0 = performance.now();
  const perRack = Math.max(1, Math.round(HOSTS / RACKS));
  for (let i = 0; i < HOSTS; i++) {
    const rack = Math.floor(i / perRack) % RACKS;
    const cluster = Math.floor((rack * CLUSTERS) / RACKS);
    const dc = Math.floor((cluster * DCS) / CLUSTERS);
    agents.push(fleetAgent(server.url, `h${String(i).padStart(5, "0")}`, { datacenter: `dc${dc}`, cluster: `c${cluster}`, rack: `r${rack}` }));
  }
  await pool(agents, 50, (a) => a.start(server.joinToken));
  console.log(`${HOSTS} agents in ${RACKS} racks, ${CLUSTERS} clusters, ${DCS} datacenters registered in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // v1: placed and running.
  let t = performance.now();
  await api("POST", "/v1/jobs", { spec: jobSpec("1", false) });
  await waitUntil("v1 runs", () => liveByIndex.size === TASKS);
  console.log(`v1: ${TASKS} tasks placed and running in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  // 1. A good v2, bake 0, 10% budget.
  trackUnavailable = true;
  maxUnavailable = unavailable();
  const cpu0 = cpuSeconds(server.child.pid ?? 0);
  const own0 = process.cpuUsage();
  t = performance.now();
  await api("POST", "/v1/jobs", { spec: jobSpec("2", false) });
  await waitUntil("v2's rollout ends", async () => { const r = (await rolloutsOf()).find((x) => x.version === 2); return r !== undefined && r.state !== "running"; }, 3_600_000, 250);
  const rolloutS = (performance.now() - t) / 1000;
  const v2 = (await rolloutsOf()).find((x) => x.version === 2);
  const v2Cpu = cpuSeconds(server.child.pid ?? 0) - cpu0;
  const own = process.cpuUsage(own0);
  const fleetCpu = (own.user + own.system) / 1e6;
  if (v2?.state !== "succeeded") throw new Error(`v2's rollout ${v2?.state}: ${v2?.why}`);
  await waitUntil("every task on v2", () => liveByIndex.size === TASKS && (startedByV.get("2")?.size ?? 0) === TASKS);
  console.log(`good v2: rollout ${rolloutS.toFixed(1)} s over ${v2?.phases.length} phases (${v2?.phases.map((p) => `${String(p.spec)}:${p.tasks.length}`).join(" ")}), budget ${v2?.maxUnavailable}, most unavailable at once ${maxUnavailable}, server CPU ${v2Cpu.toFixed(1)} s, simulated fleet CPU ${fleetCpu.toFixed(1)} s`);
  console.log(`  phase durations: ${v2?.phases.map((p) => `${String(p.spec)} ${(((p.endedAt ?? 0) - (p.startedAt ?? 0)) / 1000).toFixed(1)} s`).join(", ")}`);
  const budgetOk = maxUnavailable <= (v2?.maxUnavailable ?? 0);

  // 2. A bad v3: its tasks crash; the first phase fails and the job rolls back.
  const before = maxUnavailable;
  maxUnavailable = unavailable();
  await api("POST", "/v1/jobs", { spec: jobSpec("3", true) });
  await waitUntil("v3's rollout fails", async () => (await rolloutsOf()).some((r) => r.version === 3 && r.state === "failed"), 600_000, 50);
  const failed = (await rolloutsOf()).find((r) => r.version === 3);
  const failedAt = failed?.phases[failed.failure?.phase ?? 0]?.endedAt ?? failed?.endedAt ?? Date.now();
  // Back: every task serving the old spec again (no live v3 attempt left).
  await waitUntil("every task back on v2's spec", () => liveByIndex.size === TASKS && ![...running.keys()].some((id) => v3Ids.has(id)), 600_000, 20);
  const backMs = Date.now() - failedAt;
  const touched = startedByV.get("3")?.size ?? 0;
  console.log(`bad v3: failed at phase ${failed?.failure?.phase} (${failed?.failure?.check}), ${failed?.phases[0]?.tasks.length} task(s) in phase 1, tasks touched ${touched}, back on the old spec ${backMs} ms after the failing check (rolled back to version ${failed?.rolledBackTo}), most unavailable at once ${maxUnavailable}`);

  // 3. The judge's CPU per comparison: a phase of 1,000 new tasks against 9,000 old, 20 points each.
  const judgeMs = judgeCost();
  console.log(`judge: ${judgeMs.toFixed(2)} ms of CPU per judgeBake (1,000 new vs 9,000 old tasks, 20 points each, errors and latency compared)`);
  console.log(JSON.stringify({ hosts: HOSTS, tasks: TASKS, load: loadavg()[0], rolloutS, fleetCpuS: fleetCpu, phases: v2?.phases.length, budget: v2?.maxUnavailable, maxUnavailable: before, budgetOk, serverCpuS: v2Cpu, touched, backMs, judgeMs }));
  if (!budgetOk || touched > (failed?.phases[0]?.tasks.length ?? 1)) process.exitCode = 1;
} finally {
  for (const a of agents) a.stop();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

function judgeCost(): number {
  const checks = { ...defaultRolloutChecks({ errors: "errors_total", latency: "latency_seconds" }), crashRate: null };
  const spec = { name: JOB, replicas: 10_000, rollout: { phases: ["10%", "all"], bakeMs: 0, deadlineMs: 60_000, maxUnavailable: "10%", maxSurge: 0, onFailure: "rollback", checks } } as unknown as JobSpec;
  const r0 = startRollout({ job: JOB, version: 2, from: 1, cause: "apply", spec, tasks: Array.from({ length: 10_000 }, (_, index) => ({ index, domain: null })), now: 0 });
  const r = { ...r0, phases: r0.phases.map((p, i) => (i === 0 ? { ...p, healthyAt: 0 } : p)) };
  const tasks = Array.from({ length: 10_000 }, (_, index) => ({ index, isNew: index < 1000, ready: true, newEnds: 0, oldEnds: 0 }));
  const reached = new Set(r.phases[0]?.tasks ?? []);
  const points = Array.from({ length: 20 }, (_, i) => ({ at: i * 1000, up: true, scrapeErrors: 0, clients: null, errorsPerSec: 1 + (i % 5) * 0.01, latencySeconds: 0.1 + (i % 3) * 0.001 }));
  const reader = { seriesOf: () => points, domainOf: () => null };
  const runs = 5;
  const c0 = process.cpuUsage();
  for (let i = 0; i < runs; i++) judgeBake(r, checks, tasks, reached, 0, 30_000, reader);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / runs;
}
