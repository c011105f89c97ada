// A sandbox's private /var, /run and /home: writable directories of the task's own over the read-only
// root. Stock daemons expect their package's directories (nginx: /var/lib/nginx and /var/log/nginx;
// redis: /var/lib/redis), so /var and /run start as the host's layout of directories and symlinks
// (/var two levels deep, /run one), empty and owned by the task; the host's files (package databases,
// logs, other services' state) are never copied. /run and, unless the spec asks to persist, /var and
// /home are tmpfs, new for each attempt (their pages count against the task's memory limit), filled
// by the runtime from a template made once (`layoutTemplate`); persisted ones are binds of a directory
// the agent keeps per task (`SandboxConfig.stateDir`), where the layout only adds what is missing.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { shiftIntoRange, USERNS_HOST_BASE, USERNS_RANGE_SIZE } from "./protocol.ts";

/** One entry of a skeleton: a directory (with the host's mode) or a symlink, relative to its root. */
export type SkeletonEntry = { kind: "dir"; rel: string; mode: number } | { kind: "link"; rel: string; target: string };

/** The host's directories and symlinks under `root` down to `depth` levels, parents first. */
export function hostSkeleton(root: string, depth: number): SkeletonEntry[] {
  const out: SkeletonEntry[] = [];
  const walk = (rel: string, level: number): void => {
    let names: fs.Dirent[];
    try {
      names = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const d of names.sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      try {
        if (d.isSymbolicLink()) out.push({ kind: "link", rel: r, target: fs.readlinkSync(path.join(root, r)) });
        else if (d.isDirectory()) {
          out.push({ kind: "dir", rel: r, mode: fs.statSync(path.join(root, r)).mode & 0o1777 });
          if (level < depth) walk(r, level + 1);
        }
      } catch {
        // gone while we looked
      }
    }
  };
  walk("", 1);
  return out;
}

/**
 * Creates what `skeleton` lists under `dir` where it is missing, owned by `owner`: directories keep the
 * host's mode but are always the owner's to write (setgid bits of shared log dirs dropped). Existing
 * entries are left as they are.
 */
export function materialize(dir: string, skeleton: SkeletonEntry[], owner: { uid: number; gid: number }): void {
  mkdirOwned(dir, 0o755, owner);
  for (const e of skeleton) {
    const p = path.join(dir, e.rel);
    if (exists(p)) continue;
    if (e.kind === "dir") {
      mkdirOwned(p, (e.mode & 0o1777) | 0o700, owner);
    } else {
      fs.symlinkSync(e.target, p);
      fs.lchownSync(p, owner.uid, owner.gid);
    }
  }
}

function mkdirOwned(p: string, mode: number, owner: { uid: number; gid: number }): void {
  if (exists(p)) return;
  fs.mkdirSync(p, { recursive: true });
  fs.chmodSync(p, mode);
  fs.chownSync(p, owner.uid, owner.gid);
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The host layouts a private /var and /run start from. */
export interface HostLayout {
  var: SkeletonEntry[];
  run: SkeletonEntry[];
}

/**
 * A template of `layout` owned by `owner`, under `cacheDir` (made once per layout and owner, shared by
 * every attempt): `<dir>/var` and `<dir>/run`, from which the runtime copies into each sandbox's tmpfs
 * (`tmpcopyup`). Building it costs ~70 journalled mkdir/chmod/chown, ~100 ms on a busy 2-core VM: per
 * attempt that doubled a sandbox's start. Made in a temporary dir and renamed, so concurrent helpers
 * never see half of one.
 */
export function layoutTemplate(cacheDir: string, layout: HostLayout, owner: { uid: number; gid: number }): string {
  const key = createHash("sha256").update(JSON.stringify([layout, owner.uid, owner.gid])).digest("hex").slice(0, 16);
  const dir = path.join(cacheDir, key);
  if (exists(dir)) {
    // In use: the agent collects templates no start touched for a while (../agent/layout-gc.ts).
    try {
      const now = new Date();
      fs.utimesSync(dir, now, now);
    } catch {
      // collected just now: made again below
    }
    if (exists(dir)) return dir;
  }
  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o755 });
  const tmp = fs.mkdtempSync(path.join(cacheDir, `.${key}-`));
  try {
    fs.chmodSync(tmp, 0o755);
    materialize(path.join(tmp, "var"), layout.var, owner);
    materialize(path.join(tmp, "run"), layout.run, owner);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!exists(dir)) throw e;
  }
  return dir;
}

