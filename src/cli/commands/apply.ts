// `tiffin apply FILE`: stores a new version of each job in the file, then follows the rollout phase by
// phase until every task of the new version runs (healthy, when checked) and its rollout succeeded, it
// fails (TIFFIN_ROLLOUT_FAILED: rolled back, with the failing checks) or pauses (TIFFIN_ROLLOUT_PAUSED),
// or `--wait` passes (exit 1, saying what is missing). `--no-wait` or `--detach` returns right after.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { ApplyResult } from "../../api/types.ts";
import type { JobSpec, VersionNote } from "../../model/job.ts";
import { loadSpecFile, parseDuration } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { appliedBy, jsonOption, waitForSignal } from "../command.ts";
import { usageError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { waitForJobs } from "../progress.ts";
import type { JobProgress } from "../progress.ts";
import { renderJson } from "../table.ts";
import { checkUses, inStartOrder } from "../uses-check.ts";
import { clientForSpecs } from "../spec-namespace.ts";

/** The default of `--wait`. */
export const defaultWaitMs = 60_000;

/** Applies each spec in order. */
export async function applySpecs(client: ApiClient, specs: JobSpec[], note: Partial<VersionNote> = {}): Promise<ApplyResult[]> {
  const out: ApplyResult[] = [];
  for (const spec of specs) out.push(await client.apply(spec, note));
  return out;
}

/** Loads the file (validation errors, service dependencies included, throw before anything is
 * sent) and applies its jobs, the services they use first. */
export async function applyHandler(client: ApiClient, file: string, io?: CliIo, note: Partial<VersionNote> = {}): Promise<ApplyResult[]> {
  const specs = await loadSpecFile(file, io ? { onOutput: (t) => io.err(t) } : {});
  const c = clientForSpecs(client, specs, file);
  return applySpecs(c, inStartOrder(specs, await checkUses(c, specs, file)), note);
}

/** One line per applied job. */
export function renderApplied(results: ApplyResult[]): string {
  return results.map((r) => (r.changed ? `job ${r.name}: version ${r.version} applied\n` : `job ${r.name}: unchanged at version ${r.version}\n`)).join("");
}

/** `--wait` as milliseconds: "60s", "2m", "1m30s", or a bare number of seconds. */
export function parseWait(text: string | boolean | undefined): number | null {
  if (text === false) return null;
  if (text === undefined || text === true) return defaultWaitMs;
  const ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === null) throw usageError(`--wait wants a duration, got "${text}"`, 'e.g. --wait 90s, --wait 2m, or --no-wait');
  return ms;
}

/**
 * Follows the applied versions until ready, printing progress: a line rewritten in place on a
 * terminal, else one line per change.
 */
export async function followRollout(client: ApiClient, results: ApplyResult[], timeoutMs: number, io: CliIo, quiet = false): Promise<JobProgress[]> {
  const abort = new AbortController();
  const sig = waitForSignal(["SIGINT"]);
  void sig.promise.then(() => abort.abort());
  let live = false;
  try {
    // The namespace the jobs were applied in (a spec may name its own; answers leave out "default").
    return await waitForJobs(
      results.length === 0 ? client : client.inNamespace(results[0]?.namespace ?? "default"),
      results.map((r) => ({ name: r.name, version: r.version, revision: r.revision })),
      {
        timeoutMs,
        signal: abort.signal,
        onProgress: (line) => {
          if (quiet) return;
          if (io.isTTY) {
            io.out(`\r\x1b[K${line}`);
            live = true;
          } else io.out(`${line}\n`);
        },
      },
    );
  } finally {
    sig.dispose();
    if (live) io.out("\n");
  }
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(
    program
      .command("apply")
      .argument("<file>", "spec file (.ts)")
      .option("--wait <duration>", `how long to wait for the new version to run (default ${defaultWaitMs / 1000}s)`)
      .option("--no-wait", "return right after the apply")
      .option("--detach", "return right after the apply (as --no-wait): the rollout goes on in the server")
      .option("-m, --message <text>", "why: kept with the new versions, shown by `tiffin history`")
      .description("store new job versions and follow them until they run"),
  ).action(async (file: string, opts: { json?: boolean; wait?: string | boolean; message?: string; detach?: boolean }) => {
    const waitMs = opts.detach === true ? null : parseWait(opts.wait);
    const client = ctx.client();
    const results = await applyHandler(client, file, ctx.io, { by: appliedBy(ctx.io.env), message: opts.message ?? null });
    // Results first, so a script has them even when the wait then fails.
    ctx.io.out(opts.json ? renderJson(results) : renderApplied(results));
    if (waitMs !== null) await followRollout(client, results, waitMs, ctx.io, opts.json === true);
  });
}
