// Resource usage of a sandboxed attempt, sampled from its cgroup `<parent>/<container id>` (the level
// above the runtime's leaf, so counters are hierarchical and survive the leaf): CPU time, memory now
// and at peak, processes, block I/O. cgroup v1 (cpuacct, memory, pids, blkio hierarchies) and v2 (one
// unified mount).
import fs from "node:fs";
import path from "node:path";
import type { ResourceUsage } from "../model/index.ts";
import { cgroupMounts } from "./sandbox-cgroup.ts";
import type { CgroupMount } from "./sandbox-cgroup.ts";

/** The raw counters of one sample, before rates. */
export interface CgroupCounters {
  cpuNs: number;
  memoryBytes: number;
  memoryPeakBytes: number | null;
  pids: number | null;
  /** Throttled CPU time, ns (cpu.stat), null where not reported. */
  throttledNs?: number | null;
  /** CPU quota periods and throttled periods (cpu.stat `nr_periods`, `nr_throttled`), null where not reported. */
  periods?: number | null;
  throttledPeriods?: number | null;
  /** OOM kills in the cgroup (memory.events `oom_kill`, v1 memory.oom_control), null where not reported. */
  oomKills?: number | null;
  /** Block device bytes read and written (io.stat, blkio), null where not reported. */
  ioReadBytes?: number | null;
  ioWriteBytes?: number | null;
}

/** v2 io.stat (`MAJ:MIN rbytes=N wbytes=N ...` a device a line): bytes read and written, summed over
 * devices; null when the file is missing. Pure. */
