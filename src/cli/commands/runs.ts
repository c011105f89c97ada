// `tiffin runs JOB`: a batch job's kept runs; `tiffin runs show JOB/ID`: one run, each item's
// attempts, exit codes and durations; `tiffin runs cancel JOB/ID`. All with --json.

import type { Command } from "commander";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { renderJson } from "../table.ts";
import { renderRun, renderRuns } from "./runs-render.ts";

/** `crunch/k3f...` -> job and run id. */
export function parseRunId(text: string | undefined): { job: string; id: string } {
  const m = /^([^/]+)\/([^/]+)$/.exec(text ?? "");
  if (!m?.[1] || !m[2]) throw usageError(`"${text ?? ""}" is not a run`, "write JOB/ID as `tiffin run` and `tiffin runs JOB` print it, e.g. `tiffin runs show crunch/0ma1b2c3d4e5f6g7`");
  return { job: m[1], id: m[2] };
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(
    program
      .command("runs")
      .argument("<job|show|cancel>", "a batch job's name: its runs; `show JOB/ID`: one run; `cancel JOB/ID`")
      .argument("[run]", "JOB/ID, after show or cancel")
      .description("a batch job's runs, one run's items (attempts, exit codes, durations), or cancel a run"),
  ).action(async (what: string, run: string | undefined, opts: { json?: boolean }) => {
    const client = ctx.client();
    if (what === "show" || what === "cancel") {
      const { job, id } = parseRunId(run);
      const r = what === "show" ? await client.run(job, id) : await client.cancelRun(job, id);
      ctx.io.out(opts.json ? renderJson(r) : renderRun(r, Date.now()));
      return;
    }
    if (run !== undefined) throw usageError(`unexpected "${run}" after the job name`, "`tiffin runs JOB`, `tiffin runs show JOB/ID`");
    const rs = await client.runs(what);
    ctx.io.out(opts.json ? renderJson(rs) : renderRuns(what, rs, Date.now()));
  });
}
