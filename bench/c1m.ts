// The whole control plane in C1M's shape: JOBS jobs of TASKS tasks applied through the HTTP API to a real
// `tiffin server` process, with HOSTS simulated agents registering and heartbeating through the same API
// real agents use, until every task is placed and durably recorded (then kill -9 the server, restart it,
// and count again, to prove "durably": every job's placed count must come back the same, or the
// benchmark says what was lost and exits 1).
//
//   node bench/c1m.ts [--hosts 10000] [--jobs 1000] [--tasks 1000] [--heartbeat-ms 1000 (until the server says)]
//
// Simulated agents do not run tasks: this measures the server (API, store, scheduler, reconcilers).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { call, cpuSeconds, keepAlive, pct, peakRssMiB, pool } from "./lib.ts";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { compileJobs } from "../src/spec/api.ts";
import type { JobSummary, RegisterResponse } from "../src/api/types.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "10000" },
    jobs: { type: "string", default: "1000" },
    tasks: { type: "string", default: "1000" },
    "heartbeat-ms": { type: "string", default: "1000" },
  },
});
const HOSTS = Number(values.hosts);
const JOBS = Number(values.jobs);
const TASKS = Number(values.tasks);
const HEARTBEAT_MS = Number(values["heartbeat-ms"]);
const root = join(import.meta.dirname, "..");


async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}


async function startServer(dir: string, port: number, timeoutMs = 30_000): Promise<{ proc: ChildProcess; admin: string; join: string }> {
  const log = openSync(join(dir, "server.log"), "a");
  const prof = process.env["TIFFIN_BENCH_CPU_PROF"] ? ["--cpu-prof", `--cpu-prof-dir=${process.env["TIFFIN_BENCH_CPU_PROF"]}`] : [];
  const proc = spawn(process.execPath, [...prof, join(root, "bin/tiffin.js"), "server", "--data", dir, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", log, log] });
  for (let i = 0; i < timeoutMs / 100; i++) {
    try {
      const admin = readFileSync(join(dir, "admin.token"), "utf8").trim();
      const joinToken = readFileSync(join(dir, "join.token"), "utf8").trim();
      const r = await call(`http://127.0.0.1:${port}`, "GET", "/v1/jobs", admin);
      if (r.status === 200) return { proc, admin, join: joinToken };
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("server did not start");
}

/** Placed tasks by job, as the server's GET /v1/jobs counts them. */
async function placedByJob(port: number, admin: string): Promise<Map<string, number>> {
  const r = await call<JobSummary[]>(`http://127.0.0.1:${port}`, "GET", "/v1/jobs", admin);
  if (r.status !== 200) throw new Error(`GET /v1/jobs: ${r.status} ${JSON.stringify(r.body)}`);
  return new Map(r.body.map((j) => [j.name, j.placed]));
}

async function placedCount(port: number, admin: string): Promise<number> {
  return [...(await placedByJob(port, admin)).values()].reduce((a, b) => a + b, 0);
}

const dir = mkdtempSync(join(tmpdir(), "tiffin-c1m-"));
const port = await freePort();
let server = await startServer(dir, port);
console.log(`c1m: ${HOSTS} hosts, ${JOBS} jobs x ${TASKS} tasks, heartbeat ${HEARTBEAT_MS} ms, server pid ${server.proc.pid}`);

// Register the simulated fleet: 20 hosts a rack, 25 racks a cluster.
const t0 = performance.now();
const hosts: { id: string; token: string }[] = [];
await pool(Array.from({ length: HOSTS }, (_, i) => i), 64, async (i) => {
  const rack = Math.floor(i / 20);
  const inventory = {
    name: `sim-${i}`, address: "127.0.0.1:9", cores: 64, memoryMiB: 262_144, diskMiB: 1_048_576,
    os: { id: "debian", version: "12" }, kernel: "6.1.0", runtime: "crun 1.8.1 (simulated)",
    labels: { region: "r", datacenter: `dc${Math.floor(rack / 250)}`, cluster: `c${Math.floor(rack / 25)}`, rack: `rack${rack}` },
  };
  const r = await call<RegisterResponse>(`http://127.0.0.1:${port}`, "POST", "/v1/agent/register", server.join, { inventory });
  if (r.status !== 200) throw new Error(`register ${i}: ${r.status} ${JSON.stringify(r.body)}`);
  hosts.push({ id: r.body.hostId, token: r.body.hostToken });
});
console.log(`registered ${HOSTS} hosts in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

// Heartbeats: each host at the interval the server asks for (as a real agent does: the server
// stretches it for big fleets, see maxHeartbeatsPerSecond), spread evenly over the interval.
/** Latencies of heartbeats the server accepted (200 and ok: a refused one renewed nothing). */
const latencies: number[] = [];
let refusedBeats = 0;
let failedBeats = 0;
let heartbeating = true;
let interval = HEARTBEAT_MS;
const intervals = new Set<number>();
const beats = (async () => {
  let i = 0;
  while (heartbeating) {
    const tick = performance.now();
    const perTick = Math.max(1, Math.ceil(hosts.length / (interval / 10)));
    for (let k = 0; k < perTick; k++, i = (i + 1) % hosts.length) {
      const h = hosts[i] as { id: string; token: string };
      const s = performance.now();
      call<{ ok?: boolean; heartbeatMs?: number } | null>(`http://127.0.0.1:${port}`, "POST", "/v1/agent/heartbeat", h.token, { hostId: h.id }).then(
        (r) => {
          if (r.status !== 200 || r.body?.ok !== true) {
            refusedBeats++;
            return;
          }
          latencies.push(performance.now() - s);
          if (r.body.heartbeatMs) {
            interval = r.body.heartbeatMs;
            intervals.add(interval);
          }
        },
        () => failedBeats++,
      );
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 10 - (performance.now() - tick))));
  }
})();