export function ioStatBytes(text: string | null): { read: number; write: number } | null {
  if (text === null) return null;
  let read = 0;
  let write = 0;
  for (const line of text.split("\n")) {
    read += Number(/\brbytes=(\d+)/.exec(line)?.[1] ?? 0);
    write += Number(/\bwbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { read, write };
}

/** v1 blkio `io_service_bytes` (`MAJ:MIN Read N`, `... Write N`, a `Total` line): bytes read and
 * written, summed over devices; null when the file is missing. Pure. */
export function blkioBytes(text: string | null): { read: number; write: number } | null {
  if (text === null) return null;
  let read = 0;
  let write = 0;
  for (const m of text.matchAll(/^\S+ (Read|Write) (\d+)$/gm)) {
    if (m[1] === "Read") read += Number(m[2]);
    else write += Number(m[2]);
  }
  return { read, write };
}

/** `key value` lines (cpu.stat, memory.events, memory.oom_control): the value of `key`, or null. */
export function statField(text: string | null, key: string): number | null {
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(text ?? "");
  return m ? Number(m[1]) : null;
}

function read(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

function num(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : null;
}

/** The runtime's leaf under an attempt's cgroup (sandbox.ts: cgroupsPath `<cg>/task`). */
const Leaf = "task";

/** A file of the runtime's leaf while it exists, else of `dir` itself. CPU throttling is counted where
 * the quota is set (the leaf: the level above has no quota, so it counts no periods), and cgroup v1
 * counts OOM kills per cgroup, not hierarchically. */
function leafOr(dir: string, file: string): string | null {
  return read(path.join(dir, Leaf, file)) ?? read(path.join(dir, file));
}

/** Reads cgroup `cg`'s counters; null when its CPU or memory accounting cannot be read (gone, rootless). */
export function readCgroupCounters(cg: string, mounts: CgroupMount[] = cgroupMounts()): CgroupCounters | null {
  const v1 = (ctl: string): string | null => {
    const m = mounts.find((x) => x.version === 1 && x.controllers.includes(ctl));
    return m ? path.join(m.dir, cg) : null;
  };
  const mem1 = v1("memory");
  const cpu1 = v1("cpuacct");
  if (mem1 && cpu1) {
    const cpuNs = num(read(path.join(cpu1, "cpuacct.usage")));
    const memoryBytes = num(read(path.join(mem1, "memory.usage_in_bytes")));
    if (cpuNs === null || memoryBytes === null) return null;
    const pids1 = v1("pids");
    const cpuCtl = v1("cpu");
    const stat1 = cpuCtl ? leafOr(cpuCtl, "cpu.stat") : null;
    // v1 blkio counts per cgroup; the _recursive file (Linux 4.x and later) adds the leaf's.
    const blk1 = v1("blkio");
    const io = blk1 ? blkioBytes(read(path.join(blk1, "blkio.throttle.io_service_bytes_recursive")) ?? read(path.join(blk1, "blkio.throttle.io_service_bytes"))) : null;
    return {
      cpuNs, memoryBytes, memoryPeakBytes: num(read(path.join(mem1, "memory.max_usage_in_bytes"))), pids: pids1 ? num(read(path.join(pids1, "pids.current"))) : null,
      throttledNs: statField(stat1, "throttled_time"), periods: statField(stat1, "nr_periods"), throttledPeriods: statField(stat1, "nr_throttled"),
      oomKills: statField(leafOr(mem1, "memory.oom_control"), "oom_kill"),
      ioReadBytes: io?.read ?? null, ioWriteBytes: io?.write ?? null,
    };
  }
  const v2 = mounts.find((x) => x.version === 2);
  if (!v2) return null;
  const dir = path.join(v2.dir, cg);
  const cpuStat = read(path.join(dir, "cpu.stat"));
  const usec = statField(cpuStat, "usage_usec");
  const memoryBytes = num(read(path.join(dir, "memory.current")));
  if (usec === null || memoryBytes === null) return null;
  const leafStat = leafOr(dir, "cpu.stat");
  const throttledUsec = statField(leafStat, "throttled_usec");
  const io = ioStatBytes(read(path.join(dir, "io.stat")));
  return {
    cpuNs: usec * 1000, memoryBytes, memoryPeakBytes: num(read(path.join(dir, "memory.peak"))), pids: num(read(path.join(dir, "pids.current"))),
    throttledNs: throttledUsec === null ? null : throttledUsec * 1000, periods: statField(leafStat, "nr_periods"), throttledPeriods: statField(leafStat, "nr_throttled"),
    oomKills: statField(read(path.join(dir, "memory.events")), "oom_kill"),
    ioReadBytes: io?.read ?? null, ioWriteBytes: io?.write ?? null,
  };
}

/** A sample from counters, with the CPU rate since `prev` (pure). */
export function toUsage(c: CgroupCounters, at: number, prev: ResourceUsage | null): ResourceUsage {
  const cpuSeconds = c.cpuNs / 1e9;
  const dt = prev ? (at - prev.at) / 1000 : 0;
  const cpuCores = prev && dt > 0 ? Math.max(0, Math.round(((cpuSeconds - prev.cpuSeconds) / dt) * 1000) / 1000) : null;
  const rate = (now: number | null | undefined, before: number | null | undefined): number | null => (now != null && before != null && dt > 0 ? Math.max(0, Math.round((now - before) / dt)) : null);
  return {
    at, cpuSeconds: Math.round(cpuSeconds * 1000) / 1000, cpuCores, memoryBytes: c.memoryBytes, memoryPeakBytes: c.memoryPeakBytes, pids: c.pids,
    ...(c.throttledNs !== undefined ? { throttledSeconds: c.throttledNs === null ? null : Math.round(c.throttledNs / 1e6) / 1000 } : {}),
    ...(c.periods !== undefined ? { cpuPeriods: c.periods } : {}),
    ...(c.throttledPeriods !== undefined ? { cpuThrottledPeriods: c.throttledPeriods } : {}),
    ...(c.oomKills !== undefined ? { oomKills: c.oomKills } : {}),
    ...(c.ioReadBytes !== undefined ? { ioReadBytes: c.ioReadBytes, ioReadRate: rate(c.ioReadBytes, prev?.ioReadBytes) } : {}),
    ...(c.ioWriteBytes !== undefined ? { ioWriteBytes: c.ioWriteBytes, ioWriteRate: rate(c.ioWriteBytes, prev?.ioWriteBytes) } : {}),
  };
}

/** Samples `cg` every `everyMs` and hands each sample to `onSample` (first sample at once). */
export function sampleUsage(cg: string, everyMs: number, now: () => number, onSample: (u: ResourceUsage) => void): { stop(): void } {
  const mounts = cgroupMounts();
  let prev: ResourceUsage | null = null;
  const tick = (): void => {
    const c = readCgroupCounters(cg, mounts);
    if (!c) return;
    prev = toUsage(c, now(), prev);
    onSample(prev);
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
