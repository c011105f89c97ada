// `tiffin helper DIR` (hidden): the parent process of one attempt, started by the agent.

import type { Command } from "commander";
import type { CliContext } from "../command.ts";

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("helper", { hidden: true })
    .argument("<dir>", "attempt directory")
    .description("run one attempt (started by the agent)")
    .action(async (dir: string) => {
      ctx.daemon();
      const { runHelper } = await import("../../helper/main.ts");
      ctx.setExitCode(await runHelper(dir));
    });
}