// Apply the jobs through the API.
const cpu0 = cpuSeconds(server.proc.pid ?? 0);
const start = performance.now();
await pool(Array.from({ length: JOBS }, (_, j) => j), 8, async (j) => {
  const { specs, problems } = compileJobs({ name: `job-${j}`, command: ["/bin/true"], replicas: TASKS, resources: { cpu: 0.05, memory: "64Mi", disk: "64Mi" } }, null);
  if (problems.length) throw new Error(JSON.stringify(problems));
  const r = await call(`http://127.0.0.1:${port}`, "POST", "/v1/jobs", server.admin, { spec: specs[0] });
  if (r.status !== 200) throw new Error(`apply job-${j}: ${r.status} ${JSON.stringify(r.body)}`);
});
const applied = performance.now();
console.log(`applied ${JOBS} jobs in ${((applied - start) / 1000).toFixed(1)} s`);
let placed = 0;
while ((placed = await placedCount(port, server.admin)) < JOBS * TASKS) {
  if (performance.now() - start > 600_000) break;
  await new Promise((r) => setTimeout(r, 1000));
}
const done = performance.now();
const cpu = cpuSeconds(server.proc.pid ?? 0) - cpu0;
// The server's own view of its stalls (prom-client's process metrics): event-loop lag and GC time.
const metricsText = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${server.admin}` } }).then((r) => r.text(), () => "");
const metric = (name: string): number => {
  let sum = 0;
  for (const line of metricsText.split("\n")) if (line.startsWith(name) && (line[name.length] === " " || line[name.length] === "{")) sum += Number(line.slice(line.lastIndexOf(" ") + 1)) || 0;
  return sum;
};
const stalls = `server event-loop lag p99 ${(1000 * metric("nodejs_eventloop_lag_p99_seconds")).toFixed(0)} ms, max ${(1000 * metric("nodejs_eventloop_lag_max_seconds")).toFixed(0)} ms; GC ${metric("nodejs_gc_duration_seconds_sum").toFixed(1)} s in ${metric("nodejs_gc_duration_seconds_count")} pauses`;
const rss = peakRssMiB(server.proc.pid ?? 0);
heartbeating = false;
await beats;
const sorted = latencies.slice().sort((a, b) => a - b);

console.log(`
placed ${placed} of ${JOBS * TASKS} tasks in ${((done - start) / 1000).toFixed(1)} s (apply calls took ${((applied - start) / 1000).toFixed(1)} s) -> ${Math.round(placed / ((done - start) / 1000))} placements/s end to end
server CPU ${cpu.toFixed(1)} s (${((100 * cpu) / ((done - start) / 1000)).toFixed(0)}% of one core), peak RSS ${rss} MiB
heartbeats ${latencies.length} accepted, ${refusedBeats} refused, ${failedBeats} without an answer; interval asked by the server: ${[...intervals].join(", ")} ms: p50 ${pct(sorted, 50).toFixed(1)} ms, p99 ${pct(sorted, 99).toFixed(1)} ms
${stalls}`);

// Durability: kill -9 the server, restart it on the same files, count again. (When profiling, stop it
// gently first so Node writes the profile.)
if (process.env["TIFFIN_BENCH_CPU_PROF"]) {
  server.proc.kill("SIGINT");
  await new Promise((r) => server.proc.once("exit", r));
}
const before = await placedByJob(port, server.admin);
server.proc.kill("SIGKILL");
await new Promise((r) => setTimeout(r, 200));
const restart = performance.now();
server = await startServer(dir, port, 300_000);
const after = await placedByJob(port, server.admin);
const restartS = (performance.now() - restart) / 1000;
server.proc.kill("SIGKILL");
keepAlive.destroy();
rmSync(dir, { recursive: true, force: true });

// The claim: every task placed before the kill is on record after it, job by job; and all were placed.
const lost = [...before].filter(([name, n]) => (after.get(name) ?? 0) !== n).map(([name, n]) => `${name}: ${n} placed before, ${after.get(name) ?? "no job"} after`);
const placedAfterCrash = [...after.values()].reduce((a, b) => a + b, 0);
const problems = [
  ...(placed < JOBS * TASKS ? [`only ${placed} of ${JOBS * TASKS} tasks were placed within 600 s`] : []),
  ...(before.size !== JOBS ? [`${before.size} jobs on record before the kill, ${JOBS} applied`] : []),
  ...lost.slice(0, 10),
  ...(lost.length > 10 ? [`... and ${lost.length - 10} more jobs`] : []),
];
console.log(`after kill -9 and restart: ${placedAfterCrash} of ${[...before.values()].reduce((a, b) => a + b, 0)} placed tasks on record, ${lost.length} of ${before.size} jobs changed (restart to first answer ${restartS.toFixed(1)} s)
${problems.length === 0 ? "OK: every task placed before the kill is on record after it" : `FAILED:\n  ${problems.join("\n  ")}`}
rerun: node bench/c1m.ts --hosts ${HOSTS} --jobs ${JOBS} --tasks ${TASKS} --heartbeat-ms ${HEARTBEAT_MS}`);
process.exit(problems.length === 0 ? 0 : 1);
