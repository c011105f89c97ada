// Resource usage of a task without a cgroup of its own (isolation "none", rootless sandboxes): the
// process tree under the task's pid, read from /proc. CPU = user+system ticks of every live process
// plus what they reaped (cutime/cstime), so short-lived children count once their parent waited for
// them; memory = the sum of VmRSS (shared pages count once per process: an over-estimate, as `ps`
// sums are); peak = the largest sum seen by this sampler; pids = processes in the tree; block I/O = the
// sum of /proc/PID/io read_bytes and write_bytes of the live processes (an exited child's bytes leave
// the sum: rates never go below 0). Processes that left the tree (daemonized, reparented to init) are
// not seen.
import fs from "node:fs";
import type { ResourceUsage } from "../model/index.ts";
import type { CgroupCounters } from "./usage.ts";
import { toUsage } from "./usage.ts";

/** USER_HZ: the unit of /proc's CPU times; 100 on every Linux architecture Node runs on. */
const ticksPerSecond = 100;

/** Processes under `root` (children, grandchildren...; not `root`), from the ppid in /proc/PID/stat. */
export function processTree(root: number, procDir = "/proc"): number[] {
  const children = new Map<number, number[]>();
  let names: string[];
  try {
    names = fs.readdirSync(procDir);
  } catch {
    return [];
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(procDir, Number(name));
    if (f === null) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const c of children.get(pid) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** The fields of /proc/PID/stat after the command name (field 3, the state, is [0]), or null when gone. */
function statFields(procDir: string, pid: number): string[] | null {
  try {
    const stat = fs.readFileSync(`${procDir}/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: the fields start after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).trim().split(" ");
  } catch {
    return null;
  }
}

/** Counters of the tree rooted at `root` (pure apart from reading `procDir`); null when root is gone. */
export function readProcCounters(root: number, procDir = "/proc"): Omit<CgroupCounters, "memoryPeakBytes"> | null {
  const rootStat = statFields(procDir, root);
  if (rootStat === null) return null;
  let ticks = 0;
  let rssBytes = 0;
  let pids = 0;
  let ioRead: number | null = null;
  let ioWrite: number | null = null;
  for (const pid of [root, ...processTree(root, procDir)]) {
    const f = pid === root ? rootStat : statFields(procDir, pid);
    if (f === null) continue;
    pids++;
    // utime, stime, cutime, cstime are fields 14-17 of stat: [11..14] here.
    for (let i = 11; i <= 14; i++) ticks += Number(f[i]) || 0;
    try {
      const kb = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`${procDir}/${pid}/status`, "utf8"));
      rssBytes += kb ? Number(kb[1]) * 1024 : 0;
    } catch {
      // gone meanwhile
    }
    try {
      const io = fs.readFileSync(`${procDir}/${pid}/io`, "utf8");
      ioRead = (ioRead ?? 0) + Number(/^read_bytes: (\d+)$/m.exec(io)?.[1] ?? 0);
      ioWrite = (ioWrite ?? 0) + Number(/^write_bytes: (\d+)$/m.exec(io)?.[1] ?? 0);
    } catch {
      // gone meanwhile, or a kernel without task I/O accounting
    }
  }
  return { cpuNs: (ticks / ticksPerSecond) * 1e9, memoryBytes: rssBytes, pids, ioReadBytes: ioRead, ioWriteBytes: ioWrite };
}

/** Samples the tree under `pid` every `everyMs` into `onSample` (first sample at once), as usage.ts does for cgroups. */
export function sampleProcUsage(pid: number, everyMs: number, now: () => number, onSample: (u: ResourceUsage) => void, procDir = "/proc"): { stop(): void } {
  let prev: ResourceUsage | null = null;
  let peak = 0;
  const tick = (): void => {
    const c = readProcCounters(pid, procDir);
    if (!c) return;
    peak = Math.max(peak, c.memoryBytes);
    prev = toUsage({ ...c, memoryPeakBytes: peak }, now(), prev);
    onSample(prev);
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
