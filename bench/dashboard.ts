// The dashboard against a big fleet (issue 19, "Measured"): a real `tiffin server` holding HOSTS
// simulated hosts (registering and heartbeating through the agents' API, as in c1m.ts) and JOBS jobs
// of TASKS tasks, then Debian's chromium (playwright-core) opening the fleet page. Reports time to
// first paint, time until the fleet map is drawn with every host, and frame times while the tasks of
// one job are scaled up and down (each scale a burst of task events on the page's watch).
//
//   node bench/dashboard.ts [--hosts 10000] [--jobs 100] [--tasks 1000] [--seconds 10]
//
// Simulated agents run nothing: tasks are placed, not started.

import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { call, keepAlive, pct, pool } from "./lib.ts";
import { compileJobs } from "../src/spec/api.ts";
import type { JobSummary, RegisterResponse } from "../src/api/types.ts";

const { values } = parseArgs({
  options: {
    hosts: { type: "string", default: "10000" },
    jobs: { type: "string", default: "100" },
    tasks: { type: "string", default: "1000" },
    seconds: { type: "string", default: "10" },
  },
});
const HOSTS = Number(values.hosts);
const JOBS = Number(values.jobs);
const TASKS = Number(values.tasks);
const SECONDS = Number(values.seconds);
const root = join(import.meta.dirname, "..");
const chromiumPath = process.env["TIFFIN_CHROMIUM"] ?? "/usr/bin/chromium";

const dir = mkdtempSync(join(tmpdir(), "tiffin-bench-ui-"));
const port = 20_000 + Math.floor(Math.random() * 20_000);
const base = `http://127.0.0.1:${port}`;
const log = openSync(join(dir, "server.log"), "a");
const server = spawn(process.execPath, [join(root, "bin/tiffin.js"), "server", "--data", dir, "--listen", `127.0.0.1:${port}`], { stdio: ["ignore", log, log] });
let admin = "";
let joinToken = "";
for (let i = 0; i < 300 && admin === ""; i++) {
  await new Promise((r) => setTimeout(r, 100));
  try {
    const a = readFileSync(join(dir, "admin.token"), "utf8").trim();
    joinToken = readFileSync(join(dir, "join.token"), "utf8").trim();
    if ((await call(base, "GET", "/v1/jobs", a)).status === 200) admin = a;
  } catch {
    /* not up yet */
  }
}
if (admin === "") throw new Error(`the server did not start; see ${dir}/server.log`);
console.log(`dashboard bench: ${HOSTS} hosts, ${JOBS} jobs x ${TASKS} tasks`);

// The fleet: 20 hosts a rack, 25 racks a cluster, 10 clusters a datacenter (c1m.ts's shape).
const hosts: { id: string; token: string }[] = [];
await pool(Array.from({ length: HOSTS }, (_, i) => i), 64, async (i) => {
  const rack = Math.floor(i / 20);
  const inventory = {
    name: `sim-${i}`, address: "127.0.0.1:9", cores: 64, memoryMiB: 262_144, diskMiB: 1_048_576,
    os: { id: "debian", version: "12" }, kernel: "6.1.0", runtime: "crun 1.8.1 (simulated)",
    labels: { region: "r", datacenter: `dc${Math.floor(rack / 250)}`, cluster: `c${Math.floor(rack / 25)}`, rack: `rack${rack}` },
  };
  const r = await call<RegisterResponse>(base, "POST", "/v1/agent/register", joinToken, { inventory });
  if (r.status !== 200) throw new Error(`register ${i}: ${r.status} ${JSON.stringify(r.body)}`);
  hosts.push({ id: r.body.hostId, token: r.body.hostToken });
});
let beating = true;
let interval = 1000;
const beats = (async () => {
  for (let i = 0; beating; ) {
    const perTick = Math.max(1, Math.ceil(hosts.length / (interval / 10)));
    for (let k = 0; k < perTick; k++, i = (i + 1) % hosts.length) {
      const h = hosts[i];
      if (h)
        call<{ heartbeatMs?: number } | null>(base, "POST", "/v1/agent/heartbeat", h.token, { hostId: h.id }).then(
          (r) => (interval = r.body?.heartbeatMs ?? interval),
          () => undefined,
        );
    }
    await new Promise((r) => setTimeout(r, 10));
  }
})();

const spec = (name: string, replicas: number): unknown => {
  const { specs, problems } = compileJobs({ name, command: ["/bin/true"], replicas, resources: { cpu: 0.05, memory: "64Mi", disk: "64Mi" } }, null);
  if (problems.length > 0) throw new Error(JSON.stringify(problems));
  return specs[0];
};
await pool(Array.from({ length: JOBS }, (_, j) => j), 8, async (j) => {
  const r = await call(base, "POST", "/v1/jobs", admin, { spec: spec(`job-${j}`, TASKS) });
  if (r.status !== 200) throw new Error(`apply job-${j}: ${r.status} ${JSON.stringify(r.body)}`);
});
const t0 = performance.now();
for (;;) {
  const jobs = (await call<JobSummary[]>(base, "GET", "/v1/jobs", admin)).body;
  if (jobs.reduce((a, j) => a + j.placed, 0) >= JOBS * TASKS || performance.now() - t0 > 600_000) break;
  await new Promise((r) => setTimeout(r, 1000));
}
console.log(`placed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
const opened = performance.now();
await page.goto(`${base}/ui/#token=${encodeURIComponent(admin)}`);
await page.getByRole("img", { name: new RegExp(`^Fleet map: ${HOSTS} hosts`) }).waitFor({ timeout: 300_000 });
const drawnMs = performance.now() - opened;
// Strings evaluated in the page (this file is type-checked without the DOM library).
const paint = await page.evaluate<string[]>(`performance.getEntriesByType("paint").map((e) => e.name + " " + e.startTime.toFixed(0) + " ms")`);

// Task events while the page runs: job-0 scaled between TASKS and TASKS/2, each scale a burst.
let scaling = true;
let scales = 0;
const scaler = (async () => {
  while (scaling) {
    await call(base, "POST", `/v1/jobs/job-0/scale`, admin, { replicas: scales % 2 === 0 ? Math.ceil(TASKS / 2) : TASKS });
    scales++;
    await new Promise((r) => setTimeout(r, 500));
  }
})();
const frames = await page.evaluate<number[]>(`new Promise((resolve) => {
  const out = [];
  let last = performance.now();
  const end = last + ${SECONDS * 1000};
  const step = (t) => {
    out.push(t - last);
    last = t;
    if (t < end) requestAnimationFrame(step);
    else resolve(out);
  };
  requestAnimationFrame(step);
})`);
scaling = false;
await scaler;
const sorted = frames.slice(1).sort((a, b) => a - b);
console.log(`first paint: ${paint.join(", ")}
fleet drawn with ${HOSTS} hosts ${drawnMs.toFixed(0)} ms after navigation
frames while job-0 was scaled ${scales} times (${Math.round(TASKS / 2)} tasks each) over ${SECONDS} s: ${sorted.length} frames, p50 ${pct(sorted, 50).toFixed(1)} ms, p99 ${pct(sorted, 99).toFixed(1)} ms, max ${(sorted.at(-1) ?? 0).toFixed(1)} ms
rerun: node bench/dashboard.ts --hosts ${HOSTS} --jobs ${JOBS} --tasks ${TASKS} --seconds ${SECONDS}`);
await browser.close();
beating = false;
await beats;
server.kill("SIGKILL");
keepAlive.destroy();
rmSync(dir, { recursive: true, force: true });
