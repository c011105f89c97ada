// The layout of one attempt directory, shared by the helper and by the agent that reads it.
import path from "node:path";

/** The files of one attempt directory (see protocol.ts for what each holds). */
export interface HelperPaths {
  dir: string;
  config: string;
  status: string;
  socket: string;
  pid: string;
  work: string;
  logs: string;
}

/** Paths inside attempt directory `dir`. The socket path must stay under ~107 bytes (a unix limit). */
export function helperPaths(dir: string): HelperPaths {
  const d = path.resolve(dir);
  return {
    dir: d,
    config: path.join(d, "attempt.json"),
    status: path.join(d, "status.json"),
    socket: path.join(d, "helper.sock"),
    pid: path.join(d, "helper.pid"),
    work: path.join(d, "work"),
    logs: path.join(d, "logs"),
  };
}

/**
 * True when a process with command line `argv` is a helper that may run the attempt of `dir`: one
 * started for it (`... DIR`), or a shared helper process (`... --pool SOCKET --max K FIRST`) of the
 * same attempts folder, which takes later attempts over its socket. Guards against a reused pid.
 */
export function isHelperProcessOf(cmdline: string[], dir: string): boolean {
  const argv = cmdline.filter((a) => a !== ""); // /proc/PID/cmdline ends with a NUL
  const d = path.resolve(dir);
  if (argv.includes(dir) || argv.includes(d)) return true;
  const first = argv.at(-1);
  return argv.includes("--pool") && first !== undefined && path.dirname(path.resolve(first)) === path.dirname(d);
}