/** What the sandbox needs for its private dirs. */
export interface PrivateDirs {
  /** The layout template (layoutTemplate): its var/ and run/ are copied into the tmpfs /var and /run. */
  template: string;
  /** Host dir whose var/ and home/ are bound at /var and /home (spec `persist`); null: both are tmpfs. */
  stateDir: string | null;
}

/** The file in a state dir (beside var/ and home/, out of the task's sight) naming the range it is in. */
export const StateRangeFile = ".tiffin-range";

/**
 * Makes a persisted state dir's var/ (with the host's layout) and home/ where missing, owned by the task.
 * `hostBase`: the first host id of the task's user namespace range (null: no user namespace). A state
 * dir made in another range (the one range every task shared before ranges were per job) is moved into
 * this one first (moveToRange), so a task keeps its state across an agent upgrade.
 */
export function prepareStateDir(stateDir: string, layout: HostLayout, owner: { uid: number; gid: number }, hostBase: number | null = null): void {
  const home = path.join(stateDir, "home");
  if (hostBase !== null && exists(stateDir) && readRange(stateDir) !== hostBase) {
    for (const d of ["var", "home"]) if (exists(path.join(stateDir, d))) moveToRange(path.join(stateDir, d), hostBase);
  }
  if (!exists(home)) {
    fs.mkdirSync(stateDir, { recursive: true, mode: 0o755 });
    mkdirOwned(home, 0o755, owner);
  }
  // Packages installed on the host since the last attempt get their directories too.
  materialize(path.join(stateDir, "var"), layout.var, owner);
  if (hostBase !== null && readRange(stateDir) !== hostBase) fs.writeFileSync(path.join(stateDir, StateRangeFile), String(hostBase), { mode: 0o600 });
}

function readRange(stateDir: string): number | null {
  try {
    return Number(fs.readFileSync(path.join(stateDir, StateRangeFile), "utf8"));
  } catch {
    return null;
  }
}

/**
 * Gives every entry under `dir` whose owner or group is an id of a Tiffin range the same id in the
 * range starting at `hostBase` (shiftIntoRange: nobody stays nobody, uid 1000 inside stays 1000), in
 * place: one lchown per entry (symlinks themselves, never followed), setuid/setgid bits put back (a
 * chown clears them). Ids of host users (root...) are left alone. A file with other hard links is
 * moved only from the shared range of old: a link the task made to a file of another job's range (it
 * could, to one it may write) must not hand that file over. Idempotent: an interrupted move is finished
 * by the next. Returns how many entries changed. 38,000 to 88,000 entries a second on this 2-core VM (the test prints it).
 */
export function moveToRange(dir: string, hostBase: number): number {
  const legacy = (id: number): boolean => id >= USERNS_HOST_BASE && id < USERNS_HOST_BASE + USERNS_RANGE_SIZE;
  let changed = 0;
  // A list, not recursion: a tree the task made may be deeper than the stack.
  const todo = [dir];
  for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch (e) {
      // Deeper than a path can name (the task nested it so): left as it is rather than fail the start.
      if ((e as NodeJS.ErrnoException).code === "ENAMETOOLONG") continue;
      throw e;
    }
    const linked = !st.isDirectory() && st.nlink > 1;
    const uid = linked && !legacy(st.uid) ? st.uid : shiftIntoRange(st.uid, hostBase);
    const gid = linked && !legacy(st.gid) ? st.gid : shiftIntoRange(st.gid, hostBase);
    if (uid !== st.uid || gid !== st.gid) {
      fs.lchownSync(p, uid, gid);
      if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) fs.chmodSync(p, st.mode & 0o7777);
      changed++;
    }
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) todo.push(path.join(p, name));
  }
  return changed;
}
