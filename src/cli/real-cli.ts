// For the CLI's tests: a real server (SQLite file in a temp dir, in this process) and `tiffin` run as a
// process through bin/tiffin.js against it, with a fresh HOME, so each test parses a real command line.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { startServer } from "../server/main.ts";
import { runTiffin } from "../api/run-tiffin.ts";
import type { CliRun } from "../api/run-tiffin.ts";

export { tiffinBin } from "../api/run-tiffin.ts";
export type { CliRun } from "../api/run-tiffin.ts";

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
  const run = (...argv: string[]): Promise<CliRun> => runTiffin(argv, { env: fullEnv, cwd: root });
  return { root, server, run };
}
