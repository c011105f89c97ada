// The helper process: `node src/helper/main.ts ATTEMPT_DIR` (or `tiffin helper ATTEMPT_DIR`) runs one
// attempt (host.ts, supervisor.ts) and exits once the agent has acknowledged the final status;
// `main.ts --pool SOCKET --max K ATTEMPT_DIR` is a shared process that takes up to K attempts (pool.ts).
// The agent starts it detached. It must never leave a task running when it exits.
import fs from "node:fs";
import { AttemptHost } from "./host.ts";
import type { HelperOptions } from "./host.ts";
import { runPool } from "./pool.ts";
import { helperLog } from "./log.ts";

export type { HelperOptions } from "./host.ts";
export { isHelperProcessOf } from "./paths.ts";
export { runPool } from "./pool.ts";

/**
 * Runs the helper for attempt directory `dir` in this process until it is done; resolves with the exit
 * code: 0 when the attempt ran (whatever its outcome), 1 when the helper itself failed, 2 for a bad attempt.json.
 */
export async function runHelper(dir: string, options: HelperOptions = {}): Promise<number> {
  helperLog.debug({ dir }, "helper started");
  const host = new AttemptHost(options);
  const undo = host.installProcessHandlers();
  try {
    return await host.run(dir);
  } finally {
    undo();
  }
}

/** What the process's argv asks for, or a usage problem. */
export function parseHelperArgv(args: string[]): { dir: string; pool: { socket: string; max: number } | null } | { problem: string } {
  const usage = "usage: main.ts ATTEMPT_DIR | main.ts --pool SOCKET --max K ATTEMPT_DIR";
  if (args.length === 1 && args[0] && !args[0].startsWith("--")) return { dir: args[0], pool: null };
  const [flag, socket, maxFlag, max, dir] = args;
  const k = Number(max);
  if (args.length === 5 && flag === "--pool" && socket && maxFlag === "--max" && Number.isInteger(k) && k >= 1 && dir) return { dir, pool: { socket, max: k } };
  return { problem: usage };
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (!arg) return false;
  try {
    return fs.realpathSync(arg) === fs.realpathSync(import.meta.filename);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const parsed = parseHelperArgv(process.argv.slice(2));
  if ("problem" in parsed) {
    process.stderr.write(`${parsed.problem}\n`);
    process.exit(2);
  }
  const run = parsed.pool ? runPool({ ...parsed.pool, first: parsed.dir }) : runHelper(parsed.dir);
  run.then(
    (code) => process.exit(code),
    (e: unknown) => {
      helperLog.error(`${String(e)}`);
      process.exit(1);
    },
  );
}
