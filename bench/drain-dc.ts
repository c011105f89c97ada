// Draining a 500-host datacenter within every job's disruption budget (issue 16, "Measured"). A fleet
// of simulated hosts (--dcs datacenters of --hosts-per-dc hosts) runs --jobs jobs of --tasks tasks
// spread over every datacenter; dc0 is drained whole at once. Each pass runs the reconciler's own
// pure decisions for every job (src/server/reconcile/drain.ts drainAllowance and drainCandidates,
// the one budget of src/server/disruption.ts): a task chosen to move gets a new attempt on a host
// outside dc0 (the host with the fewest tasks), which starts serving after --start-s simulated
// seconds, and then its old copy stops (make-before-break). A simulated second passes between passes.
// After EVERY pass the tasks of each job not serving or moving are recounted here and the bench
// fails if any job ever has more than its budget disrupted. Prints the simulated time to drain, the
// passes, the decision time per pass, and the largest disruption of any job at any instant.
//
// Rerun: node bench/drain-dc.ts [--dcs 4] [--hosts-per-dc 500] [--jobs 1000] [--tasks 10] [--start-s 5]
import { parseArgs } from "node:util";
import type { Attempt, JobSpec, Task } from "../src/model/index.ts";
import { isTerminal } from "../src/model/index.ts";
import { jobDisruptionBudget } from "../src/server/disruption.ts";
import { drainAllowance, drainCandidates } from "../src/server/reconcile/drain.ts";
import type { HostState, JobInput } from "../src/server/reconcile/types.ts";
import { hostState, input, specOf } from "../src/server/testing/fixtures.ts";

const { values } = parseArgs({ options: { dcs: { type: "string", default: "4" }, "hosts-per-dc": { type: "string", default: "500" }, jobs: { type: "string", default: "1000" }, tasks: { type: "string", default: "10" }, "start-s": { type: "string", default: "5" } } });
const nDcs = Number(values.dcs);
const perDc = Number(values["hosts-per-dc"]);
const nJobs = Number(values.jobs);
const nTasks = Number(values.tasks);
const startMs = Number(values["start-s"]) * 1000;

const hosts = new Map<string, HostState>();
const dcOf = new Map<string, number>();
for (let d = 0; d < nDcs; d++) for (let i = 0; i < perDc; i++) {
  const id = `dc${d}-h${i}`;
  hosts.set(id, hostState(id, { draining: d === 0 }));
  dcOf.set(id, d);
}
const load = new Map<string, number>([...hosts.keys()].map((h) => [h, 0]));
const outside = [...hosts.keys()].filter((h) => dcOf.get(h) !== 0);

// Budgets vary as jobs do: 10% (the default), a count of 2, a share of 30%, and 1.
const settings: (JobSpec["rollout"] | undefined)[] = [undefined, ...[2, "30%", 1].map((n) => ({ phases: null, bakeMs: 0, deadlineMs: 60_000, maxUnavailable: n as 2 | "30%" | 1, maxSurge: 0, onFailure: "rollback" as const }))];
const jobs: { inp: JobInput; budget: number }[] = [];
let seq = 0;
for (let j = 0; j < nJobs; j++) {
  const rollout = settings[j % settings.length];
  const spec = specOf({ name: `job-${j}`, replicas: nTasks, ...(rollout ? { rollout } : {}) });
  const tasks: Task[] = [];
  const attempts: Attempt[] = [];
  for (let t = 0; t < nTasks; t++) {
    // Spread: task t of job j on datacenter (j + t) % dcs, a host by a fixed stride.
    const d = (j + t) % nDcs;
    const hostId = `dc${d}-h${(j * 7919 + t * 1009) % perDc}`;
    const id = `a${seq++}`;
    tasks.push({ job: spec.name, index: t, version: 1, hostId, attemptId: id, failures: 0, avoidHosts: [], unplacedReason: null });
    attempts.push({ id, job: spec.name, index: t, version: 1, hostId, desired: "run", state: "running", pid: 1, exitCode: null, signal: null, reason: null, ports: {}, createdAt: 0, startAfter: 0, startedAt: 0, endedAt: null });
    load.set(hostId, (load.get(hostId) ?? 0) + 1);
  }
  jobs.push({ inp: input({ job: { name: spec.name, version: 1, removedAt: null, updatedAt: 0 }, spec, tasks, attempts, hosts }), budget: jobDisruptionBudget(spec) });
}
const onDc0 = (): number => jobs.reduce((n, { inp }) => n + inp.tasks.filter((t) => dcOf.get(t.hostId ?? "") === 0).length, 0);
const initial = onDc0();

