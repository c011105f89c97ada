// Batch items through the whole control plane (issue 18): the real server in a child process on its
// SQLite file, N simulated agents (through the HTTP API, as src/server/testing/cluster.ts's SimAgent)
// whose batch items finish at once (exit 0), and R runs of one batch job, one after another. Prints
// items per second and runs per second the control plane sustains (from each run's start to its end,
// as the server recorded them), the server's CPU, and the store's growth per million finished items
// (state.db with its WAL, before and after). With `--keep K` below `--runs`, retention is on: the
// newest K finished runs are kept and older ones deleted with their items and attempts; the store is
// counted after every run (store-census.ts: pages, free pages, history rows, live keys by kind), so a
// kind that grows run after run shows (growth per million items is then the growth after the first K
// runs, which should be none but the history's and the file's free pages being reused).
//
//   node bench/batch.ts [--agents 20] [--items 5000] [--parallelism 500] [--runs 3] [--keep RUNS]

import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import type { Run } from "../src/model/index.ts";
import { censusLines, censusOf } from "./store-census.ts";
import type { StoreCensus } from "./store-census.ts";
import { compileJobs } from "../src/spec/validate.ts";
import { SimAgent, startServerProcess } from "../src/server/testing/cluster.ts";
import { tempDir } from "../src/server/testing/harness.ts";

const { values } = parseArgs({ options: { agents: { type: "string", default: "20" }, items: { type: "string", default: "5000" }, parallelism: { type: "string", default: "500" }, runs: { type: "string", default: "3" }, keep: { type: "string" } } });
const AGENTS = Number(values.agents);
const ITEMS = Number(values.items);
const PARALLELISM = Number(values.parallelism);
const RUNS = Number(values.runs);
const KEEP = Number(values.keep ?? values.runs);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dbBytes = (dir: string): number => ["state.db", "state.db-wal"].reduce((n, f) => n + (fs.existsSync(path.join(dir, f)) ? fs.statSync(path.join(dir, f)).size : 0), 0);
function cpuOf(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

const dir = tempDir();
const server = await startServerProcess({ dataDir: dir, endpoints: null, prefix: "", timing: { heartbeatMs: 1000 } });
const agents = Array.from({ length: AGENTS }, (_, i) => new SimAgent([server.url], `sim-${i}`, { cores: 64, memoryMiB: 65_536 }, { finishBatch: true }));
try {
  await Promise.all(agents.map((a) => a.start(server.joinToken, { heartbeatMs: 1000 })));
  const { specs, problems } = compileJobs({ name: "bench", command: "true", isolation: "none", resources: { cpu: 0.01, memory: 1, disk: 1 }, batch: { completions: ITEMS, parallelism: PARALLELISM, keep: KEEP } }, "bench");
  if (!specs[0]) throw new Error(JSON.stringify(problems));
  await server.api.apply(specs[0]);
  await sleep(1000);
  const bytes0 = dbBytes(dir);
  const census0 = censusOf(dir);
  console.log(censusLines("before", census0).join("\n"));
  const censuses: StoreCensus[] = [];
  const cpu0 = cpuOf(server.child.pid ?? 0);
  const wall0 = Date.now();
  const done: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = await server.api.startRun("bench");
    // Its end through the typed watch (the run's own record, without its items), as a tool follows a
    // run (examples/run-batch.ts): polling GET for the whole run (5,000 items, 750 KB a time) cost the
    // server more than a tenth of its CPU in the first measures.
    let r = started;
    for await (const m of server.api.watch({ kinds: ["run"], jobs: ["bench"] })) {
      if ((m.type !== "added" && m.type !== "updated") || m.kind !== "run" || m.object?.id !== started.id) continue;
      if (m.object.state !== "queued" && m.object.state !== "running") break;
    }
    r = await server.api.run("bench", started.id);
    if (r.state !== "succeeded") throw new Error(`run ${r.id} ${r.state}: ${r.reason ?? ""}`);
    done.push(r);
    const s = ((r.endedAt ?? 0) - (r.startedAt ?? 0)) / 1000;
    console.log(`run ${i + 1}: ${ITEMS} items in ${s.toFixed(2)} s = ${Math.round(ITEMS / s)} items/s`);
    // Retention deletes the oldest run in the pass after this one ended: give it that pass.
    await sleep(300);
    const c = censusOf(dir);
    censuses.push(c);
    console.log(censusLines(`after run ${i + 1}`, c).join("\n"));
  }
  const wallS = (Date.now() - wall0) / 1000;
  const cpuS = cpuOf(server.child.pid ?? 0) - cpu0;
  const busyS = done.reduce((n, r) => n + ((r.endedAt ?? 0) - (r.startedAt ?? 0)) / 1000, 0);
  await sleep(1500);
  const grown = dbBytes(dir) - bytes0;
  console.log(`agents ${AGENTS}, items ${ITEMS} per run, parallelism ${PARALLELISM}, runs ${RUNS}`);
  console.log(`items/s ${Math.round((ITEMS * RUNS) / busyS)} (runs' own times), ${Math.round((ITEMS * RUNS) / wallS)} (wall, with the watch); runs/s ${(RUNS / wallS).toFixed(3)}`);
  console.log(`server CPU ${cpuS.toFixed(1)} s for ${ITEMS * RUNS} items = ${((cpuS * 1e6) / (ITEMS * RUNS)).toFixed(0)} µs per item`);
  console.log(`store growth ${(grown / 1e6).toFixed(1)} MB for ${ITEMS * RUNS} items (keep ${KEEP} runs) = ${((grown / (ITEMS * RUNS)) * 1e6 / 1e9).toFixed(2)} GB per million items`);
  const end = censusOf(dir);
  console.log(censusLines("end", end).join("\n"));
  // With retention on, what the second half of the runs added: the steady state's cost (the history
  // fills to its bound in the first ones: about 28,000 items of 9 rows at 250,000 rows).
  const from = Math.max(KEEP, Math.floor(censuses.length / 2));
  const base = censuses[Math.min(from, censuses.length - 1)];
  if (KEEP < RUNS && base) {
    const later = ITEMS * (RUNS - 1 - Math.min(from, censuses.length - 1));
    const usedPages = (c: StoreCensus): number => c.pages - c.freePages;
    const live = (c: StoreCensus): number => Object.values(c.keys).reduce((n, k) => n + k.bytes, 0);
    console.log(`steady state over the last ${later} items: file ${((end.fileBytes - base.fileBytes) / 1e6).toFixed(1)} MB, used pages ${usedPages(end) - usedPages(base)}, live value bytes ${live(end) - live(base)}, history rows ${end.historyRows - base.historyRows}`);
    console.log(`  = ${(((end.fileBytes - base.fileBytes) / Math.max(1, later)) * 1e6 / 1e9).toFixed(3)} GB of file and ${(((live(end) - live(base)) / Math.max(1, later)) * 1e6 / 1e9).toFixed(3)} GB of live values per million further items`);
  }
} finally {
  await Promise.all(agents.map((a) => a.stop()));
  await server.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}
