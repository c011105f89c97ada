// The cgroup side of a sandbox. Each attempt's container lives in `<parent>/<id>/task`; the runtime
// creates and deletes the leaf `task`, and the helper removes `<parent>/<id>` itself afterwards. The
// extra level outlives the container, so the peak memory use and the OOM kills (hierarchical counters)
// can still be read after the runtime deleted the leaf, which it does the moment the task exits.
// Works on cgroup v1 (memory controller mounted on its own) and v2 (one unified mount).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** One mounted cgroup hierarchy. */
export interface CgroupMount {
  dir: string;
  version: 1 | 2;
  /** v1: the controllers of this hierarchy (from the mount options); v2: empty. */
  controllers: string[];
}

/** Parses /proc/self/mounts into cgroup hierarchies. */
export function parseCgroupMounts(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split("\n")) {
    const [, dir, type, opts] = line.split(" ");
    if (!dir || !opts) continue;
    if (type === "cgroup2") out.push({ dir, version: 2, controllers: [] });
    else if (type === "cgroup") out.push({ dir, version: 1, controllers: opts.split(",").filter((o) => !["rw", "ro", "relatime", "nosuid", "nodev", "noexec"].includes(o)) });
  }
  return out;
}

/** This host's cgroup hierarchies. */
export function cgroupMounts(): CgroupMount[] {
  try {
    return parseCgroupMounts(fs.readFileSync("/proc/self/mounts", "utf8"));
  } catch {
    return [];
  }
}

/** What the cgroup says about an attempt's memory once it ended. */
export interface MemoryUse {
  peakBytes: number | null;
  /** OOM kills in the attempt (v2 only: v1 counts them in the leaf, which is gone by then). */
  oomKills: number | null;
}

function readNumber(file: string): number | null {
  try {
    const n = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** Reads peak memory and OOM kills of cgroup `cg` (e.g. "/tiffin/t-a1-0f3c"), v1 memory controller first. */
export function readMemoryUse(cg: string, mounts: CgroupMount[] = cgroupMounts()): MemoryUse {
  const v1 = mounts.find((m) => m.version === 1 && m.controllers.includes("memory"));
  if (v1) return { peakBytes: readNumber(path.join(v1.dir, cg, "memory.max_usage_in_bytes")), oomKills: null };
  const v2 = mounts.find((m) => m.version === 2);
  if (!v2) return { peakBytes: null, oomKills: null };
  let oomKills: number | null = null;
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync(path.join(v2.dir, cg, "memory.events"), "utf8"));
    oomKills = m ? Number(m[1]) : null;
  } catch {
    // no memory controller here
  }
  return { peakBytes: readNumber(path.join(v2.dir, cg, "memory.peak")), oomKills };
}

/**
 * Why an ended attempt counts as out of memory, or null. v2 counts OOM kills; v1 cannot (see MemoryUse),
 * so there a SIGKILL while the peak sat at the limit is taken as the memory cgroup's OOM kill.
 */
export function outOfMemoryReason(signal: string | null, use: MemoryUse, limitMiB: number): string | null {
  const limit = limitMiB * 1024 * 1024;
  const peak = use.peakBytes === null ? "" : ` (peak ${(use.peakBytes / (1024 * 1024)).toFixed(1)} MiB)`;
  const atLimit = use.peakBytes !== null && use.peakBytes >= limit - 256 * 1024;
  const killed = use.oomKills !== null ? use.oomKills > 0 : signal === "SIGKILL" && atLimit;
  return killed ? `out of memory: killed at its memory limit of ${limitMiB} MiB${peak}` : null;
}

/** Removes `cg` (and a leftover `task` leaf) from every hierarchy; quiet about what is not there. */
export function removeCgroup(cg: string, mounts: CgroupMount[] = cgroupMounts()): void {
  for (const m of mounts) {
    for (const d of [path.join(m.dir, cg, "task"), path.join(m.dir, cg)]) {
      try {
        fs.rmdirSync(d);
      } catch {
        // absent, or still busy: nothing better to do here
      }
    }
  }
}

/**
 * Whether moving processes between cgroups is cheap on this host: "on" when the cgroup2 mount has
 * `favordynmods`, "off" when the kernel offers it but it is not set, "unavailable" otherwise.
 *
 * Why it matters: every `RUNTIME run` moves its container's first process into the task's cgroups, and
 * the kernel takes a global lock for that (cgroup_threadgroup_rwsem) whose writer waits for an RCU
 * grace period: 5-16 ms of a 20-30 ms sandbox start on our 2-core VMs. `favordynmods` keeps that lock
 * ready for writers at all times; the price is a little more work in every fork and exit on the
 * host (the lock's reader side). It is one switch for the whole host (the lock is global, so the
 * option on the cgroup2 mount serves the v1 hierarchies too), hence the agent's or the admin's call,
 * not the helper's: see `setFavorDynmods`.
 */
export function favorDynmodsState(mountsText?: string, featuresText?: string): "on" | "off" | "unavailable" {
  const features = featuresText ?? readText("/sys/kernel/cgroup/features");
  if (!/^favordynmods$/m.test(features)) return "unavailable";
  const line = (mountsText ?? readText("/proc/self/mounts")).split("\n").find((l) => l.split(" ")[2] === "cgroup2");
  if (line === undefined) return "unavailable";
  return (line.split(" ")[3] ?? "").split(",").includes("favordynmods") ? "on" : "off";
}

/**
 * Turns `favordynmods` on or off for the whole host by remounting the cgroup2 mount (root only; see
 * favorDynmodsState for what it trades). Returns null when done, else why not. Off needs the
 * options as given (`--options-mode ignore`): a plain remount keeps the current ones.
 */
export function setFavorDynmods(on: boolean, mounts: CgroupMount[] = cgroupMounts()): string | null {
  const v2 = mounts.find((m) => m.version === 2);
  if (!v2) return "no cgroup2 mount on this host";
  const args = on ? ["-o", "remount,favordynmods", v2.dir] : ["--options-mode", "ignore", "-o", "remount", v2.dir];
  try {
    execFileSync("mount", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 10_000 });
    return null;
  } catch (e) {
    return `mount ${args.join(" ")}: ${String((e as { stderr?: unknown }).stderr ?? e).trim()}`;
  }
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}
