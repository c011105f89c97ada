// High availability next to a single server: N simulated agents heartbeating through the HTTP API
// against 3 servers on a 3-member etcd (started here, on loopback), and the same fleet against one
// server on SQLite. Per setup: server CPU while the fleet heartbeats, heartbeat latency, the time to
// detect a dead host (from sending its last heartbeat to the store deleting its /alive key), and apply-to-placed
// latency of one 1,000-task job. Both are printed side by side. Only heartbeats the server accepted
// (200 with ok: true) count as heartbeats; refused and unanswered ones are counted apart.
//
//   node bench/ha.ts [--agents 5000] [--measure-s 20] [--tasks 1000] [--dead 5] [--only etcd|sqlite]
//
// Simulated agents do not run tasks. The servers stretch the heartbeat interval past
// maxHeartbeatsPerSecond (2,000/s), so 5,000 agents heartbeat every 2.5 s; the interval used is printed.

import { request } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { call, cpuSeconds, keepAlive, pct, pool } from "./lib.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { JobSummary, RegisterResponse } from "../src/api/types.ts";
import { DefaultTiming, effectiveTiming } from "../src/server/liveness.ts";
import { startServerProcess } from "../src/server/testing/cluster.ts";
import type { ServerProcess } from "../src/server/testing/cluster.ts";
import { specOf } from "../src/server/testing/fixtures.ts";
import { startEtcd } from "../src/state/etcd-testing.ts";

const { values } = parseArgs({
  options: {
    agents: { type: "string", default: "5000" },
    "measure-s": { type: "string", default: "20" },
    tasks: { type: "string", default: "1000" },
    dead: { type: "string", default: "5" },
    only: { type: "string" },
  },
});
const AGENTS = Number(values.agents);
const MEASURE_S = Number(values["measure-s"]);
const TASKS = Number(values.tasks);
const DEAD = Number(values.dead);

interface Result {
  setup: string;
  registerS: number;
  intervalMs: number;
  beatsPerS: number;
  /** Latency percentiles of accepted heartbeats. */
  p50: number;
  p99: number;
  /** Heartbeats answered but not accepted (an error status, or `ok: false`: re-register). */
  refused: number;
  /** Heartbeats without an answer. */
  failed: number;
  serverCpu: number[];
  etcdCpu: number | null;
  detectMs: number[];
  placeMs: number;
  placed: number;
  upAtLeader: number;
}

/** Times at which /alive/<id> keys were deleted, as the leader's event stream reports them. */
function followAliveDeletes(base: string, token: string): { deletedAt: Map<string, number>; close: () => void } {
  const deletedAt = new Map<string, number>();
  const u = new URL(base);
  const req = request({ host: u.hostname, port: u.port, path: "/v1/watch?kinds=alive", headers: { authorization: `Bearer ${token}` } }, (res) => {
    let buf = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (!line.startsWith("data: ")) continue;
        const ev = JSON.parse(line.slice(6)) as { type: string; name?: string };
        if (ev.type === "removed" && ev.name !== undefined) deletedAt.set(ev.name, performance.now());
      }
    });
    res.on("error", () => undefined);
  });
  req.on("error", () => undefined);
  req.end();
  return { deletedAt, close: () => req.destroy() };
}

