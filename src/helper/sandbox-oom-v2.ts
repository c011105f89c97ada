// Out of memory on cgroup v2, where there is no switch to keep the OOM killer away: the sandbox asks
// (OCI `linux.resources.unified`) for `memory.high` below `memory.max`, so a task nearing its limit is
// throttled and reclaimed first, which the helper sees as `high` events, and for `memory.oom.group=1`,
// so if the kernel must kill, it kills the whole task instead of a random process in it. The helper polls
// the leaf's `memory.events`: an OOM kill ends the attempt as out of memory (the container is gone
// already); `oom` without a kill (reclaim failed at max) is stopped at once like v1's paused task; and a
// task that keeps hitting memory.high for `pressureMs` is restarted cleanly (stop signal, grace) before
// the kernel has to kill. Which path runs is decided from the host's layout (`memoryCgroupMode`).
//
// NOT RUN ON THESE MACHINES: they mount the memory controller on cgroup v1, so the v2 kernel interface
// is exercised only through the table tests of sandbox-oom-v2.test.ts (file contents), not for real.
import fs from "node:fs";
import path from "node:path";
import type { CgroupMount } from "./sandbox-cgroup.ts";
import { pollFile, readBytes } from "./sandbox-oom.ts";

/** Which memory OOM handling a host gets. */
export type MemoryCgroupMode = "v1" | "v2" | "none";

/**
 * v1 when a v1 hierarchy has the memory controller (these hosts, hybrid layouts); else v2 when the
 * unified mount's root lists `memory` in cgroup.controllers (`v2Controllers`: that file's text); else none.
 */
export function memoryCgroupMode(mounts: readonly CgroupMount[], v2Controllers: string | null): MemoryCgroupMode {
  if (mounts.some((m) => m.version === 1 && m.controllers.includes("memory"))) return "v1";
  if (mounts.some((m) => m.version === 2) && v2Controllers !== null && v2Controllers.trim().split(/\s+/).includes("memory")) return "v2";
  return "none";
}

/** The host's mode, reading the unified root's cgroup.controllers. */
export function hostMemoryMode(mounts: readonly CgroupMount[]): MemoryCgroupMode {
  const v2 = mounts.find((m) => m.version === 2);
  let text: string | null = null;
  try {
    if (v2) text = fs.readFileSync(path.join(v2.dir, "cgroup.controllers"), "utf8");
  } catch {
    // unreadable: no v2 memory controller for us
  }
  return memoryCgroupMode(mounts, text);
}

/** memory.high for a limit: 90% of it, at most 64 MiB below, in whole pages (pure). */
export function memoryHigh(limitBytes: number): number {
  const high = Math.max(limitBytes * 0.9, limitBytes - 64 * 1024 * 1024);
  return Math.floor(high / 4096) * 4096;
}

/** The OCI `linux.resources.unified` entries of a v2 sandbox with `limitBytes` of memory. */
export function v2MemoryUnified(limitBytes: number): Record<string, string> {
  return { "memory.high": String(memoryHigh(limitBytes)), "memory.oom.group": "1" };
}

/** The counters of a memory.events file (absent keys are 0). */
export interface MemoryEvents {
  high: number;
  max: number;
  oom: number;
  oomKill: number;
}

/** Parses memory.events ("low 0\nhigh 12\nmax 3\noom 0\noom_kill 0\noom_group_kill 0\n"). */
export function parseMemoryEvents(text: string): MemoryEvents {
  const get = (k: string): number => Number(new RegExp(`^${k} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return { high: get("high"), max: get("max"), oom: get("oom"), oomKill: get("oom_kill") };
}

/** What to do after a poll. */
export type OomDecision = { action: "none" } | { action: "killed" } | { action: "kill" } | { action: "stop" };

/**
 * The decision from two polls of memory.events (pure). `highSince`: when memory.high events began to
 * grow without a pause (null: not now); a stop is asked once they grew for `pressureMs`.
 */
export function oomDecision(prev: MemoryEvents, now: MemoryEvents, highSince: number | null, at: number, pressureMs: number): OomDecision {
  if (now.oomKill > prev.oomKill) return { action: "killed" };
  if (now.oom > prev.oom) return { action: "kill" };
  if (now.high > prev.high && highSince !== null && at - highSince >= pressureMs) return { action: "stop" };
  return { action: "none" };
}

/** The attempt's end reason for each decision that ends it. */
export function v2OomReason(d: OomDecision, limitMiB: number, peakBytes: number | null): string | null {
  const peak = peakBytes === null ? "" : ` (peak ${(peakBytes / (1024 * 1024)).toFixed(1)} MiB)`;
  if (d.action === "killed") return `out of memory: killed at its memory limit of ${limitMiB} MiB${peak}`;
  if (d.action === "kill") return `out of memory: stopped at its memory limit of ${limitMiB} MiB${peak}`;
  if (d.action === "stop") return `out of memory: restarted under memory pressure near its limit of ${limitMiB} MiB${peak}`;
  return null;
}

/**
 * Polls `leafDir` (absolute, in the unified hierarchy) every `everyMs`; calls `onEnd` once with a
 * decision that ends the attempt and the peak (memory.peak, Linux 5.19+, else null).
 */
export function watchOomV2(leafDir: string, everyMs: number, pressureMs: number, now: () => number, onEnd: (d: OomDecision, peakBytes: number | null) => void): { stop(): void } {
  let prev: MemoryEvents | null = null;
  let highSince: number | null = null;
  return pollFile(path.join(leafDir, "memory.events"), everyMs, (text) => {
    const ev = parseMemoryEvents(text);
    const at = now();
    const last = prev;
    prev = ev;
    if (last === null) return false;
    if (ev.high > last.high) highSince ??= at;
    else highSince = null;
    const d = oomDecision(last, ev, highSince, at, pressureMs);
    if (d.action === "none") return false;
    onEnd(d, readBytes(path.join(leafDir, "memory.peak"))); // memory.peak: Linux 5.19 and later
    return true;
  });
}
