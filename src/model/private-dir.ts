// What Tiffin keeps on disk is private to the user it runs as: tokens, state.db (which holds the
// admin token), and per attempt the job's env (assignment.json, attempt.json, sandbox/config.json)
// and the task's logs. Data dirs are 0700 and files 0600, whatever the umask and whatever was
// there before: a pre-made /var/lib/tiffin is usually 0755.

import { ErrorCodes, TiffinError } from "./errors.ts";

/** The modes of Tiffin's own directories and files. */
export const PrivateModes = { dir: 0o700, file: 0o600 } as const;

/** A directory as found on disk (the fields of fs.Stats that matter here). */
export interface DirFacts {
  isDirectory: boolean;
  /** st_mode; only the permission bits are looked at. */
  mode: number;
  uid: number;
}

/** What to do about a data dir: keep it, narrow its mode (was: the old permission bits), or refuse. */
export type PrivateDirVerdict = { kind: "ok" } | { kind: "narrow"; was: number } | { kind: "refuse"; why: string; hint: string };

/** The verdict on data dir `dir` found as `st`, for a process running as `uid`. Pure. */
export function privateDirVerdict(dir: string, st: DirFacts, uid: number): PrivateDirVerdict {
  if (!st.isDirectory) return { kind: "refuse", why: `${dir} exists and is not a directory`, hint: "pass a directory to --data" };
  // Another user's directory: they could widen it again, or swap what is in it; root chmod-ing it
  // would hide that it was never ours.
  if (st.uid !== uid) {
    return {
      kind: "refuse",
      why: `${dir} is owned by uid ${st.uid}, not by the uid this process runs as (${uid}): its owner could read or change the tokens and state kept there`,
      hint: `chown ${uid} ${dir} (and chmod 700 it), or pass another --data directory`,
    };
  }
  const perms = st.mode & 0o777;
  return (perms & 0o077) === 0 ? { kind: "ok" } : { kind: "narrow", was: perms };
}

/** The node:fs calls ensurePrivateDir makes (node:fs itself fits): passed in, so the model does no I/O
 * of its own. */
export interface PrivateDirFs {
  mkdirSync(path: string, opts: { recursive: true; mode: number }): unknown;
  statSync(path: string): { mode: number; uid: number; isDirectory(): boolean };
  chmodSync(path: string, mode: number): void;
}

/**
 * Makes `dir` a private data dir: created 0700 (with missing parents) if absent, narrowed to 0700 if
 * it let group or others in (returns the old bits so the caller can log it), refused with a
 * TIFFIN_USAGE error saying why when it is not a directory or another user's.
 */
export function ensurePrivateDir(fs: PrivateDirFs, dir: string, uid: number): { narrowedFrom: number | null } {
  fs.mkdirSync(dir, { recursive: true, mode: PrivateModes.dir });
  const st = fs.statSync(dir);
  const v = privateDirVerdict(dir, { isDirectory: st.isDirectory(), mode: st.mode, uid: st.uid }, uid);
  if (v.kind === "refuse") throw new TiffinError(ErrorCodes.Usage, `data directory ${v.why}`, { hint: v.hint });
  if (v.kind === "ok") return { narrowedFrom: null };
  fs.chmodSync(dir, PrivateModes.dir);
  return { narrowedFrom: v.was };
}