async function run(setup: "etcd" | "sqlite"): Promise<Result> {
  const dirs: string[] = [];
  const dir = (): string => {
    const d = mkdtempSync(join(tmpdir(), "tiffin-ha-bench-"));
    dirs.push(d);
    return d;
  };
  const etcd = setup === "etcd" ? await startEtcd({ members: 3 }) : null;
  const servers: ServerProcess[] = [];
  try {
    for (let i = 0; i < (setup === "etcd" ? 3 : 1); i++) servers.push(await startServerProcess({ dataDir: dir(), endpoints: etcd ? etcd.endpoints : null, prefix: "/bench" }));
    const leader = servers[0] as ServerProcess;
    const urls = servers.map((s) => s.url);

    // Register the fleet, each agent with "its" server (agents are spread over the servers).
    const t0 = performance.now();
    /** lastSent: when the host sent the last heartbeat that got through (the renewal it caused
     * happened between that and the answer; a dead host is one that sends no more). */
    const hosts: { id: string; token: string; url: string; lastSent: number; live: boolean }[] = [];
    await pool(Array.from({ length: AGENTS }, (_, i) => i), 64, async (i) => {
      const url = urls[i % urls.length] ?? "";
      const inventory = {
        name: `sim-${i}`, address: "127.0.0.1:9", cores: 16, memoryMiB: 65_536, diskMiB: 1_048_576,
        os: { id: "debian", version: "12" }, kernel: "6.1.0", runtime: "crun 1.8.1 (simulated)", labels: { rack: `rack-${Math.floor(i / 20)}` },
      };
      const r = await call<RegisterResponse>(url, "POST", "/v1/agent/register", leader.joinToken, { inventory });
      if (r.status !== 200) throw new Error(`register ${i}: ${r.status} ${JSON.stringify(r.body)}`);
      hosts.push({ id: r.body.hostId, token: r.body.hostToken, url, lastSent: performance.now(), live: true });
    });
    const registerS = (performance.now() - t0) / 1000;

    // Heartbeats at the interval the servers ask for, spread evenly over it (as c1m.ts does).
    let interval = DefaultTiming.heartbeatMs;
    // Only accepted heartbeats count as heartbeats (rate and latency): a refused one renewed nothing.
    let latencies: number[] = [];
    let refused = 0;
    let failed = 0;
    let beating = true;
    const beats = (async () => {
      let i = 0;
      while (beating) {
        const tick = performance.now();
        const perTick = Math.max(1, Math.round(hosts.length / (interval / 10)));
        for (let k = 0; k < perTick; k++, i = (i + 1) % hosts.length) {
          const h = hosts[i];
          if (!h?.live) continue;
          const s = performance.now();
          call<{ ok?: boolean; heartbeatMs?: number } | null>(h.url, "POST", "/v1/agent/heartbeat", h.token, { hostId: h.id }).then(
            (r) => {
              if (r.status !== 200 || r.body?.ok !== true) {
                refused++;
                return;
              }
              latencies.push(performance.now() - s);
              h.lastSent = Math.max(h.lastSent, s);
              if (r.body.heartbeatMs) interval = r.body.heartbeatMs;
            },
            () => failed++,
          );
        }
        await new Promise((r) => setTimeout(r, Math.max(0, 10 - (performance.now() - tick))));
      }
    })();
    // Warm up, then measure. The first round of heartbeats re-grants the leases of hosts registered
    // while the fleet was smaller (their TTL was shorter: liveness.ts), a write each; the steady state
    // starts once every agent heard the stretched interval and that round is over.
    await new Promise((r) => setTimeout(r, 5000));
    await new Promise((r) => setTimeout(r, 3 * interval));
    latencies = [];
    refused = 0;
    failed = 0;
    const pids = servers.map((s) => s.child.pid ?? 0);
    const etcdPids = etcd ? [0, 1, 2].map((m) => etcd.pid(m)) : [];
    const cpu0 = pids.map(cpuSeconds);
    const etcd0 = etcdPids.map(cpuSeconds);
    const m0 = performance.now();
    await new Promise((r) => setTimeout(r, MEASURE_S * 1000));
    const wall = (performance.now() - m0) / 1000;
    const serverCpu = pids.map((p, i) => (100 * (cpuSeconds(p) - (cpu0[i] ?? 0))) / wall);
    const etcdCpu = etcd ? etcdPids.reduce((n, p, i) => n + cpuSeconds(p) - (etcd0[i] ?? 0), 0) * (100 / wall) : null;
    const sorted = latencies.slice().sort((a, b) => a - b);
    const beatsPerS = latencies.length / wall;
    const [refusedInWindow, failedInWindow] = [refused, failed];
    const upAtLeader = (await call<{ status: string }[]>(leader.url, "GET", "/v1/hosts", leader.adminToken)).body.filter((h) => h.status === "up").length;

    // Dead hosts: stop DEAD agents; detection = their /alive key deleted - their last heartbeat sent.
    const events = followAliveDeletes(leader.url, leader.adminToken);
    await new Promise((r) => setTimeout(r, 500));
    const dead = hosts.slice(0, DEAD);
    for (const h of dead) h.live = false;
    const downMs = effectiveTiming(DefaultTiming, AGENTS).downMs;
    const deadline = performance.now() + downMs + 20_000;
    while (dead.some((h) => !events.deletedAt.has(h.id)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    events.close();
    const detectMs = dead.map((h) => (events.deletedAt.get(h.id) ?? NaN) - h.lastSent).sort((a, b) => a - b);

    // One job of TASKS tasks: from the apply call to every task placed (as GET /v1/jobs counts them).
    const p0 = performance.now();
    const spec = specOf({ name: "big", replicas: TASKS, resources: { cpu: 0.1, memoryMiB: 64, diskMiB: 10 }, spread: "rack" });
    const applied = await call(leader.url, "POST", "/v1/jobs", leader.adminToken, { spec });
    if (applied.status !== 200) throw new Error(`apply: ${applied.status} ${JSON.stringify(applied.body)}`);
    let placed = 0;
    while (performance.now() - p0 < 120_000) {
      const jobs = await call<JobSummary[]>(urls[urls.length - 1] ?? "", "GET", "/v1/jobs", leader.adminToken);
      placed = jobs.body.find((j) => j.name === "big")?.placed ?? 0;
      if (placed >= TASKS) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const placeMs = performance.now() - p0;
    beating = false;
    await beats;
    return { setup: setup === "etcd" ? "3 servers, etcd (3 members)" : "1 server, SQLite", registerS, intervalMs: interval, beatsPerS, p50: pct(sorted, 50), p99: pct(sorted, 99), refused: refusedInWindow, failed: failedInWindow, serverCpu, etcdCpu, detectMs, placeMs, placed, upAtLeader };
  } finally {
    for (const s of servers) await s.stop();
    await etcd?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

const t = effectiveTiming(DefaultTiming, AGENTS);
console.log(`ha: ${AGENTS} simulated agents; the servers stretch heartbeats to every ${t.heartbeatMs} ms (suspect ${t.suspectMs} ms, down ${t.downMs} ms); measuring ${MEASURE_S} s`);
const results: Result[] = [];
for (const setup of ["etcd", "sqlite"] as const) {
  if (values.only && values.only !== setup) continue;
  const r = await run(setup);
  results.push(r);
  console.log(`  ${r.setup}: done`);
}
keepAlive.destroy();

const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
const rows: [string, (r: Result) => string][] = [
  ["register the fleet", (r) => `${fmt(r.registerS, 1)} s`],
  ["heartbeat interval asked by the servers", (r) => `${r.intervalMs} ms`],
  ["heartbeats/s accepted", (r) => fmt(r.beatsPerS)],
  ["accepted heartbeat latency p50 / p99", (r) => `${fmt(r.p50, 1)} / ${fmt(r.p99, 1)} ms`],
  ["heartbeats refused (error status or re-register) / without an answer", (r) => `${r.refused} / ${r.failed}`],
  ["server CPU (% of one core, each server)", (r) => r.serverCpu.map((c) => `${fmt(c)}%`).join(" / ")],
  ["etcd CPU (all members)", (r) => (r.etcdCpu === null ? "-" : `${fmt(r.etcdCpu)}%`)],
  ["hosts up as the leader sees them", (r) => `${r.upAtLeader} of ${AGENTS}`],
  [`dead host detected (last heartbeat -> down), ${DEAD} hosts min / max`, (r) => `${fmt((r.detectMs[0] ?? NaN) / 1000, 1)} / ${fmt((r.detectMs.at(-1) ?? NaN) / 1000, 1)} s`],
  [`apply -> ${TASKS} tasks placed`, (r) => `${fmt(r.placeMs)} ms${r.placed < TASKS ? ` (only ${r.placed})` : ""}`],
];
const head = ["", ...results.map((r) => r.setup)];
console.log(`\n| ${head.join(" | ")} |\n| ${head.map(() => "---").join(" | ")} |`);
for (const [label, f] of rows) console.log(`| ${label} | ${results.map(f).join(" | ")} |`);
// A fleet that is not heartbeating cleanly makes every other row suspect: say so.
for (const r of results) {
  if (r.refused > 0 || r.failed > 0 || r.upAtLeader < AGENTS) console.log(`\nWARNING (${r.setup}): not a steady fleet: ${r.refused} heartbeats refused, ${r.failed} unanswered, ${r.upAtLeader} of ${AGENTS} hosts up`);
}
console.log(`\nrerun: node bench/ha.ts --agents ${AGENTS} --measure-s ${MEASURE_S} --tasks ${TASKS} --dead ${DEAD}`);
process.exit(0);
