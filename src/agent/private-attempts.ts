// Attempt directories an older agent left behind (0755, files 0644) are narrowed at start like new
// ones are made: directories 0700, files 0600. A task's own tree (work/, the sandbox's rootfs) keeps
// its modes: those are the task's, and reachable only through the 0700 attempt directory.

import fs from "node:fs";
import path from "node:path";
import { PrivateModes } from "../model/index.ts";

const TaskOwned = new Set(["work", "rootfs"]);

/** Narrows every attempt directory under `root` and what the agent and helper wrote in it (two
 * levels: logs/, sandbox/); returns how many modes it changed. Errors (a directory removed meanwhile)
 * are skipped: this is a one-off tidy-up, not a check. */
export function narrowAttempts(root: string): number {
  let changed = 0;
  const narrow = (p: string, st: fs.Stats, depth: number): void => {
    if ((st.mode & 0o077) === 0) return;
    // The attempt dir of a task run as another user (isolation "none") is traverse-only on purpose.
    if (depth === 2 && st.isDirectory() && (st.mode & 0o777) === 0o711) return;
    // The owner's bits stay (0755 -> 0700, 0644 -> 0600): group and others lose theirs.
    fs.chmodSync(p, st.mode & PrivateModes.dir);
    changed++;
  };
  const walk = (p: string, depth: number): void => {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
      if (!st.isDirectory() && !st.isFile()) return;
      narrow(p, st, depth);
      if (!st.isDirectory() || depth === 0) return;
      for (const e of fs.readdirSync(p)) if (!TaskOwned.has(e)) walk(path.join(p, e), depth - 1);
    } catch {
      // gone meanwhile, or not ours to change: nothing to tidy
    }
  };
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return 0;
  }
  for (const e of entries) walk(path.join(root, e), 2);
  return changed;
}
