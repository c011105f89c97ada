// Draining a 500-host datacenter within every job's disruption budget (issue 16, "Measured"), through a
// REAL `tiffin server` process (SQLite) with simulated agents (bench/rollout.ts style: they register,
// heartbeat, follow their assignment streams and report through the API real agents use). A fleet of
// --dcs datacenters of --hosts-per-dc hosts (racks of 20) runs --jobs jobs of --tasks tasks spread by
// rack; then every host of dc0 is drained at once (POST /v1/hosts/:id/drain, 50 at a time). A new
// attempt is reported "running" --start-s seconds after its agent first sees it (a task's start
// time); stops are reported at once. The server decides everything: which tasks move, where, when
// the old copies stop (make-before-break, each job within its budget: src/server/reconcile/drain.ts).
//
// The check is independent of the server's decisions: the bench follows the server's state through
// the typed watch (GET /v1/watch?kinds=task,attempt,host) and, at the end of EVERY store revision,
// recounts each changed job's tasks that do not serve (no attempt to run that is running) or have a
// second live copy (a move under way), the server's own definition of what a budget covers, and
// fails if any job is ever above its budget. Prints the drain time (first drain request to: every
// task serving outside dc0 and nothing left alive on dc0), the revisions checked, the largest
// disruption of any job, the reasons the drain reports gave, and the server's CPU.
//
// Rerun: node bench/drain-dc.ts [--dcs 2] [--hosts-per-dc 500] [--jobs 200] [--tasks 10] [--start-s 2]
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { AttemptUpdate } from "../src/api/types.ts";
import type { WatchEvent } from "../src/api/watch-types.ts";
import type { Attempt, Host, JobSpec, Task } from "../src/model/index.ts";
import { isTerminal } from "../src/model/index.ts";
import { jobDisruptionBudget } from "../src/server/disruption.ts";
import { startServerProcess } from "../src/server/testing/cluster.ts";
import { specOf } from "../src/server/testing/fixtures.ts";
import { call, cpuSeconds, pool } from "./lib.ts";
import { SimAgent } from "./sim-agent.ts";
import { watchSse } from "../src/api/sse-watch.ts";

const { values } = parseArgs({ options: { dcs: { type: "string", default: "2" }, "hosts-per-dc": { type: "string", default: "500" }, jobs: { type: "string", default: "200" }, tasks: { type: "string", default: "10" }, "start-s": { type: "string", default: "2" } } });
const DCS = Number(values.dcs);
const PER_DC = Number(values["hosts-per-dc"]);
const JOBS = Number(values.jobs);
const TASKS = Number(values.tasks);
const START_MS = Number(values["start-s"]) * 1000;
const HEARTBEAT_MS = 2000;

/** A simulated agent (bench/sim-agent.ts) that reports a run START_MS after it first saw it, a stop at once. */
function fleetAgent(url: string, name: string, labels: Record<string, string>): SimAgent {
  const seen = new Map<string, number>();
  return new SimAgent({
    url, name, labels, callTimeoutMs: 30_000, connectTimeoutMs: 30_000, heartbeatMs: HEARTBEAT_MS, actEveryMs: 250,
    plan: (latest, reported, now) => {
      const updates: AttemptUpdate[] = [];
      for (const { attempt: a } of latest) {
        if (isTerminal(a.state)) continue;
        const want = a.desired === "stop" ? "exited" : "running";
        if (reported.get(a.id) === want || a.state === want) continue;
        if (!seen.has(a.id)) seen.set(a.id, now);
        if (want === "running" && now - (seen.get(a.id) ?? now) < START_MS) continue;
        updates.push({ id: a.id, state: want, pid: want === "running" ? 1000 : null, exitCode: want === "exited" ? 0 : null, signal: null, reason: null, ports: {}, startedAt: now, endedAt: want === "exited" ? now : null, ...(want === "exited" ? { endCause: "stop" } : {}) } as AttemptUpdate);
      }
      return updates;
    },
  });
}

// Budgets vary as jobs do: the default 10% (1 of 10), a count of 2, a share of 30%, and 1.
const budgets: (JobSpec["rollout"] | undefined)[] = [undefined, ...[2, "30%", 1].map((n) => ({ phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: n as 2 | "30%" | 1, maxSurge: 0, onFailure: "rollback" as const }))];
const specs = Array.from({ length: JOBS }, (_, j) => {
  const rollout = budgets[j % budgets.length];
  return specOf({ name: `job-${j}`, replicas: TASKS, spread: "rack", resources: { cpu: 0.01, memoryMiB: 16, diskMiB: 1 }, ...(rollout ? { rollout } : {}) });
});
const budgetOf = new Map(specs.map((s) => [s.name, jobDisruptionBudget(s)]));

