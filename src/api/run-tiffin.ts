// For tests of every layer that may call the API (the agent's too): `tiffin ARGV...` run as its own
// process through bin/tiffin.js, as a user types it.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

/** bin/tiffin.js of this checkout. */
export const tiffinBin = path.join(import.meta.dirname, "..", "..", "bin", "tiffin.js");

/** What one `tiffin` run printed, and its exit code. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Runs `tiffin ...argv` with exactly `env` (give it PATH and HOME), in `cwd`; never rejects on a failing exit. */
export async function runTiffin(argv: readonly string[], o: { env: Record<string, string>; cwd?: string }): Promise<CliRun> {
  try {
    const r = await promisify(execFile)(process.execPath, [tiffinBin, ...argv], { encoding: "utf8", env: o.env, ...(o.cwd !== undefined ? { cwd: o.cwd } : {}) });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}
