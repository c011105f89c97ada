// `tiffin stop JOB`: removes the job; its tasks stop, its versions are kept.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { renderJson } from "../table.ts";

/** Removes the job. */
export function stopHandler(client: ApiClient, job: string): Promise<{ name: string; removed: true }> {
  return client.removeJob(job);
}

/** One line saying what happened. */
export function renderStop(r: { name: string }): string {
  return `job ${r.name} removed: its tasks are being stopped (versions kept; \`tiffin history ${r.name}\`)\n`;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(program.command("stop").argument("<job>", "job name").description("remove a job and stop its tasks")).action(
    async (job: string, opts: { json?: boolean }) => {
      const r = await stopHandler(ctx.client(), job);
      ctx.io.out(opts.json ? renderJson(r) : renderStop(r));
    },
  );
}
