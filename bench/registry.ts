// Registry update latency (issue 15): from a task's kill -9 to its endpoint gone in every watcher,
// p50 and p99, with `--jobs` x `--tasks` endpoints and `--watchers` watchers of the endpoint kind.
// A real `tiffin server` process (SQLite store); `--hosts` simulated agents register, heartbeat and
// report their attempts through the same API real agents use (they run no task: a kill -9 is the
// report a real agent sends when its helper sees the task die, `exited` with SIGKILL). Each watcher
// is its own SSE connection (`GET /v1/watch?kinds=endpoint&from=REV`) from this process, which
// timestamps each removal as it parses it: the figure is kill report sent -> removal parsed, per
// watcher. Then a host's agent stops heartbeating (the host dies): its endpoints go when the host
// turns suspect (3 s by default), measured from its last heartbeat; with where the time went: when
// the server's own registry (GET, polled every 100 ms) dropped it, the first watcher's removal, and
// the CPU the server and this process used meanwhile. REG_PROF=1 stops the server with SIGTERM
// (so `NODE_OPTIONS=--cpu-prof` writes its profile).
//
// Rerun: node bench/registry.ts --hosts 100 --jobs 100 --tasks 100 --watchers 1000 --kills 20
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { JobStatus, RegisterResponse } from "../src/api/types.ts";
import { compileJobs } from "../src/spec/api.ts";
import { call, cpuSeconds, pct, pool } from "./lib.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "100" },
    jobs: { type: "string", default: "100" },
    tasks: { type: "string", default: "100" },
    watchers: { type: "string", default: "1000" },
    kills: { type: "string", default: "20" },
  },
});
const HOSTS = Number(values.hosts);
const JOBS = Number(values.jobs);
const TASKS = Number(values.tasks);
const WATCHERS = Number(values.watchers);
const KILLS = Number(values.kills);
const root = new URL("..", import.meta.url).pathname;

const port = await new Promise<number>((resolve) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const a = s.address();
    s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
  });
});
const base = `http://127.0.0.1:${port}`;
const dir = mkdtempSync(join(tmpdir(), "tiffin-registry-"));
const log = openSync(join(dir, "server.log"), "a");
const server = spawn(process.execPath, [join(root, "bin/tiffin.js"), "server", "--data", join(dir, "data"), "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", log, log] });
let admin = "";
let joinToken = "";
for (let i = 0; i < 300 && admin === ""; i++) {
  await new Promise((r) => setTimeout(r, 100));
  try {
    admin = readFileSync(join(dir, "data", "admin.token"), "utf8").trim();
    joinToken = readFileSync(join(dir, "data", "join.token"), "utf8").trim();
    if ((await call(base, "GET", "/v1/jobs", admin)).status !== 200) admin = "";
  } catch {
    admin = "";
  }
}
if (admin === "") throw new Error("server did not start");

