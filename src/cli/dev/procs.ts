// The child processes of `tiffin dev`: each is `node bin/tiffin.js ...` with its output appended to a
// log file, in its own process group so a terminal's Ctrl-C reaches only `tiffin dev`, which then
// stops them in order (agents first so they stop their tasks while the server still listens).

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** bin/tiffin.js of this checkout. */
export const tiffinBin = join(import.meta.dirname, "..", "..", "..", "bin", "tiffin.js");

/** A running child with where its output goes. */
export interface Child {
  name: string;
  /** The `tiffin` arguments it was started with (to start it again). */
  args: string[];
  log: string;
  proc: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process has exited. */
  exited: Promise<number | string>;
  /** True once it exited. */
  done: boolean;
}

/** Starts `tiffin <args>` with stdout and stderr appended to `log`. */
export function startChild(name: string, args: string[], log: string, env: NodeJS.ProcessEnv): Child {
  const fd = openSync(log, "a");
  const proc = spawn(process.execPath, [tiffinBin, ...args], { stdio: ["ignore", fd, fd], env, detached: true });
  closeSync(fd);
  const child: Child = {
    name,
    args,
    log,
    proc,
    done: false,
    exited: new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        child.done = true;
        resolve(code ?? signal ?? "unknown");
      });
      proc.once("error", (err) => {
        child.done = true;
        resolve(err.message);
      });
    }),
  };
  return child;
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILLs. Resolves once the child is gone. */
export async function stopChild(c: Child, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (c.done) return;
  c.proc.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      if (!c.done) c.proc.kill("SIGKILL");
      resolve();
    }, graceMs);
  });
  await Promise.race([c.exited, killed]);
  clearTimeout(timer);
  await c.exited;
}

/** The last `n` lines of a log file, for error messages. */
export function tailLog(path: string, n = 8): string[] {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-n);
  } catch {
    return [];
  }
}
