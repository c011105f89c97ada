// A sticky work directory for jobs that `endure` maintenance (issue 16): a stateful service stopped
// in place for a window (or restarted in place for any cause) starts again with the files it left,
// as Nomad's `ephemeral_disk { sticky = true }` keeps an allocation's directory for its replacement on
// the same node. Each attempt has its own directory (DIR/attempts/ID); the new attempt of the same task
// takes the work/ of the newest earlier attempt of that task on this host, moved (one rename, same
// filesystem), never copied, and only from an attempt that has ended: two live copies never share it.

import fs from "node:fs";
import path from "node:path";
import type { Assignment } from "../api/types.ts";
import { helperPaths } from "../helper/paths.ts";
import { scanAttempts } from "./helpers.ts";

/** An earlier attempt directory of this host, as the choice of a sticky work dir sees it. */
export interface WorkDirCandidate {
  id: string;
  job: string;
  index: number;
  createdAt: number;
  /** Its task may still run (not ended): its work dir is in use. */
  live: boolean;
  /** It has a work/ directory to hand on. */
  hasWork: boolean;
}

/** Whether a job's attempts keep their work dir across restarts on one host: jobs that endure maintenance. */
export function keepsWorkDir(a: Pick<Assignment, "spec">): boolean {
  return a.spec.maintenance === "endure";
}

/** The attempt whose work dir the new attempt `newId` of task `job`/`index` takes: the newest ended
 * earlier attempt of that task holding one, or null (none, or the newest one still runs). Pure. */
export function stickyWorkSource(dirs: readonly WorkDirCandidate[], task: { job: string; index: number; newId: string }): string | null {
  const mine = dirs.filter((d) => d.job === task.job && d.index === task.index && d.id !== task.newId).sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  // A live one is newer state than any ended one, and in use: take nothing rather than an older copy.
  const newest = mine.find((d) => d.live || d.hasWork);
  return newest && !newest.live ? newest.id : null;
}

/** Moves the work dir of the task's newest ended attempt into the new attempt's directory `dir`
 * (before the helper writes the spec's files there); returns the attempt it came from, or null. */
export async function adoptStickyWork(dataDir: string, a: Assignment, dir: string, isLive: (id: string) => boolean): Promise<string | null> {
  if (!keepsWorkDir(a)) return null;
  const scanned = await scanAttempts(dataDir);
  const dirs: WorkDirCandidate[] = scanned
    .filter((s) => s.config !== null)
    .map((s) => ({ id: s.id, job: s.config!.job, index: s.config!.index, createdAt: s.createdAt, live: isLive(s.id), hasWork: fs.existsSync(helperPaths(s.dir).work) }));
  const from = stickyWorkSource(dirs, { job: a.attempt.job, index: a.attempt.index, newId: a.attempt.id });
  if (from === null) return null;
  const src = helperPaths(path.join(path.dirname(dir), from)).work;
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.promises.rename(src, helperPaths(dir).work);
  return from;
}