const hosts: { id: string; token: string; beating: boolean; lastBeat: number }[] = [];
await pool(Array.from({ length: HOSTS }, (_, i) => i), 32, async (i) => {
  const inventory = {
    name: `sim-${i}`, address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:9`, cores: 1.5, memoryMiB: 262_144, diskMiB: 1_048_576,
    os: { id: "debian", version: "12" }, kernel: "6.1.0", runtime: "crun 1.8.1 (simulated)", labels: { rack: `rack${i % 20}` },
  };
  const r = await call<RegisterResponse>(base, "POST", "/v1/agent/register", joinToken, { inventory });
  if (r.status !== 200) throw new Error(`register ${i}: ${r.status} ${JSON.stringify(r.body)}`);
  hosts.push({ id: r.body.hostId, token: r.body.hostToken, beating: true, lastBeat: Date.now() });
});
const beat = setInterval(() => {
  for (const h of hosts) {
    if (!h.beating) continue;
    h.lastBeat = Date.now();
    void call(base, "POST", "/v1/agent/heartbeat", h.token, { hostId: h.id }).catch(() => {});
  }
}, 1000);

const { specs, problems } = compileJobs(Array.from({ length: JOBS }, (_, j) => ({
  name: `svc${j}`, command: ["sleep", "inf"], replicas: TASKS, ports: { p: {} }, resources: { cpu: 0.01, memory: 16, disk: 16 }, spread: "none",
})), null);
if (problems.length > 0) throw new Error(JSON.stringify(problems));
await pool(specs, 8, async (spec) => void (await call(base, "POST", "/v1/jobs", admin, { spec })));

/** Every attempt, with its host, once placed. */
const attempts = new Map<string, { id: string; hostId: string; job: string; index: number }>();
while (attempts.size < JOBS * TASKS) {
  await pool(specs, 8, async (spec) => {
    const s = await call<JobStatus>(base, "GET", `/v1/jobs/${spec.name}`, admin);
    for (const t of s.body.tasks) if (t.attemptId && t.hostId) attempts.set(`${spec.name}/${t.index}`, { id: t.attemptId, hostId: t.hostId, job: spec.name, index: t.index });
  });
  await new Promise((r) => setTimeout(r, 500));
}
const byHost = new Map<string, { id: string; hostId: string; job: string; index: number }[]>();
for (const a of attempts.values()) byHost.set(a.hostId, [...(byHost.get(a.hostId) ?? []), a]);
const report = (hostId: string, updates: unknown[]): Promise<unknown> => call(base, "POST", "/v1/agent/attempts", hosts.find((h) => h.id === hostId)?.token ?? "", { hostId, updates });
let port0 = 30000;
await pool([...byHost.entries()], 8, async ([hostId, list]) => {
  for (let i = 0; i < list.length; i += 500) {
    await report(hostId, list.slice(i, i + 500).map((a) => ({ id: a.id, state: "running", pid: 1000, exitCode: null, signal: null, reason: null, ports: { p: port0++ }, startedAt: Date.now(), endedAt: null })));
  }
});
const t0 = Date.now();
let listed = 0;
while (listed < JOBS * TASKS && Date.now() - t0 < 120_000) {
  listed = (await call<{ endpoints: number }[]>(base, "GET", "/v1/services", admin)).body.reduce((n, s) => n + s.endpoints, 0);
  await new Promise((r) => setTimeout(r, 250));
}
console.log(`registry: ${listed} endpoints of ${JOBS} services on ${HOSTS} simulated hosts`);

// The watchers: each its own SSE connection, from the current revision.
const rev = (await call<{ revision?: number }>(base, "GET", "/v1/cluster", admin)).body.revision;
const removals: Map<string, number>[] = [];
let open = 0;
await pool(Array.from({ length: WATCHERS }, (_, i) => i), 64, async (i) => {
  const seen = new Map<string, number>();
  removals[i] = seen;
  await new Promise<void>((resolve, reject) => {
    const req = request(`${base}/v1/watch?kinds=endpoint${rev ? `&from=${rev + 1}` : ""}`, { headers: { authorization: `Bearer ${admin}`, accept: "text/event-stream" }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch ${i}: ${res.statusCode}`));
      open++;
      resolve();
      let buf = "";
      res.setEncoding("utf8");
      // Only removals matter: look for them in the complete events of each chunk, without splitting
      // every event out (one process parses 1,000 streams: its own cost must stay small).
      res.on("data", (chunk: string) => {
        buf += chunk;
        const end = buf.lastIndexOf("\n\n");
        if (end < 0) return;
        const now = Date.now();
        let at = buf.indexOf("event: removed");
        while (at >= 0 && at < end) {
          const from = buf.indexOf('"name":"', at) + 8;
          const name = buf.slice(from, buf.indexOf('"', from));
          if (!seen.has(name)) seen.set(name, now);
          at = buf.indexOf("event: removed", from);
        }
        buf = buf.slice(end + 2);
      });
    });
    req.on("error", reject);
    req.end();
  });
});
console.log(`${open} watchers open`);
await new Promise((r) => setTimeout(r, 2000));

