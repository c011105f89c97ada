// `tiffin restart JOB[/INDEX]`: a parked task (one that failed on every host it was given) is placed
// afresh with a clean failure count; a live one is stopped and started again where it is. A whole
// job restarts as a rolling restart: through the job's rollout phases and disruption budget.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { RestartResult } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { renderJson } from "../table.ts";

/** `web` -> all of web's tasks; `web/2` -> task 2. */
export function parseRestartTarget(text: string): { job: string; index: number | null } {
  const m = /^([^/]+)(?:\/(\d+))?$/.exec(text);
  if (!m?.[1]) throw usageError(`"${text}" is neither a job nor a task`, "write JOB or JOB/INDEX, e.g. `tiffin restart web` or `tiffin restart web/0`");
  return { job: m[1], index: m[2] === undefined ? null : Number(m[2]) };
}

/** Asks the server to restart the target. */
export function restartHandler(client: ApiClient, target: string): Promise<RestartResult> {
  const { job, index } = parseRestartTarget(target);
  return client.restart(job, index);
}

/** One line per task, or a line saying there was nothing to restart. */
export function renderRestart(r: RestartResult): string {
  if (r.tasks.length === 0) return `job ${r.name}: nothing to restart (no task runs or is parked)\n`;
  const lines = r.tasks.map((t) => `${r.name}/${t.index}: ${t.action === "unparked" ? "was parked, placed again with a clean failure count" : "restarting"}\n`).join("");
  // The whole job restarts phase by phase within its disruption budget (a rolling restart).
  const rolling = r.tasks.filter((t) => t.action === "restarted").length > 1 ? `rolling restart of ${r.name}: phase by phase, within its budget; follow it with \`tiffin rollout status ${r.name}\`\n` : "";
  return lines + rolling;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(program.command("restart").argument("<target>", "JOB or JOB/INDEX").description("restart a job's tasks, or one; parked tasks are tried again")).action(
    async (target: string, opts: { json?: boolean }) => {
      const r = await restartHandler(ctx.client(), target);
      ctx.io.out(opts.json ? renderJson(r) : renderRestart(r));
    },
  );
}