/** The least loaded host outside dc0 (a stand-in for the scheduler's spread and bin packing). */
function pickHost(): string {
  let best = outside[0]!;
  for (const h of outside) if ((load.get(h) ?? 0) < (load.get(best) ?? 0)) best = h;
  return best;
}

let now = 0;
let passes = 0;
let decideMs = 0;
let worst = 0;
let worstOverBudget = -Infinity;
while (onDc0() > 0) {
  passes++;
  now += 1000;
  const t0 = performance.now();
  const moves: { job: (typeof jobs)[number]; task: Task }[] = [];
  for (const job of jobs) {
    job.inp.now = now;
    for (const task of drainCandidates(job.inp, drainAllowance(job.inp).allowed)) moves.push({ job, task });
  }
  decideMs += performance.now() - t0;
  // Make-before-break: a new attempt elsewhere, the task points at it; the old copy runs on.
  for (const { job, task } of moves) {
    const hostId = pickHost();
    const id = `a${seq++}`;
    job.inp.attempts.push({ id, job: task.job, index: task.index, version: 1, hostId, desired: "run", state: "starting", pid: null, exitCode: null, signal: null, reason: null, ports: {}, createdAt: now, startAfter: now, startedAt: null, endedAt: null });
    job.inp.tasks = job.inp.tasks.map((t) => (t.index === task.index ? { ...t, hostId, attemptId: id } : t));
    load.set(hostId, (load.get(hostId) ?? 0) + 1);
  }
  // The simulated agents: a new attempt serves after startMs; then the old copy of its task stops.
  for (const { inp } of jobs) {
    inp.attempts = inp.attempts.map((a) => (a.state === "starting" && now - a.createdAt >= startMs ? { ...a, state: "running", startedAt: now } : a));
    const current = new Set(inp.tasks.map((t) => t.attemptId));
    const serving = new Set(inp.attempts.filter((a) => current.has(a.id) && a.state === "running").map((a) => a.index));
    inp.attempts = inp.attempts.map((a) => (!current.has(a.id) && !isTerminal(a.state) && serving.has(a.index) ? { ...a, state: "exited", desired: "stop", endedAt: now } : a));
    inp.attempts = inp.attempts.filter((a) => !isTerminal(a.state));
  }
  // The check, independent of the decisions: per job, tasks not serving or with a move under way.
  for (const { inp, budget } of jobs) {
    const live = inp.attempts.filter((a) => !isTerminal(a.state));
    let disrupted = 0;
    for (let i = 0; i < nTasks; i++) {
      const copies = live.filter((a) => a.index === i);
      if (copies.length !== 1 || copies[0]!.state !== "running") disrupted++;
    }
    worst = Math.max(worst, disrupted);
    worstOverBudget = Math.max(worstOverBudget, disrupted - budget);
    if (disrupted > budget) throw new Error(`pass ${passes}: ${inp.job.name} has ${disrupted} tasks disrupted, budget ${budget}`);
  }
}
console.log(`drain of dc0 (${perDc} hosts of ${nDcs * perDc}), ${nJobs} jobs x ${nTasks} tasks, ${initial} tasks on dc0, new copies serve after ${startMs / 1000} s`);
console.log(`  drained in ${passes} passes = ${now / 1000} simulated s; decisions ${(decideMs / passes).toFixed(1)} ms a pass over ${nJobs} jobs (${decideMs.toFixed(0)} ms in all)`);
console.log(`  largest disruption of one job at any instant: ${worst} task(s); never above its budget (worst margin ${worstOverBudget}, checked after every pass)`);
