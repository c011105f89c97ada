// Sandbox start cost: time from the helper starting a task to the task's first instruction, plain
// (a process group) vs sandboxed (crun / runc, host or private network), median of N starts each.
// The task is `date +%s%N`: the wall-clock time it prints is when it ran. Measured in one process with
// the helper's own task classes (TaskProcess, SandboxTask), so Node's start-up is not in the figures.
//
//   node bench/sandbox.ts [--runs 50]   (as root, with crun and/or runc installed)

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { systemClock } from "../src/model/index.ts";
import type { RuntimeInfo, SandboxConfig } from "../src/helper/protocol.ts";
import { probeRuntime } from "../src/helper/sandbox.ts";
import { findBinary, runtimeNames, runtimeVersion } from "../src/helper/sandbox-runtime.ts";
import { SandboxTask } from "../src/helper/sandbox-task.ts";
import { TaskProcess } from "../src/helper/task.ts";
import type { Task, TaskOptions } from "../src/helper/task.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "50" } } });
const RUNS = Number(values.runs);
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bench-sandbox-"));
const dateBin = findBinary("date") ?? "/bin/date";

/** One start: ms from start() to the task's first instruction (as the task's clock reads it). */
function once(make: (o: TaskOptions) => Task, dir: string): Promise<number> {
  const work = path.join(dir, "work");
  fs.mkdirSync(work, { recursive: true });
  return new Promise((resolve, reject) => {
    let out = "";
    let t0 = 0;
    const task = make({
      command: [dateBin, "+%s%N"],
      env: { PATH: "/usr/bin:/bin" },
      cwd: work,
      stop: { signal: "SIGTERM", graceMs: 1000 },
      clock: systemClock,
      onSpawn: () => {},
      onOutput: (_s, b) => void (out += b.toString()),
      onEnd: (end) => {
        const ranAtMs = Number(BigInt(out.trim() || "0") / 1000n) / 1000;
        if (end.startError !== null || end.exitCode !== 0 || !(ranAtMs > 0)) reject(new Error(`start failed: ${JSON.stringify(end)} ${out}`));
        else resolve(ranAtMs - t0);
      },
    });
    t0 = performance.timeOrigin + performance.now();
    task.start();
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

function p90(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length * 0.9)] ?? Number.NaN;
}

/** A way to start the task, with its measured starts. */
interface Variant {
  label: string;
  make: (o: TaskOptions) => Task;
  times: number[];
}

/** RUNS rounds of every variant, in a new random order each round, so all see the same machine load. */
async function interleaved(variants: Variant[]): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    const order = variants.map((v) => ({ v, k: Math.random() })).sort((a, b) => a.k - b.k).map((x) => x.v);
    for (const v of order) {
      const dir = path.join(root, `${v.label.replace(/\W+/g, "-")}-${i}`);
      v.times.push(await once(v.make, dir));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function runtimes(): Promise<RuntimeInfo[]> {
  const out: RuntimeInfo[] = [];
  for (const name of runtimeNames) {
    const bin = findBinary(name);
    const version = bin === null ? null : await runtimeVersion(bin);
    if (bin === null || version === null) continue;
    const r: RuntimeInfo = { name, path: bin, version, rootless: false, stateDir: null };
    const why = await probeRuntime(r, root);
    if (why === null) out.push(r);
    else console.log(`${name} ${version}: does not work here: ${why}`);
  }
  return out;
}

try {
  console.log(`${RUNS} starts each, interleaved in random order; ${os.availableParallelism()} cores, load ${os.loadavg()[0]?.toFixed(1)}, kernel ${os.release()}`);
  const variants: Variant[] = [{ label: "plain (process group)", make: (o) => new TaskProcess(o), times: [] }];
  let n = 0;
  for (const r of await runtimes()) {
    for (const network of ["host", "private"] as const) {
      const sandbox: SandboxConfig = { runtime: r, network, readOnlyPaths: [], mounts: [], limits: { cpu: 1, memoryMiB: 64, pids: 64 }, cgroupParent: "/tiffin" };
      variants.push({ label: `${r.name} ${r.version}, network ${network}`, make: (o) => new SandboxTask({ ...o, sandbox, attemptId: `bench-${n++}`, attemptDir: path.dirname(o.cwd) }), times: [] });
    }
  }
  await interleaved(variants);
  const plain = median(variants[0]?.times ?? []);
  for (const v of variants) {
    const m = median(v.times);
    const added = v === variants[0] ? "" : `   added ${(m - plain).toFixed(1).padStart(5)} ms`;
    console.log(`${v.label.padEnd(30)} median ${m.toFixed(1).padStart(5)} ms   p90 ${p90(v.times).toFixed(1).padStart(5)} ms${added}`);
  }
  console.log(`load after: ${os.loadavg()[0]?.toFixed(1)}`);
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
