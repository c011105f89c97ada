// The control plane's steady-state cost at fleet scale: a real server (its own process, SQLite) with
// HOSTS simulated agents (bench/sim-agent.ts, spread over PROCS fleet processes) heartbeating at the
// server's default interval and following their assignment streams, and TASKS running tasks in JOBS
// jobs (every other job offers a service: its tasks are endpoints), nothing changing. Measured twice,
// each over a window of SECONDS: first with the hosts alone (the baseline), then with every task
// running and every endpoint registered, so the ratio is what the tasks add:
//   - the server's CPU per second (utime + stime of its process, /proc), its RSS (VmRSS);
//   - heartbeat round trips as the agents see them, p50/p99;
//   - a CPU profile of the server over a second window of the same length (the inspector, in the
//     server process; its own cost kept out of the figures above): its top functions by self time,
//     and by file; the profile is written for DevTools (`--prof FILE`).
//
// Rerun: node bench/idle.ts [--hosts 10000] [--tasks 10000] [--jobs 4] [--procs 4] [--seconds 20]
// (--prof FILE keeps the loaded window's .cpuprofile; --top N lines of it).

import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AttemptUpdate } from "../src/api/types.ts";
import { Agent, setGlobalDispatcher } from "undici";
import { compileJobs } from "../src/spec/api.ts";
import { call, cpuSeconds, pct, pool } from "./lib.ts";
import { SimAgent } from "./sim-agent.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "10000" },
    tasks: { type: "string", default: "10000" },
    jobs: { type: "string", default: "4" },
    procs: { type: "string", default: "4" },
    seconds: { type: "string", default: "20" },
    top: { type: "string", default: "25" },
    prof: { type: "string" },
    // A fleet process's own arguments (set by the main process).
    fleet: { type: "string" },
    url: { type: "string" },
    join: { type: "string" },
  },
});
const HOSTS = Number(values.hosts);
const PROCS = Number(values.procs);

/** Messages between the bench and its fleet processes. */
type FleetMsg = { kind: "started" } | { kind: "stats"; running: number; beats: number[]; failed: number };

if (values.fleet !== undefined) await fleet(Number(values.fleet));
else await main();

/** One fleet process: the hosts h<i> with i % PROCS = k. Answers "stats" (running tasks reported, the
 * heartbeat round trips since the last "mark") over IPC. */
async function fleet(k: number): Promise<void> {
  const send = (m: FleetMsg): void => void process.send?.(m);
  let beats: number[] = [];
  let failed = 0;
  let running = 0;
  const agent = (name: string): SimAgent => new SimAgent({
    url: values.url ?? "", name, labels: { rack: `r${Number(name.slice(1, 6)) % 200}` },
    callTimeoutMs: 120_000, connectTimeoutMs: 60_000, heartbeatMs: 1000, serverInterval: true, actEveryMs: 5000,
    onHeartbeat: (ms, ok) => (ok ? beats.push(ms) : failed++),
    plan: (latest, reported, now) => {
      const updates: AttemptUpdate[] = [];
      for (const { attempt: a, spec } of latest) {
        if (a.desired !== "run" || reported.has(a.id)) continue;
        const ports = Object.fromEntries(spec.ports.map((p, j) => [p, 20_000 + ((a.index * 4 + j) % 40_000)]));
        updates.push({ id: a.id, state: "running", pid: 1000, exitCode: null, signal: null, reason: null, ports, startedAt: now, endedAt: null });
      }
      running += updates.length;
      return updates;
    },
  });
  const agents: SimAgent[] = [];
  // A loaded server accepts connections slowly: undici's 10 s connect timeout would fail registrations.
  setGlobalDispatcher(new Agent({ connect: { timeout: 120_000 }, headersTimeout: 120_000, bodyTimeout: 0 }));
  const names: string[] = [];
  for (let i = k; i < HOSTS; i += PROCS) names.push(`h${String(i).padStart(5, "0")}`);
  await pool(names, 5, async (name) => {
    // A registration whose answer was lost registered the name: a retry comes under a new one.
    for (let i = 0; ; i++) {
      const a = agent(i === 0 ? name : `${name}-${i}`);
      try {
        await a.start(values.join ?? "");
        agents.push(a);
        return;
      } catch (err) {
        if (i >= 5) throw err;
        await sleep(1000);
      }
    }
  });
  send({ kind: "started" });
  process.on("message", (m: string) => {
    if (m === "mark") { beats = []; failed = 0; }
    if (m === "stats") send({ kind: "stats", running, beats, failed });
    if (m === "stop") { for (const a of agents) a.stop(); process.exit(0); }
  });
}

