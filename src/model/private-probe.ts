// Test probes of private files (used by the server's and the agent's private-files tests): which paths
// a real process running as user nobody can read, and which paths' modes let group or others in.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** uid and gid of user nobody on Debian. */
export const Nobody = 65534;

/** The paths among `files` that user nobody can read (or list, for directories), tried by a real process with its uid. */
export function readableByNobody(files: string[]): string[] {
  const script = 'for f in "$@"; do if [ -d "$f" ]; then ls "$f" >/dev/null 2>&1 && echo "$f"; else cat "$f" >/dev/null 2>&1 && echo "$f"; fi; done; exit 0';
  const r = spawnSync("/bin/sh", ["-c", script, "sh", ...files], { uid: Nobody, gid: Nobody, encoding: "utf8", cwd: "/" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter((l) => l !== "");
}

/** What openToOthers may pass over: `allowed` paths are not reported; `descend` false stops the walk below a directory. */
export interface OpenToOthersOptions {
  allowed?: (p: string, st: fs.Stats) => boolean;
  descend?: (p: string) => boolean;
}

/** Every path under `dir` (itself included; symlinks and sockets aside) whose mode lets group or others in, as `path mode`. */
export function openToOthers(dir: string, options: OpenToOthersOptions = {}): string[] {
  const out: string[] = [];
  const walk = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink() || st.isSocket()) return;
    if ((st.mode & 0o077) !== 0 && !(options.allowed?.(p, st) ?? false)) out.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (!st.isDirectory()) return;
    for (const e of fs.readdirSync(p)) {
      const child = path.join(p, e);
      if (options.descend?.(child) ?? true) walk(child);
    }
  };
  walk(dir);
  return out;
}
