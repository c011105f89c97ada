// `tiffin jobs`: every job with its version and how many tasks run.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { JobSummary } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import { AllNamespaces } from "../../model/index.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { renderTable } from "../table.ts";

/** Lists the jobs. */
export function jobsHandler(client: ApiClient): Promise<JobSummary[]> {
  return client.jobs();
}

/** A table of jobs; wide adds how many tasks have a host; `namespaces` (a listing of several, `-A`) a NAMESPACE column. */
export function renderJobs(jobs: JobSummary[], wide = false, namespaces = false): string {
  if (jobs.length === 0) return "no jobs yet: `tiffin apply FILE` creates them\n";
  return renderTable(
    [...(namespaces ? ["namespace"] : []), "name", "version", "replicas", ...(wide ? ["placed"] : []), "running", "healthy", "status"],
    jobs.map((j) => [...(namespaces ? [j.namespace ?? "default"] : []), j.name, j.version, j.replicas, ...(wide ? [j.placed] : []), j.running, j.healthy, j.removed ? "removed" : "active"]),
  );
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  outputOption(program.command("jobs").description("list jobs")).action(async (opts: OutputOpts) => {
    const format = outputFormat(opts);
    const client = ctx.client();
    const jobs = await jobsHandler(client);
    ctx.io.out(renderOutput(format, jobs, (wide) => renderJobs(jobs, wide, client.namespace === AllNamespaces)));
  });
}
