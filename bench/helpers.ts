// What each task's helper costs its host: one real server and one real agent (both in this process)
// run N small tasks (`sleep`), half with isolation "none" and half sandboxed, and the bench reads each
// helper's PSS and RSS (and those of its companions: the runtime process beside a sandboxed task, the cgroup watcher of a plain one)
// from /proc/PID/smaps_rollup. PSS shares the pages of the Node binary among the helpers, so it is the
// figure that adds up to what the host loses.
//
// Rerun: node bench/helpers.ts --n 200            (needs root and crun or runc for the sandboxed half)
//        node bench/helpers.ts --n 200 --source   (helpers from the TypeScript source, as before the bundle)
//        node bench/helpers.ts --n 20 --flags=--jitless   (extra Node flags for the helpers, space-separated)
//        --step 20: tasks added per job at a time, each step once the previous one runs
//        --tasks-per-helper 8: attempts one helper process runs (the agent's --tasks-per-helper; 1: one
//        process per task). The figure that counts is PSS per TASK: the sum over distinct helper
//        processes (and runtime processes) divided by the tasks.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ApiClient } from "../src/api/client.ts";
import { HelperNodeFlags, helperSource, prepareHelperCommand } from "../src/agent/helper-bundle.ts";
import { DEFAULT_TASKS_PER_HELPER } from "../src/agent/helper-pool.ts";
import { startAgent } from "../src/agent/main.ts";
import { startServer } from "../src/server/main.ts";
import { compileJobs } from "../src/spec/validate.ts";
import type { JobSpec } from "../src/model/index.ts";

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "200" },
    source: { type: "boolean", default: false },
    flags: { type: "string", default: "" },
    "none-only": { type: "boolean", default: false },
    step: { type: "string", default: "20" },
    "tasks-per-helper": { type: "string", default: String(DEFAULT_TASKS_PER_HELPER) },
  },
});
const n = Number(values.n);
const perHelper = Number(values["tasks-per-helper"]);
const extraFlags = values.flags.split(" ").filter((f) => f !== "");

/** kB figures of one process from smaps_rollup (0 when it is gone). */
function rollup(pid: number): { pss: number; rss: number; anon: number } {
  try {
    const t = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(t)?.[1] ?? 0);
    return { pss: kb("Pss"), rss: kb("Rss"), anon: kb("Anonymous") };
  } catch {
    return { pss: 0, rss: 0, anon: 0 };
  }
}

function children(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return "";
  }
}

function comm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "?";
  }
}

