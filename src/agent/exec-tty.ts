// A terminal for `tiffin exec -t`, made on the agent's side: Node cannot open a pseudo-terminal (no
// ioctl) nor receive the master fd that `crun exec --console-socket` sends (SCM_RIGHTS), so the command
// runs under util-linux `script` (Debian's bsdutils, an essential package: on every Debian host), which
// owns a pty and copies it to its own stdin/stdout pipes. In a sandbox the command is
// `crun exec --tty`, which makes the terminal inside the container's own devpts (so `tty` names it and
// nothing of the host's /dev/pts is handed in) and relays it to script's pty. The size is set with
// `stty` before the command starts; later sizes go to every terminal in the tree (crun 1.8 does not pass
// a SIGWINCH on to the inner terminal), through /proc/PID/fd/0.

import { execFile } from "node:child_process";
import fs from "node:fs";
import { findBinary } from "../helper/sandbox-runtime.ts";
import { processTree } from "../helper/usage-proc.ts";

/** Quotes words for `sh -c` (single quotes; a quote inside becomes '\''). */
export function shellQuote(words: readonly string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)).join(" ");
}

/**
 * What the shell under `script` prints once the terminal is set up and just before it execs the command
 * (an OSC sequence, so a terminal would ignore it; the agent removes it). Input is held back until then:
 * typed before, a ^D would end the wrong reader.
 */
export const ttyReadyMarker = "\x1b]697;tiffin-ready\x07";

/**
 * The argv that runs `argv` on a new pty of `cols` x `rows` through `script` at `scriptPath`. `relay`:
 * the command makes its own terminal (`crun exec --tty`) and only relays through this one, which is
 * then made raw and silent, so keys pass untouched and the inner terminal alone echoes and edits.
 */
export function ttyArgv(scriptPath: string, argv: readonly string[], cols: number | null, rows: number | null, relay: boolean): string[] {
  const setup = `stty ${relay ? "raw -echo " : ""}cols ${cols ?? 80} rows ${rows ?? 24} 2>/dev/null; printf '\\033]697;tiffin-ready\\007'; `;
  // -q: no "Script started" lines; -f: flush at once; -e: the command's exit code (128+n for signal n);
  // the typescript goes to /dev/null, the pty's output to our pipe.
  return [scriptPath, "-qfec", `${setup}exec ${shellQuote(argv)}`, "/dev/null"];
}

let scriptPath: string | null | undefined;

/** Where `script` is on this host, or null (then exec with a terminal is refused). */
export function findScript(): string | null {
  if (scriptPath === undefined) scriptPath = findBinary("script");
  return scriptPath;
}

/** Sets the size of every terminal the processes under `root` read from (each gets SIGWINCH). */
export async function resizeTree(root: number, cols: number, rows: number): Promise<void> {
  const ttys = processTree(root).filter((pid) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/0`).startsWith("/dev/pts/");
    } catch {
      return false;
    }
  });
  await Promise.all(
    ttys.map(
      (pid) =>
        new Promise<void>((resolve) => {
          // /proc/PID/fd/0 reaches a terminal of the container's own devpts too; stty opens it O_NONBLOCK.
          execFile("stty", ["-F", `/proc/${pid}/fd/0`, "cols", String(cols), "rows", String(rows)], { timeout: 2000 }, () => resolve());
        }),
    ),
  );
}
