// Out of memory without the kernel's OOM killer (cgroup v1): the sandbox is created with
// `disableOOMKiller` (memory.oom_control oom_kill_disable=1), so a task at its limit is paused in the
// kernel instead of losing a random process. The helper polls `under_oom`, and when the task is stuck
// there ends the whole container at once and records why, with the peak (the attempt is then restarted
// like any failed one). cgroup v2 has no such switch (memory.oom.group only makes the kill whole): there
// the kernel kills and sandbox-cgroup.ts's outOfMemoryReason explains it afterwards.
import fs from "node:fs";
import path from "node:path";
import { cgroupMounts } from "./sandbox-cgroup.ts";
import type { CgroupMount } from "./sandbox-cgroup.ts";

/** The v1 memory hierarchy's directory, or null on v2-only hosts (where the OOM killer stays on). */
export function v1MemoryDir(mounts: CgroupMount[] = cgroupMounts()): string | null {
  return mounts.find((m) => m.version === 1 && m.controllers.includes("memory"))?.dir ?? null;
}

/** True when cgroup `leaf`'s memory.oom_control says its tasks are waiting for memory (pure on the text). */
export function underOom(oomControl: string): boolean {
  return /^under_oom 1$/m.test(oomControl);
}

/** Why the watch ended the task: the reason recorded for the attempt. */
export function oomStopReason(limitMiB: number, peakBytes: number | null): string {
  const peak = peakBytes === null ? "" : ` (peak ${(peakBytes / (1024 * 1024)).toFixed(1)} MiB)`;
  return `out of memory: stopped at its memory limit of ${limitMiB} MiB${peak}`;
}

/** A cgroup file holding one number of bytes (a peak), or null when it is missing (gone, or older kernel). */
export function readBytes(file: string): number | null {
  try {
    return Number(fs.readFileSync(file, "utf8").trim());
  } catch {
    return null;
  }
}

/** Reads `file` every `everyMs` (skipping ticks where it cannot be read: not created yet, or gone)
 * until `tick` returns true, once; `stop` ends it early. The v1 and v2 OOM watchers share it. */
export function pollFile(file: string, everyMs: number, tick: (text: string) => boolean): { stop(): void } {
  let done = false;
  const timer = setInterval(() => {
    if (done) return;
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      return;
    }
    if (!tick(text)) return;
    done = true;
    clearInterval(timer);
  }, everyMs);
  timer.unref();
  return {
    stop: () => {
      done = true;
      clearInterval(timer);
    },
  };
}

/** Polls `leaf` (absolute path in the v1 memory hierarchy) every `everyMs`; calls `onOom(peakBytes)` once. */
export function watchOom(leafDir: string, everyMs: number, onOom: (peakBytes: number | null) => void): { stop(): void } {
  return pollFile(path.join(leafDir, "memory.oom_control"), everyMs, (text) => {
    if (!underOom(text)) return false;
    onOom(readBytes(path.join(leafDir, "memory.max_usage_in_bytes")));
    return true;
  });
}
