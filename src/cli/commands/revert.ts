// `tiffin revert JOB V`: makes version V current again as a new version (like `nomad job revert`),
// with V's package pins, then follows the rollout as `apply` does (`--wait`, `--no-wait`).

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { ApplyResult } from "../../api/types.ts";
import type { CliContext } from "../command.ts";
import type { VersionNote } from "../../model/job.ts";
import { appliedBy, jsonOption } from "../command.ts";
import { renderJson } from "../table.ts";
import { followRollout, parseWait } from "./apply.ts";
import { parseVersion } from "./history.ts";

/** The outcome of a revert: the version asked for and what the server stored. */
export interface RevertResult extends ApplyResult {
  /** The version whose spec is current again. */
  from: number;
}

/** Asks the server to store version `from`'s spec as a new version. */
export async function revertHandler(client: ApiClient, job: string, from: number, note: Partial<VersionNote> = {}): Promise<RevertResult> {
  return { ...(await client.revert(job, from, note)), from };
}

/** "job web: version 2 reverted as version 4", or that the job already runs that spec. */
export function renderRevert(r: RevertResult): string {
  if (!r.changed) return `job ${r.name}: already at version ${r.version}${r.version === r.from ? "" : ` (the spec of version ${r.from})`}, nothing to revert\n`;
  return `job ${r.name}: version ${r.from} reverted as version ${r.version}\n`;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(
    program
      .command("revert")
      .argument("<job>", "job name")
      .argument("<version>", "the version to make current again (see `tiffin history JOB`)")
      .option("--wait <duration>", "how long to wait for the reverted version to run (default 60s)")
      .option("--no-wait", "return right after the revert")
      .option("-m, --message <text>", "why: kept with the new version, shown by `tiffin history`")
      .description("make an earlier version of a job current again, as a new version"),
  ).action(async (job: string, version: string, opts: { json?: boolean; wait?: string | boolean; message?: string }) => {
    const waitMs = parseWait(opts.wait);
    const client = ctx.client();
    const r = await revertHandler(client, job, parseVersion(version), { by: appliedBy(ctx.io.env), message: opts.message ?? null });
    ctx.io.out(opts.json ? renderJson(r) : renderRevert(r));
    if (waitMs !== null && r.changed) await followRollout(client, [r], waitMs, ctx.io, opts.json === true);
  });
}
