// `tiffin scale JOB N`: the current version's spec, package pins included, with N replicas, stored as
// a new version by the server (so tags moved since the last apply do not ride along), then followed
// as `apply` does (`--wait`, `--no-wait`). N = 0 keeps the job with no tasks; `tiffin stop` removes it.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { ApplyResult } from "../../api/types.ts";
import type { VersionNote } from "../../model/job.ts";
import type { CliContext } from "../command.ts";
import { appliedBy, jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { renderJson } from "../table.ts";
import { followRollout, parseWait } from "./apply.ts";

/** The replica count a user typed: a whole number from 0 to 10000, else a usage error. */
export function parseReplicas(text: string): number {
  const n = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 0 && n <= 10_000)) throw usageError(`replicas must be a whole number from 0 to 10000, got "${text}"`, "e.g. tiffin scale web 3");
  return n;
}

/** Asks the server to store the job's current spec with `replicas`. */
export function scaleHandler(client: ApiClient, job: string, replicas: number, note: Partial<VersionNote> = {}): Promise<ApplyResult> {
  return client.scale(job, replicas, note);
}

/** "job web: scaled to 3 as version 5", or that it already has that many. */
export function renderScale(r: ApplyResult, replicas: number): string {
  if (!r.changed) return `job ${r.name}: already at ${replicas} replica${replicas === 1 ? "" : "s"} (version ${r.version})\n`;
  return `job ${r.name}: scaled to ${replicas} replica${replicas === 1 ? "" : "s"} as version ${r.version}\n`;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(
    program
      .command("scale")
      .argument("<job>", "job name")
      .argument("<replicas>", "how many tasks (0 to 10000)")
      .option("--wait <duration>", "how long to wait for the new version to run (default 60s)")
      .option("--no-wait", "return right after the change is stored")
      .option("-m, --message <text>", "why: kept with the new version, shown by `tiffin history`")
      .description("change a job's replica count (a new version of its current spec)"),
  ).action(async (job: string, replicas: string, opts: { json?: boolean; wait?: string | boolean; message?: string }) => {
    const n = parseReplicas(replicas);
    const waitMs = parseWait(opts.wait);
    const client = ctx.client();
    const r = await scaleHandler(client, job, n, { by: appliedBy(ctx.io.env), message: opts.message ?? null });
    ctx.io.out(opts.json ? renderJson(r) : renderScale(r, n));
    if (waitMs !== null && r.changed) await followRollout(client, [r], waitMs, ctx.io, opts.json === true);
  });
}
