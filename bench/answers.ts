// What the client's check of a large answer costs (src/api/answer-schemas.ts): `GET /v1/jobs/:name`
// of a job with T tasks, each with A recent attempts, and `GET /v1/jobs` of J jobs. Measured: the
// JSON.parse the client always did, and the schema check added on top (median of 5 runs, after one
// warm-up run).
//
// Rerun: node bench/answers.ts [--tasks 10000] [--attempts 3] [--jobs 10000]
import { parseArgs } from "node:util";
import { answerSchemas } from "../src/api/answer-schemas.ts";
import { checkAnswer } from "../src/api/agent-wire.ts";

const { values } = parseArgs({ options: { tasks: { type: "string", default: "10000" }, attempts: { type: "string", default: "3" }, jobs: { type: "string", default: "10000" } } });
const tasks = Number(values.tasks);
const attempts = Number(values.attempts);
const jobs = Number(values.jobs);

const spec = {
  name: "web", command: ["/srv/web", "--port", "8080"], env: { MODE: "prod" }, files: {}, replicas: tasks, resources: { cpu: 1, memoryMiB: 256, diskMiB: 100 },
  constraints: { os: null, kernel: null, labels: {} }, spread: "rack", antiAffinity: null, ports: ["http"],
  restart: { backoffInitialMs: 1000, backoffMaxMs: 30_000, moveAfterFailures: 3 }, health: null, stop: { signal: "SIGTERM", graceMs: 5000 },
  maintenance: "move", disconnect: { stopAfterMs: null }, packages: [],
};
const attempt = (i: number, a: number): unknown => ({
  id: `a${i}x${a}`, job: "web", index: i, version: 3, hostId: `host-${i % 100}`, desired: a === 0 ? "run" : "stop", createdAt: 1_760_000_000_000 + i, startAfter: 0,
  state: a === 0 ? "running" : "exited", pid: 1000 + i, exitCode: a === 0 ? null : 0, signal: null, reason: a === 0 ? null : "replaced by version 3",
  ports: { http: 20_000 + (i % 1000) }, startedAt: 1_760_000_000_500 + i, endedAt: a === 0 ? null : 1_760_000_100_000 + i,
  usage: { at: 1_760_000_200_000, cpuSeconds: 12.5, cpuCores: 0.2, memoryBytes: 50_000_000, memoryPeakBytes: 60_000_000, pids: 4 },
});
const status = {
  name: "web", version: 3, removed: false, spec,
  tasks: Array.from({ length: tasks }, (_, i) => ({
    id: `web/${i}`, index: i, version: 3, hostId: `host-${i % 100}`, hostName: `host-${i % 100}`, state: "running", attemptId: `a${i}x0`, pid: 1000 + i,
    ports: { http: 20_000 + (i % 1000) }, failures: 0, reason: null, attempts: Array.from({ length: attempts }, (_, a) => attempt(i, a)),
  })),
};
const list = Array.from({ length: jobs }, (_, i) => ({ name: `job-${i}`, version: 2, replicas: 3, placed: 3, running: 3, healthy: 3, removed: false }));

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
}
function measure(name: string, text: string, schema: Parameters<typeof checkAnswer>[0]): void {
  const parse: number[] = [];
  const check: number[] = [];
  for (let run = 0; run < 6; run++) {
    const t0 = performance.now();
    const v: unknown = JSON.parse(text);
    const t1 = performance.now();
    const r = checkAnswer(schema, v);
    const t2 = performance.now();
    if (!r.ok) throw new Error(`${name}: the fixture does not fit: ${r.problem}`);
    if (run === 0) continue;
    parse.push(t1 - t0);
    check.push(t2 - t1);
  }
  console.log(`| ${name} | ${(text.length / 1e6).toFixed(1)} MB | ${median(parse).toFixed(0)} ms | ${median(check).toFixed(0)} ms |`);
}

console.log("| answer | size | JSON.parse | schema check |");
console.log("| --- | --- | --- | --- |");
measure(`job status, ${tasks} tasks x ${attempts} attempts`, JSON.stringify(status), answerSchemas.job);
measure(`job list, ${jobs} jobs`, JSON.stringify(list), answerSchemas.jobs);
