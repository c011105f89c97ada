// `tiffin helper DIR` (hidden): the parent process of one attempt, started by the agent;
// `tiffin helper --pool SOCKET --max K DIR`: a shared one that takes more attempts (src/helper/pool.ts).

import type { Command } from "commander";
import type { CliContext } from "../command.ts";
import { usageError } from "../errors.ts";
import { LogLevelEnv } from "../../model/logging.ts";
import { logLevelOption, parseLogLevel } from "../log-level.ts";

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("helper", { hidden: true })
    .argument("<dir>", "attempt directory")
    .option("--pool <socket>", "run as a shared helper process taking more attempts on this control socket")
    .option("--max <k>", "with --pool: attempts at once")
    .addOption(logLevelOption())
    .description("run one attempt, or several with --pool (started by the agent)")
    .action(async (dir: string, flags: { pool?: string; max?: string; logLevel?: string }) => {
      // Read by the helper's logger (helper/log.ts) as its module loads, below.
      process.env[LogLevelEnv] = parseLogLevel(flags.logLevel);
      ctx.daemon();
      const { parseHelperArgv, runHelper, runPool } = await import("../../helper/main.ts");
      if (flags.pool === undefined) return ctx.setExitCode(await runHelper(dir));
      const parsed = parseHelperArgv(["--pool", flags.pool, "--max", flags.max ?? "", dir]);
      if ("problem" in parsed || parsed.pool === null) throw usageError(`--pool wants --max K, a positive integer, got ${JSON.stringify(flags.max ?? null)}`, "the agent starts helpers itself: tiffin helper --pool SOCKET --max 8 ATTEMPT_DIR");
      ctx.setExitCode(await runPool({ ...parsed.pool, first: parsed.dir }));
    });
}