async function main(): Promise<void> {
  const TASKS = Number(values.tasks);
  const JOBS = Number(values.jobs);
  const SECONDS = Number(values.seconds);
  const dir = mkdtempSync(join(tmpdir(), "tiffin-bench-idle-"));
  const server = await startServer(dir);
  const pid = server.child.pid ?? 0;
  const procs: ChildProcess[] = [];
  const stats = async (): Promise<Extract<FleetMsg, { kind: "stats" }>[]> =>
    Promise.all(procs.map((p) => new Promise<Extract<FleetMsg, { kind: "stats" }>>((resolve) => {
      const on = (m: FleetMsg): void => { if (m.kind === "stats") { p.off("message", on); resolve(m); } };
      p.on("message", on);
      p.send("stats");
    })));
  try {
    let t = performance.now();
    for (let k = 0; k < PROCS; k++) {
      procs.push(fork(new URL(import.meta.url).pathname, ["--fleet", String(k), "--procs", String(PROCS), "--hosts", String(HOSTS), "--url", server.url, "--join", server.joinToken], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
    }
    await Promise.all(procs.map((p) => new Promise<void>((resolve, reject) => {
      p.on("message", (m: FleetMsg) => { if (m.kind === "started") resolve(); });
      p.once("exit", (c) => reject(new Error(`a fleet process exited (${c}) before its hosts started`)));
    })));
    console.log(`${HOSTS} simulated hosts in ${PROCS} processes registered and heartbeating in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await sleep(3000);
    const base = await measure("hosts only", null);

    t = performance.now();
    const per = Math.ceil(TASKS / JOBS);
    const { specs, problems } = compileJobs(Array.from({ length: JOBS }, (_, j) => ({
      name: `idle${j}`, command: ["sleep", "inf"], replicas: Math.min(per, TASKS - j * per), resources: { cpu: 0.01, memory: 16, disk: 16 }, spread: "rack",
      ...(j % 2 === 0 ? { ports: { http: {} } } : {}),
    })), null);
    if (problems.length > 0) throw new Error(JSON.stringify(problems));
    await pool(specs, 2, async (spec) => void (await call(server.url, "POST", "/v1/jobs", server.adminToken, { spec })));
    const endpoints = specs.filter((s) => s.ports.length > 0).reduce((n, s) => n + s.replicas, 0);
    for (;;) {
      const running = (await stats()).reduce((n, s) => n + s.running, 0);
      const listed = (await call<{ endpoints: number }[]>(server.url, "GET", "/v1/services", server.adminToken)).body.reduce((n, s) => n + s.endpoints, 0);
      if (running >= TASKS && listed >= endpoints) break;
      if (performance.now() - t > 900_000) throw new Error(`after 900 s: ${running} of ${TASKS} tasks running, ${listed} of ${endpoints} endpoints`);
      await sleep(1000);
    }
    console.log(`${TASKS} tasks in ${JOBS} jobs running, ${endpoints} endpoints registered, in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await sleep(5000); // the last reports' passes done
    const loaded = await measure("hosts and tasks", values.prof ?? join(dir, "idle.cpuprofile"));
    console.log(`ratio (with ${TASKS} tasks / hosts only): CPU ${(loaded.cpuPerS / base.cpuPerS).toFixed(2)}x, heartbeat p99 ${(loaded.p99 / base.p99).toFixed(2)}x, RSS ${(loaded.rssMiB / base.rssMiB).toFixed(2)}x`);
    console.log(JSON.stringify({ hosts: HOSTS, tasks: TASKS, jobs: JOBS, seconds: SECONDS, load: loadavg()[0], base, loaded }));
  } finally {
    for (const p of procs) p.send("stop");
    server.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }

  /** One window of SECONDS: the server's CPU per second, RSS, heartbeat p50/p99 and its profile's top. */
  async function measure(what: string, profFile: string | null): Promise<{ cpuPerS: number; p50: number; p99: number; beats: number; failed: number; rssMiB: number }> {
    for (const p of procs) p.send("mark");
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const cpuPerS = (cpuSeconds(pid) - cpu0) / ((performance.now() - t0) / 1000);
    const s = await stats();
    // The profile over a second window of the same length (so the profiler's own cost stays out of the figures).
    server.child.send({ cmd: "prof-start" });
    await sleep(SECONDS * 1000);
    const profile = await new Promise<Profile>((resolve) => {
      server.child.once("message", (m: Profile) => resolve(m));
      server.child.send({ cmd: "prof-stop" });
    });
    const beats = s.flatMap((x) => x.beats).sort((a, b) => a - b);
    const failed = s.reduce((n, x) => n + x.failed, 0);
    const rssMiB = Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024);
    const r = { cpuPerS, p50: pct(beats, 50), p99: pct(beats, 99), beats: beats.length, failed, rssMiB };
    console.log(`${what}: server CPU ${cpuPerS.toFixed(3)} s/s, RSS ${rssMiB} MiB, heartbeats ${beats.length} (${(beats.length / SECONDS).toFixed(0)}/s, ${failed} failed) p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms`);
    printTop(profile, Number(values.top));
    if (profFile !== null) {
      writeFileSync(profFile, JSON.stringify(profile));
      console.log(`  profile: ${profFile} (open in DevTools' Performance panel)`);
    }
    return r;
  }
}

/** A V8 CPU profile (the inspector's Profiler.stop answer). */
interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Prints the profile's top functions by self time, and its top files. */
function printTop(p: Profile, n: number): void {
  const byNode = new Map(p.nodes.map((x) => [x.id, x]));
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const node = byNode.get(id);
    const dt = p.timeDeltas[i] ?? 0;
    if (!node) return;
    const f = node.callFrame;
    if (f.functionName === "(idle)") return;
    const file = f.url.replace(/^file:\/\/.*?\/(src|node_modules)\//, "$1/") || "(native)";
    const key = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    byFile.set(file, (byFile.get(file) ?? 0) + dt);
    total += dt;
  });
  const line = ([k, us]: [string, number]): string => `    ${((100 * us) / Math.max(1, total)).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`;
  console.log(`  profile (${(total / 1000).toFixed(0)} ms busy): top functions by self time`);
  for (const e of [...self].sort((a, b) => b[1] - a[1]).slice(0, n)) console.log(line(e));
  console.log("  top files by self time");
  for (const e of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(line(e));
}

/** The server in its own process, with the inspector's profiler driven over IPC. */
async function startServer(dataDir: string): Promise<{ child: ChildProcess; url: string; adminToken: string; joinToken: string }> {
  const serverMain = new URL("../src/server/main.ts", import.meta.url).href;
  const code = `
    const { startServer } = await import(${JSON.stringify(serverMain)});
    const { Session } = await import("node:inspector/promises");
    const s = await startServer({ dataDir: ${JSON.stringify(dataDir)}, listen: "127.0.0.1:0", log: "silent" });
    const session = new Session();
    session.connect();
    process.on("message", async (m) => {
      if (m.cmd === "prof-start") { await session.post("Profiler.enable"); await session.post("Profiler.start"); }
      if (m.cmd === "prof-stop") { const { profile } = await session.post("Profiler.stop"); process.send(profile); }
    });
    process.send({ url: s.url, adminToken: s.adminToken, joinToken: s.joinToken });`;
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const first = await new Promise<{ url: string; adminToken: string; joinToken: string }>((resolve, reject) => {
    child.once("message", (m: { url: string; adminToken: string; joinToken: string }) => resolve(m));
    child.once("exit", (c) => reject(new Error(`server process exited (${c}) before listening`)));
  });
  return { child, ...first };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