/** The server's state as the watch shows it. */
const tasks = new Map<string, Task>();
const attempts = new Map<string, Attempt>();
const attemptsOf = new Map<string, Set<string>>();
const hostDc = new Map<string, number>();
const reasonsSeen = new Map<string, number>();
let armed = false;
let revisionsChecked = 0;
let worst = 0;
let worstMargin = -Infinity;
let violation: string | null = null;
const dirty = new Set<string>();

function disrupted(job: string): number {
  let n = 0;
  for (let i = 0; i < TASKS; i++) {
    const live = [...(attemptsOf.get(`${job}/${i}`) ?? [])].map((id) => attempts.get(id)).filter((a): a is Attempt => a !== undefined && !isTerminal(a.state) && a.desired === "run");
    if (!live.some((a) => a.state === "running") || live.length > 1) n++;
  }
  return n;
}

/** The job's tasks as the watch shows them: per index, its live attempts (state, desired, datacenter, host). */
function describe(job: string): string {
  const out: string[] = [];
  for (let i = 0; i < TASKS; i++) {
    const t = tasks.get(`${job}/${i}`);
    const live = [...(attemptsOf.get(`${job}/${i}`) ?? [])].map((id) => attempts.get(id)).filter((a): a is Attempt => a !== undefined && !isTerminal(a.state));
    out.push(`${i}->${t?.attemptId ?? "-"}[${live.map((a) => `${a.id}:${a.state}/${a.desired}@dc${hostDc.get(a.hostId)}`).join(" ")}]`);
  }
  return out.join(" ");
}

let lastRevision = 0;

function checkRevision(): void {
  if (!armed) return dirty.clear();
  revisionsChecked++;
  for (const job of dirty) {
    const d = disrupted(job);
    const budget = budgetOf.get(job) ?? 0;
    worst = Math.max(worst, d);
    worstMargin = Math.max(worstMargin, d - budget);
    if (d > budget && violation === null) violation = `${job}: ${d} task(s) not serving or moving at once, budget ${budget}, at revision ${lastRevision}: ${describe(job)}\n${(history.get(job) ?? []).join("\n")}`;
  }
  dirty.clear();
}

/** Per job, its last watch events (for a violation's account). */
const history = new Map<string, string[]>();
function note(job: string, line: string): void {
  const h = history.get(job) ?? [];
  h.push(line);
  if (h.length > 60) h.shift();
  history.set(job, h);
}

function apply(ev: WatchEvent): void {
  if ((ev.kind === "task" || ev.kind === "attempt") && ev.object) {
    const o = ev.object;
    note(o.job, ev.kind === "task" ? `r${ev.revision} task ${ev.name} -> ${(o as Task).attemptId} ${ev.type}` : `r${ev.revision} attempt ${ev.name} i${o.index} ${(o as Attempt).state}/${(o as Attempt).desired}@dc${hostDc.get((o as Attempt).hostId)} ${ev.type}`);
  }
  if (ev.kind === "task" && ev.object) {
    if (ev.type === "removed") tasks.delete(ev.name);
    else tasks.set(ev.name, ev.object);
    dirty.add(ev.object.job);
  } else if (ev.kind === "attempt" && ev.object) {
    const key = `${ev.object.job}/${ev.object.index}`;
    if (ev.type === "removed") {
      attempts.delete(ev.name);
      attemptsOf.get(key)?.delete(ev.name);
    } else {
      attempts.set(ev.name, ev.object);
      if (!attemptsOf.has(key)) attemptsOf.set(key, new Set());
      attemptsOf.get(key)?.add(ev.name);
    }
    dirty.add(ev.object.job);
  } else if (ev.kind === "host" && ev.object) {
    const h: Host = ev.object;
    for (const b of h.drain?.blocked ?? []) reasonsSeen.set(b.reason, (reasonsSeen.get(b.reason) ?? 0) + 1);
  }
}

/** Every task serving outside dc0, nothing alive on dc0. */
function drained(): boolean {
  if (tasks.size !== JOBS * TASKS) return false;
  for (const t of tasks.values()) {
    const a = t.attemptId ? attempts.get(t.attemptId) : undefined;
    if (t.hostId === null || hostDc.get(t.hostId) === 0 || a?.state !== "running") return false;
  }
  for (const a of attempts.values()) if (!isTerminal(a.state) && hostDc.get(a.hostId) === 0) return false;
  return true;
}

async function waitUntil(what: string, fn: () => boolean, timeoutMs = 1_800_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (fn()) return performance.now() - start;
    if (violation) throw new Error(`budget exceeded: ${violation}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out: ${what}`);
}