// kill -9 of one task at a time: its agent's report, then every watcher's removal.
const samples: number[] = [];
const all = [...attempts.values()];
for (let k = 0; k < KILLS; k++) {
  const a = all[(k * 7919) % all.length];
  if (!a) continue;
  const name = `${a.job}/${a.index}`;
  const sent = Date.now();
  await report(a.hostId, [{ id: a.id, state: "exited", pid: 1000, exitCode: null, signal: "SIGKILL", reason: "killed", ports: {}, startedAt: sent - 1000, endedAt: sent }]);
  const deadline = Date.now() + 10_000;
  while (removals.some((m) => !m.has(name)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  for (const m of removals) samples.push((m.get(name) ?? Infinity) - sent);
  await new Promise((r) => setTimeout(r, 300));
}
const sorted = samples.sort((x, y) => x - y);
console.log(`task kill -9 -> endpoint gone in every watcher (${KILLS} kills x ${WATCHERS} watchers = ${samples.length} samples): p50 ${pct(sorted, 50)} ms, p99 ${pct(sorted, 99)} ms, max ${sorted.at(-1)} ms, missed ${samples.filter((x) => !Number.isFinite(x)).length}`);

// A host dies (its agent stops heartbeating): its endpoints go when it turns suspect.
const victim = hosts.find((h) => byHost.has(h.id));
if (victim) {
  victim.beating = false;
  const names = (byHost.get(victim.id) ?? []).map((a) => `${a.job}/${a.index}`);
  const lastBeat = victim.lastBeat;
  const cpu0 = { server: cpuSeconds(server.pid ?? 0), bench: process.cpuUsage() };
  const deadline = Date.now() + 60_000;
  const probe = names[names.length - 1] ?? "";
  const [probeJob, probeIndex] = probe.split("/");
  // Where the time goes: the server's own registry (its mirror, as GET answers) against the watchers.
  let inRegistry = Infinity;
  let polled = 0;
  while (removals.some((m) => !m.has(probe)) && Date.now() < deadline) {
    // Every 100 ms (each answer lists the service's 100 endpoints: polling must not load the server).
    if (inRegistry === Infinity && Date.now() - polled >= 100) {
      polled = Date.now();
      const eps = await call<{ index: number }[]>(base, "GET", `/v1/services/${probeJob}/endpoints`, admin);
      if (!eps.body.some((e) => String(e.index) === probeIndex)) inRegistry = Date.now() - lastBeat;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const benchCpu = process.cpuUsage(cpu0.bench);
  console.log(`CPU from the last heartbeat to the last removal seen: server ${(cpuSeconds(server.pid ?? 0) - cpu0.server).toFixed(2)} s, this bench process ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(2)} s`);
  const host = removals.map((m) => (m.get(probe) ?? Infinity) - lastBeat).sort((x, y) => x - y);
  // Of the endpoints it still had (a task killed above was removed earlier).
  const firstSeen = Math.min(...removals.map((m) => Math.min(...names.map((n) => m.get(n) ?? Infinity).filter((at) => at > lastBeat)))) - lastBeat;
  console.log(`host down (no heartbeat; suspect after 3 s): its ${names.length} endpoints gone in every watcher, from its last heartbeat: p50 ${pct(host, 50)} ms, p99 ${pct(host, 99)} ms (first removal seen by a watcher at ${firstSeen} ms, the last one's by the first watcher at ${host[0]} ms; gone from GET's answer at ${inRegistry} ms, as polled by this busy process)`);
}
clearInterval(beat);
if (process.env["REG_PROF"]) { server.kill("SIGTERM"); await new Promise((r) => server.once("exit", r)); } else server.kill("SIGKILL");
rmSync(dir, { recursive: true, force: true });
process.exit(0);
