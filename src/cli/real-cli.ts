// For the CLI's tests: a real server (SQLite file in a temp dir, in this process) and `tiffin` run as a
// process through bin/tiffin.js against it, with a fresh HOME, so each test parses a real command line.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { startServer } from "../server/main.ts";

/** bin/tiffin.js of this checkout. */
export const tiffinBin = path.join(import.meta.dirname, "..", "..", "bin", "tiffin.js");

/** What one `tiffin` run printed, and its exit code. */
export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** Starts a server in a temp dir (removed after the test) and returns a runner of `tiffin ARGV...` with
 * TIFFIN_ADDR/TIFFIN_TOKEN set for it, cwd and HOME the temp dir, plus `env` on top. */
export async function cliWithServer(t: TestContext, name: string, env: Record<string, string> = {}): Promise<{ root: string; server: Awaited<ReturnType<typeof startServer>>; run: (...argv: string[]) => Promise<CliRun> }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `tiffin-${name}-`));
  const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
  t.after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  const fullEnv = { PATH: process.env["PATH"] ?? "", HOME: root, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken, ...env };
  const run = async (...argv: string[]): Promise<CliRun> => {
    try {
      const r = await promisify(execFile)(process.execPath, [tiffinBin, ...argv], { cwd: root, encoding: "utf8", env: fullEnv });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout, err: e.stderr };
    }
  };
  return { root, server, run };
}
