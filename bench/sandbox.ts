// Sandbox start cost: time from the helper starting a task to the task's first instruction, plain
// (a process group) vs sandboxed (crun / runc, host or private network), median of N starts each.
// The task is `date +%s%N`: the wall-clock time it prints is when it ran. Measured in one process with
// the helper's own task classes (TaskProcess, SandboxTask), so Node's start-up is not in the figures.
//
//   node bench/sandbox.ts [--runs 50] [--only crun] [--base DIR] [--favordynmods]   (as root, with crun and/or runc)
//
// --base DIR: also the SandboxTask of another checkout (a worktree of the old code), same run, interleaved.
// --favordynmods: also every runtime variant with the host's cgroup2 mount remounted `favordynmods` for
// that start (sandbox-cgroup.ts says why); the option is set and cleared around each start and the
// host's own setting restored at the end. Every start waits 100 ms first, whatever its variant, so the
// kernel has settled after a remount (and after the previous container's removal).

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { systemClock } from "../src/model/index.ts";
import type { RuntimeInfo, SandboxConfig } from "../src/helper/protocol.ts";
import { probeRuntime } from "../src/helper/sandbox.ts";
import { findBinary, runtimeNames, runtimeVersion } from "../src/helper/sandbox-runtime.ts";
import { SandboxTask } from "../src/helper/sandbox-task.ts";
import type { SandboxTaskOptions } from "../src/helper/sandbox-task.ts";
import { favorDynmodsState, setFavorDynmods } from "../src/helper/sandbox-cgroup.ts";
import { TaskProcess } from "../src/helper/task.ts";
import type { Task, TaskOptions } from "../src/helper/task.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "50" }, only: { type: "string" }, base: { type: "string" }, favordynmods: { type: "boolean", default: false } },
});
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
      pipesDir: dir,
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
  /** The host's favordynmods setting this variant runs with (null: left as it is). */
  dynmods: boolean | null;
}

const hostDynmods = favorDynmodsState();
let dynmodsNow = hostDynmods === "on";

function setDynmods(on: boolean | null): void {
  if (on === null || on === dynmodsNow) return;
  const why = setFavorDynmods(on);
  if (why !== null) throw new Error(why);
  dynmodsNow = on;
}

/** RUNS rounds of every variant, in a new random order each round, so all see the same machine load. */
async function interleaved(variants: Variant[]): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    const order = variants.map((v) => ({ v, k: Math.random() })).sort((a, b) => a.k - b.k).map((x) => x.v);
    for (const v of order) {
      const dir = path.join(root, `${v.label.replace(/\W+/g, "-")}-${i}`);
      setDynmods(v.dynmods);
      await new Promise((r) => setTimeout(r, 100));
      v.times.push(await once(v.make, dir));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function runtimes(): Promise<RuntimeInfo[]> {
  const out: RuntimeInfo[] = [];
  for (const name of runtimeNames.filter((n) => values.only === undefined || n === values.only)) {
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

type SandboxTaskClass = new (o: SandboxTaskOptions) => Task;

try {
  console.log(`${RUNS} starts each, interleaved in random order; ${os.availableParallelism()} cores, load ${os.loadavg()[0]?.toFixed(1)}, kernel ${os.release()}, favordynmods ${hostDynmods}`);
  console.log(`command: node bench/sandbox.ts ${process.argv.slice(2).join(" ")}`);
  const classes: { tag: string; cls: SandboxTaskClass }[] = [{ tag: "", cls: SandboxTask }];
  if (values.base !== undefined) {
    const mod = (await import(path.resolve(values.base, "src/helper/sandbox-task.ts"))) as { SandboxTask: SandboxTaskClass };
    classes.push({ tag: " [base]", cls: mod.SandboxTask });
  }
  const dynmodsModes: (boolean | null)[] = values.favordynmods && hostDynmods !== "unavailable" ? [false, true] : [null];
  const variants: Variant[] = [{ label: "plain (process group)", make: (o) => new TaskProcess(o), times: [], dynmods: null }];
  let n = 0;
  for (const r of await runtimes()) {
    for (const network of ["host", "private"] as const) {
      const sandbox: SandboxConfig = { runtime: r, network, readOnlyPaths: [], mounts: [], limits: { cpu: 1, memoryMiB: 64, pids: 64 }, cgroupParent: "/tiffin", layoutCache: path.join(root, "layouts") };
      for (const { tag, cls } of classes) {
        for (const dynmods of dynmodsModes) {
          const label = `${r.name} ${r.version}, network ${network}${tag}${dynmods === true ? " +favordynmods" : ""}`;
          variants.push({ label, make: (o) => new cls({ ...o, sandbox, attemptId: `bench-${n++}`, attemptDir: path.dirname(o.cwd) }), times: [], dynmods });
        }
      }
    }
  }
  await interleaved(variants);
  const plain = median(variants[0]?.times ?? []);
  for (const v of variants) {
    const m = median(v.times);
    const added = v === variants[0] ? "" : `   added ${(m - plain).toFixed(1).padStart(5)} ms`;
    console.log(`${v.label.padEnd(52)} median ${m.toFixed(1).padStart(5)} ms   p90 ${p90(v.times).toFixed(1).padStart(5)} ms${added}`);
  }
  console.log(`load after: ${os.loadavg()[0]?.toFixed(1)}`);
} finally {
  if (hostDynmods !== "unavailable") setDynmods(hostDynmods === "on");
  fs.rmSync(root, { recursive: true, force: true });
}
