// After the agents of `tiffin dev` have stopped, nothing they started should be left. Helpers run
// detached from their agent (so an agent upgrade leaves tasks running), which also means a crashed or
// killed agent can leave them behind. We find them through the attempt directories
// (DATA/<agent>/attempts/<id>/helper.pid and status.json) and end what is still alive.

import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { isHelperProcessOf } from "../../helper/main.ts";
import { readJsonAs } from "../../model/index.ts";

/** The part of an attempt's status.json this reads: the task's pid, once it has one. */
const statusPidSchema = z.object({ pid: z.number().int().positive() });

/** A helper or task process recorded in an attempt directory. */
export interface RecordedPid {
  pid: number;
  kind: "helper" | "task";
  attemptDir: string;
}

/** Every helper and task pid recorded under the agents' data dirs. */
export function recordedPids(agentDirs: string[]): RecordedPid[] {
  const out: RecordedPid[] = [];
  for (const dir of agentDirs) {
    const attempts = join(dir, "attempts");
    if (!existsSync(attempts)) continue;
    for (const id of readdirSync(attempts)) {
      const d = join(attempts, id);
      const helper = Number(readOr(join(d, "helper.pid")).trim());
      if (Number.isSafeInteger(helper) && helper > 0) out.push({ pid: helper, kind: "helper", attemptDir: d });
      // No status yet, or none of the shape: no task pid.
      const task = readJsonAs(statusPidSchema, readOr(join(d, "status.json")))?.pid;
      if (task !== undefined) out.push({ pid: task, kind: "task", attemptDir: d });
    }
  }
  return out;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** True if the pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return true;
  }
}

/**
 * True if the live process `pid` still belongs to the attempt: its command line names the attempt
 * dir (or it is a shared helper process of the same attempts folder, ../../helper/pool.ts), or it runs inside it. Guards against killing an unrelated process that reused an old pid.
 * Without /proc (not Linux) the recorded pid is trusted.
 */
export function belongsTo(pid: number, attemptDir: string): boolean {
  if (!existsSync("/proc/self")) return true;
  let dir = attemptDir;
  try {
    dir = realpathSync(attemptDir);
  } catch {
    // keep the recorded path
  }
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    const cmdline = argv.join(" ");
    if (cmdline.includes(attemptDir) || cmdline.includes(dir) || isHelperProcessOf(argv, attemptDir) || isHelperProcessOf(argv, dir)) return true;
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return cwd === dir || cwd.startsWith(`${dir}/`) || cwd.startsWith(`${attemptDir}/`);
  } catch {
    return false;
  }
}

/** The recorded processes that are still alive and still ours. */
export function liveStrays(agentDirs: string[]): RecordedPid[] {
  return recordedPids(agentDirs).filter((r) => isAlive(r.pid) && belongsTo(r.pid, r.attemptDir));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, sig); // the group first: a task's own children go with it
    } catch {
      // not a group leader, or already gone
    }
  }
}

/** Ends every live stray: SIGTERM, up to `graceMs`, then SIGKILL. Resolves with what it found. */
export async function killStrays(agentDirs: string[], graceMs = 2000): Promise<RecordedPid[]> {
  const found = liveStrays(agentDirs);
  if (found.length === 0) return found;
  for (const r of found) signal(r.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && found.some((r) => isAlive(r.pid))) await new Promise((r) => setTimeout(r, 100));
  for (const r of found) if (isAlive(r.pid)) signal(r.pid, "SIGKILL");
  return found;
}