const dir = mkdtempSync(join(tmpdir(), "tiffin-bench-drain-"));
const server = await startServerProcess({ dataDir: dir, endpoints: null, prefix: "/bench", timing: { heartbeatMs: HEARTBEAT_MS, suspectMs: 30_000, downMs: 60_000, fenceMs: 30_000 } });
const api = <T>(method: string, path: string, body?: unknown) => call<T>(server.url, method, path, server.adminToken, body);
const agents: SimAgent[] = [];
const watch = watchSse({
  url: `${server.url}/v1/watch?kinds=task,attempt,host`,
  headers: () => ({ authorization: `Bearer ${server.adminToken}` }),
  onEvent: (ev) => {
    if (ev.event === "bookmark") return checkRevision();
    if (ev.event !== "added" && ev.event !== "updated" && ev.event !== "removed") return;
    apply(JSON.parse(ev.data) as WatchEvent);
    // The SSE id is set on the last event of each revision: the state is whole there.
    if (ev.id !== null) {
      lastRevision = Number(ev.id);
      checkRevision();
    }
  },
  backoffInitialMs: 100,
  backoffMaxMs: 1000,
  connectTimeoutMs: 30_000,
});
try {
  let t = performance.now();
  for (let d = 0; d < DCS; d++) for (let i = 0; i < PER_DC; i++) agents.push(fleetAgent(server.url, `dc${d}-h${String(i).padStart(4, "0")}`, { datacenter: `dc${d}`, rack: `dc${d}-r${Math.floor(i / 20)}` }));
  await pool(agents, 50, (a) => a.start(server.joinToken));
  for (const a of agents) hostDc.set(a.reg?.hostId ?? "", Number(/^dc(\d+)/.exec(a.name)?.[1]));
  console.log(`${agents.length} simulated agents (${DCS} datacenters of ${PER_DC}, racks of 20) registered in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  await pool(specs, 10, async (spec) => {
    const r = await api("POST", "/v1/jobs", { spec });
    if (r.status >= 300) throw new Error(`apply ${spec.name}: ${r.status} ${JSON.stringify(r.body)}`);
  });
  await waitUntil("every task running", () => tasks.size === JOBS * TASKS && [...tasks.values()].every((x) => x.attemptId !== null && attempts.get(x.attemptId)?.state === "running"));
  const onDc0 = [...tasks.values()].filter((x) => hostDc.get(x.hostId ?? "") === 0).length;
  console.log(`${JOBS} jobs x ${TASKS} tasks placed and running in ${((performance.now() - t) / 1000).toFixed(1)} s; ${onDc0} tasks on dc0`);

  // The drain: every host of dc0 at once; the budget is checked from here on, at every revision.
  armed = true;
  const cpu0 = cpuSeconds(server.child.pid ?? 0);
  const load0 = loadavg()[0] ?? 0;
  t = performance.now();
  const dc0 = agents.filter((a) => a.name.startsWith("dc0-"));
  await pool(dc0, 50, async (a) => {
    const r = await api("POST", `/v1/hosts/${a.reg?.hostId}/drain`, {});
    if (r.status >= 300) throw new Error(`drain ${a.name}: ${r.status}`);
  });
  const requestedS = (performance.now() - t) / 1000;
  await waitUntil("dc0 drained", drained);
  const drainS = (performance.now() - t) / 1000;
  const cpu = cpuSeconds(server.child.pid ?? 0) - cpu0;
  const load1 = loadavg()[0] ?? 0;
  console.log(`drain of dc0 (${PER_DC} hosts of ${agents.length}): ${onDc0} tasks moved in ${drainS.toFixed(1)} s (drain requests sent in ${requestedS.toFixed(1)} s), new copies serve ${START_MS / 1000} s after assignment; server CPU ${cpu.toFixed(1)} s`);
  console.log(`  budget checked at ${revisionsChecked} store revisions: largest disruption of one job at once ${worst} task(s), worst margin to its budget ${worstMargin} (never above)`);
  console.log(`  drain report reasons seen on host records: ${[...reasonsSeen].map(([r, n]) => `${r} ${n}`).join(", ") || "none"}`);
  console.log(JSON.stringify({ hosts: agents.length, dc0Hosts: PER_DC, jobs: JOBS, tasks: JOBS * TASKS, onDc0, startS: START_MS / 1000, drainS, serverCpuS: cpu, revisionsChecked, worst, worstMargin, load: [load0, load1] }));
  if (violation) throw new Error(`budget exceeded: ${violation}`);
} finally {
  watch.close();
  for (const a of agents) a.stop();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
