// The helper process: `node src/helper/main.ts ATTEMPT_DIR` (or `tiffin helper ATTEMPT_DIR`). The agent
// starts it detached; it runs one attempt (see supervisor.ts) and exits once the agent has acknowledged
// the final status. It must never leave its task running when it exits.
import fs from "node:fs";
import path from "node:path";
import { PrivateModes, systemClock } from "../model/index.ts";
import type { Clock } from "../model/index.ts";
import { parseHelperConfig } from "./config.ts";
import { helperPaths } from "./paths.ts";
import { writeStatusFile } from "./status.ts";
import { Supervisor } from "./supervisor.ts";

/** Knobs for tests; the CLI uses the defaults. */
export interface HelperOptions {
  /** @default systemClock */
  clock?: Clock;
  /** How long a helper whose task ended waits for an ack before it exits anyway. @default 60000 */
  lingerMs?: number;
}

/**
 * Runs the helper for attempt directory `dir` in this process until it is done; resolves with the exit
 * code: 0 when the attempt ran (whatever its outcome), 1 when the helper itself failed, 2 for a bad attempt.json.
 */
export async function runHelper(dir: string, options: HelperOptions = {}): Promise<number> {
  const clock = options.clock ?? systemClock;
  const paths = helperPaths(dir);
  fs.writeFileSync(paths.pid, `${process.pid}\n`, { mode: PrivateModes.file });
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(paths.config, "utf8"));
  } catch (e) {
    return badConfig(paths.status, path.basename(paths.dir), [`reading ${paths.config}: ${String(e)}`], clock);
  }
  const cfg = parseHelperConfig(parsed);
  if (!cfg.ok) {
    const id = typeof (parsed as { attemptId?: unknown } | null)?.attemptId === "string" ? (parsed as { attemptId: string }).attemptId : path.basename(paths.dir);
    return badConfig(paths.status, id, cfg.problems, clock);
  }

  const sup = new Supervisor(paths, cfg.config, clock, options.lingerMs ?? 60_000);
  const onSignal = (): void => sup.terminate();
  const onCrash = (err: unknown): void => {
    process.stderr.write(`tiffin helper: crashed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    sup.crash(err);
    process.exit(1);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  try {
    return await sup.run();
  } catch (e) {
    onCrash(e);
    return 1;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
  }
}

function badConfig(statusPath: string, attemptId: string, problems: string[], clock: Clock): number {
  process.stderr.write(`tiffin helper: cannot start: ${problems.join("; ")}\n`);
  writeStatusFile(statusPath, {
    attemptId,
    state: "failed",
    helperPid: process.pid,
    pid: null,
    exitCode: null,
    signal: null,
    reason: `start failed: ${problems.join("; ")}`,
    startedAt: null,
    endedAt: clock.now(),
  });
  return 2;
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
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write("usage: node src/helper/main.ts ATTEMPT_DIR\n");
    process.exit(2);
  }
  runHelper(dir).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`tiffin helper: ${String(e)}\n`);
      process.exit(1);
    },
  );
}
