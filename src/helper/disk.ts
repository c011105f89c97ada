// Disk use of a task's work directory, watched: the spec's resources.diskMiB is a limit, and a task
// over it is stopped with a reason that says so (the server then restarts or moves it like any
// failed attempt). Polled with a bounded directory walk rather than quotas, which need filesystem
// support these hosts may not have (ext4 project quotas, XFS).

import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/** Bytes used by the files under `dir` (regular files by allocated blocks; links not followed). */
export async function diskUsage(dir: string): Promise<number> {
  let total = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = await readdir(d);
    } catch {
      continue; // removed meanwhile, or unreadable: not ours to count
    }
    for (const name of names) {
      const p = join(d, name);
      try {
        const st = await lstat(p);
        if (st.isDirectory()) stack.push(p);
        // Blocks of 512 bytes: a sparse file counts what it really holds.
        total += st.blocks * 512;
      } catch {
        // gone meanwhile
      }
    }
  }
  return total;
}

/** Watches `dir` every `everyMs`; calls `onOver` once when it holds more than `limitMiB`. */
export function watchDisk(dir: string, limitMiB: number, everyMs: number, onOver: (reason: string) => void): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const limit = limitMiB * 1024 * 1024;
  const tick = async (): Promise<void> => {
    const used = await diskUsage(dir);
    if (stopped) return;
    if (used > limit) {
      stopped = true;
      onOver(`disk limit exceeded: the work directory holds ${Math.ceil(used / 1048576)} MiB, the limit is ${limitMiB} MiB`);
      return;
    }
    timer = setTimeout(() => void tick(), everyMs);
  };
  timer = setTimeout(() => void tick(), Math.min(everyMs, 500));
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
