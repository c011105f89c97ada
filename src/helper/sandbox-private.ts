// A sandbox's private /var, /run and /home: writable directories of the task's own, bound over the
// read-only root. Stock daemons expect their package's directories (nginx: /var/lib/nginx and
// /var/log/nginx; redis: /var/lib/redis, /run/redis), so /var and /run start as the host's layout of
// directories and symlinks (/var two levels deep, /run one), empty and owned by the task; the host's
// files (package databases, logs, other services' state) are never copied. /run and, unless the spec
// asks to persist, /var and /home are new for each attempt; persisted ones live in a directory the
// agent keeps per task (`SandboxConfig.stateDir`) and get only what they lack.
import fs from "node:fs";
import path from "node:path";

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
 * entries (a persisted /var) are left as they are.
 */
export function materialize(dir: string, skeleton: SkeletonEntry[], owner: { uid: number; gid: number }): void {
  mkdirOwned(dir, 0o755, owner);
  for (const e of skeleton) {
    const p = path.join(dir, e.rel);
    if (fs.existsSync(p) || isLink(p)) continue;
    if (e.kind === "dir") {
      mkdirOwned(p, (e.mode & 0o1777) | 0o700, owner);
    } else {
      fs.symlinkSync(e.target, p);
      fs.lchownSync(p, owner.uid, owner.gid);
    }
  }
}

function mkdirOwned(p: string, mode: number, owner: { uid: number; gid: number }): void {
  if (!fs.existsSync(p)) {
    fs.mkdirSync(p, { recursive: true });
    fs.chmodSync(p, mode);
    fs.chownSync(p, owner.uid, owner.gid);
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Where each private directory of an attempt lives on the host. */
export interface PrivateDirs {
  var: string;
  run: string;
  home: string;
}

/** The host paths of an attempt's private dirs: `bundleDir/private/*`, or /var and /home in `stateDir`. */
export function privateDirPaths(bundleDir: string, stateDir: string | null): PrivateDirs {
  const fresh = path.join(bundleDir, "private");
  const kept = stateDir ?? fresh;
  return { var: path.join(kept, "var"), run: path.join(fresh, "run"), home: path.join(kept, "home") };
}

/** Creates an attempt's private dirs with the host's /var and /run layout, owned by the task. */
export function preparePrivateDirs(dirs: PrivateDirs, owner: { uid: number; gid: number }, host: { var: SkeletonEntry[]; run: SkeletonEntry[] }): void {
  materialize(dirs.var, host.var, owner);
  materialize(dirs.run, host.run, owner);
  materialize(dirs.home, [], owner);
}
