// A plain task's (isolation "none") own cgroup, so that stopping it reaches every process it started,
// also those that left its process group (setsid: daemons) or ignore the stop signal and outlive its
// main process. A cgroup v2 directory without controllers (membership only, no limits) under the
// helper's own cgroup (`<v2 mount><own path>/tiffin-plain/<name>`, which needs write access there:
// root, or a delegated subtree); a process cannot leave it without that access. The task's first process
// joins it before it execs anything (`joinArgv`), so every later fork is inside; `cgroup.kill`
// (Linux 5.14) SIGKILLs all of them at once, else each pid in cgroup.procs is killed.
//
// A helper killed -9 cannot kill the cgroup: a small watcher (`watcherArgv`, a shell started by the
// helper with a pipe as its stdin) sees the pipe close when the helper dies, however it dies, waits the
// stop grace (the init stops the process group meanwhile, supervise.ts) and kills the cgroup.
// Hosts without a cgroup2 mount, or where the helper may not write there, run plain tasks as before
// (process group only) and the helper says so on its stderr (helper.log).
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { CgroupMount } from "./sandbox-cgroup.ts";

/** The cgroup name of the attempt in `attemptDir` (unique per directory on the host). */
export function plainCgroupName(attemptDir: string): string {
  return `tiffin-${createHash("sha256").update(path.resolve(attemptDir)).digest("hex").slice(0, 16)}`;
}

/** The directory of a plain task's cgroup named `name`, from the host's mounts and the helper's
 * /proc/self/cgroup text; null without a cgroup2 mount or a v2 line (pure). */
export function plainCgroupDir(mounts: readonly CgroupMount[], selfCgroup: string, name: string): string | null {
  const v2 = mounts.find((m) => m.version === 2);
  const own = /^0::(\/.*)$/m.exec(selfCgroup)?.[1];
  if (v2 === undefined || own === undefined) return null;
  return path.join(v2.dir, own, "tiffin-plain", name);
}

/** Makes the cgroup directory; returns null when done, else why not. */
export function createPlainCgroup(dir: string): string | null {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(path.join(dir, "cgroup.procs"), fs.constants.W_OK);
    return null;
  } catch (e) {
    return `cannot make cgroup ${dir}: ${String((e as Error).message)}`;
  }
}

/** `argv` run by a shell that first moves itself into cgroup `dir`, then execs it (same pid, same group). */
export function joinArgv(dir: string, argv: readonly string[]): string[] {
  const script = `echo 0 > "$0/cgroup.procs" || { echo "tiffin: cannot join cgroup $0" >&2; exit 125; }; exec "$@"`;
  return ["/bin/sh", "-c", script, dir, ...argv];
}

/** SIGKILLs every process in cgroup `dir` (quiet when it is gone). */
export function killCgroup(dir: string): void {
  try {
    fs.writeFileSync(path.join(dir, "cgroup.kill"), "1");
    return;
  } catch {
    // no cgroup.kill before Linux 5.14 (or the cgroup is gone): one by one below
  }
  for (let round = 0; round < 3; round++) {
    let pids: number[];
    try {
      pids = fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return;
    }
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
  }
}

/** True when no process is left in cgroup `dir` (or it is gone). */
export function cgroupEmpty(dir: string): boolean {
  try {
    return /^populated 0$/m.test(fs.readFileSync(path.join(dir, "cgroup.events"), "utf8"));
  } catch {
    return true;
  }
}

/** Removes cgroup `dir`; false while processes are still in it. */
export function removePlainCgroup(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** The watcher's argv: a shell that, when its stdin reaches EOF without a line (the helper died), waits
 * `graceMs` and kills cgroup `dir`, then removes it; a line on stdin (the helper ended the task) lets it
 * exit at once. */
export function watcherArgv(dir: string, graceMs: number): string[] {
  const script = [
    'read -r done && exit 0',
    'sleep "$1"',
    'echo 1 > "$0/cgroup.kill" 2>/dev/null || for p in $(cat "$0/cgroup.procs"); do kill -9 "$p"; done',
    'i=0; while [ "$i" -lt 50 ] && ! rmdir "$0" 2>/dev/null; do sleep 0.1; i=$((i+1)); done',
  ].join("\n");
  return ["/bin/sh", "-c", script, dir, String(Math.max(1, Math.round(graceMs)) / 1000)];
}
