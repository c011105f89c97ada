// `tiffin jobs`: every job with its version and how many tasks run.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { JobSummary } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { renderJson, renderTable } from "../table.ts";

/** Lists the jobs. */
export function jobsHandler(client: ApiClient): Promise<JobSummary[]> {
  return client.jobs();
}

/** A table of jobs. */
export function renderJobs(jobs: JobSummary[]): string {
  if (jobs.length === 0) return "no jobs yet: `tiffin apply FILE` creates them\n";
  return renderTable(
    ["name", "version", "replicas", "running", "healthy", "status"],
    jobs.map((j) => [j.name, j.version, j.replicas, j.running, j.healthy, j.removed ? "removed" : "active"]),
  );
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(program.command("jobs").description("list jobs")).action(async (opts: { json?: boolean }) => {
    const jobs = await jobsHandler(ctx.client());
    ctx.io.out(opts.json ? renderJson(jobs) : renderJobs(jobs));
  });
}