function spec(name: string, replicas: number, isolation: "none" | "sandbox"): JobSpec {
  const { specs, problems } = compileJobs({ name, command: ["sleep", "100000"], replicas, isolation, spread: "none", resources: { cpu: 0.001, memory: "4Mi", disk: "1Mi" } }, null);
  if (!specs[0]) throw new Error(`bad spec: ${JSON.stringify(problems)}`);
  return specs[0];
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bench-helpers-"));
const silent = pino({ level: "silent" });
// Long liveness timings: hundreds of helper starts on a small, busy machine can starve the agent's
// pings for longer than the default 3 s fence, which is not what this bench measures.
const server = await startServer({
  dataDir: path.join(root, "server"),
  listen: "127.0.0.1:0",
  log: silent,
  timing: { fenceMs: 60_000, suspectMs: 90_000, downMs: 120_000 },
});
const agentDir = path.join(root, "agent");
let helperCommand: string[];
if (values.source) helperCommand = [process.execPath, ...HelperNodeFlags, ...extraFlags, "--disable-warning=ExperimentalWarning", helperSource];
else {
  const prepared = await prepareHelperCommand(agentDir);
  if (!prepared.bundle) throw new Error(`cannot bundle the helper: ${prepared.problem ?? "?"}`);
  helperCommand = [process.execPath, ...HelperNodeFlags, ...extraFlags, prepared.bundle];
}
const agent = await startAgent({
  server: server.url,
  joinToken: server.joinToken,
  dataDir: agentDir,
  name: "bench",
  labels: {},
  resources: { cores: 64, memoryMiB: 1_000_000 },
  helperCommand,
  tasksPerHelper: perHelper,
  log: silent,
});
const api = new ApiClient({ addr: server.url, token: server.adminToken });
const half = values["none-only"] ? n : Math.ceil(n / 2);
const step = Number(values.step);

interface Running {
  isolation: string;
  helperPid: number;
}
function scan(): Running[] {
  const running: Running[] = [];
  for (const id of fs.readdirSync(path.join(agentDir, "attempts"))) {
    const dir = path.join(agentDir, "attempts", id);
    try {
      const status = JSON.parse(fs.readFileSync(path.join(dir, "status.json"), "utf8")) as { state: string; helperPid: number };
      const a = JSON.parse(fs.readFileSync(path.join(dir, "attempt.json"), "utf8")) as { sandbox?: unknown };
      if (status.state === "running") running.push({ isolation: a.sandbox ? "sandbox" : "none", helperPid: status.helperPid });
    } catch {
      // not written yet
    }
  }
  return running;
}

// Tasks are added `--step` at a time per job, each step once the previous one runs.
const t0 = Date.now();
let running: Running[] = [];
for (let k = step; ; k += step) {
  const plain = Math.min(half, k);
  const boxed = Math.min(n - half, k);
  await api.apply(spec("plain", plain, "none"));
  if (boxed > 0) await api.apply(spec("boxed", boxed, "sandbox"));
  for (;;) {
    running = scan();
    if (running.length >= plain + boxed) break;
    if (Date.now() - t0 > 20 * 60_000) throw new Error(`only ${running.length} of ${n} tasks running after 20 min`);
    await sleep(500);
  }
  if (plain + boxed >= n) break;
}
const startS = (Date.now() - t0) / 1000;
await sleep(5000); // start-up garbage collected, first usage samples taken

const mib = (kb: number): string => (kb / 1024).toFixed(1);
type Roll = { pss: number; rss: number; anon: number };
const add = (a: Roll, b: Roll): Roll => ({ pss: a.pss + b.pss, rss: a.rss + b.rss, anon: a.anon + b.anon });
const zero: Roll = { pss: 0, rss: 0, anon: 0 };
// A shared helper process runs tasks of both kinds: each distinct process is counted once.
const pids = [...new Set(running.map((r) => r.helperPid))];
const helper = pids.map(rollup);
// The helper's companions: the runtime's monitor (`crun run` in the foreground, the sandboxed task is
// its child) and a plain task's cgroup watcher (a shell, src/helper/plain-cgroup.ts); the task is not counted.
const isCompanion = (pid: number): boolean => /^(crun|runc)/.test(comm(pid)) || cmdline(pid).includes("cgroup.kill");
const runtime = pids.flatMap((p) => children(p).filter(isCompanion).map(rollup));
const helperSum = helper.reduce(add, zero);
const runtimeSum = runtime.reduce(add, zero);
const sorted = helper.map((h) => h.pss).sort((a, b) => a - b);
const tasks = running.length;
const boxed = running.filter((r) => r.isolation === "sandbox").length;
console.log(`${n} tasks running after ${startS.toFixed(1)} s; helpers: ${values.source ? "TypeScript source" : "bundle"} ${[...HelperNodeFlags, ...extraFlags].join(" ")}; --tasks-per-helper ${perHelper}`);
console.log("| tasks per helper | tasks (sandboxed) | helper processes | PSS per process MiB, mean (p50, max) | helper PSS per TASK MiB | helper RSS per process MiB | companions (runtime, plain-task watcher) PSS per task MiB | all PSS per TASK MiB |");
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
console.log(
  `| ${perHelper} | ${tasks} (${boxed}) | ${pids.length} | ${mib(helperSum.pss / pids.length)} (${mib(sorted[Math.floor(sorted.length / 2)] ?? 0)}, ${mib(sorted.at(-1) ?? 0)}) | **${mib(helperSum.pss / tasks)}** | ${mib(helperSum.rss / pids.length)} | ${mib(runtimeSum.pss / tasks)} | ${mib((helperSum.pss + runtimeSum.pss) / tasks)} |`,
);
console.log(`all helpers (and runtime processes): PSS ${mib(helperSum.pss + runtimeSum.pss)} MiB, RSS ${mib(helperSum.rss + runtimeSum.rss)} MiB for ${tasks} tasks`);
console.log(`rerun: node bench/helpers.ts --n ${n} --tasks-per-helper ${perHelper}${step !== 20 ? ` --step ${step}` : ""}${values.source ? " --source" : ""}${extraFlags.length ? ` --flags="${extraFlags.join(" ")}"` : ""}`);

await agent.close("stop-tasks");
await server.close();
fs.rmSync(root, { recursive: true, force: true });
