// `tiffin run JOB [--wait]`: starts a run of a batch job now; `tiffin dispatch JOB --param k=v
// --payload-file FILE --key K`: the same with parameters (TIFFIN_PARAM_<NAME>), a payload (the parameter
// `payload`, TIFFIN_PARAM_PAYLOAD) and an idempotency key (the same key twice starts one run). With
// --wait, both follow the run to its end through the typed watch (the run's record carries its items'
// counts: one progress line on a terminal, a line per change otherwise, on stderr), then print the run
// (or its JSON) and exit 1 (TIFFIN_RUN_FAILED, naming the failed items' exit codes) unless it succeeded.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import { ErrorCodes, isRunOver, TiffinError } from "../../model/index.ts";
import type { Run } from "../../model/index.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { renderJson } from "../table.ts";
import { readPayload } from "./run-payload.ts";
import { failedItemsText, itemCounts, renderRun } from "./runs-render.ts";

/** `k=v` pairs into params; a name given twice is a usage error. */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw usageError(`--param "${p}" is not NAME=VALUE`, "write --param region=eu (repeat it for more)");
    const k = p.slice(0, eq);
    if (k in out) throw usageError(`--param ${k} is given twice`);
    out[k] = p.slice(eq + 1);
  }
  return out;
}

/** Follows the run through the typed watch until it is over (`onProgress` with each change of its
 * state or items' counts), then reads it whole, with its items. No polling: the watch lists the run
 * first, so a run that ended before the watch opened is seen at once. */
export async function waitForRun(client: ApiClient, run: Run, onProgress?: (r: Run) => void): Promise<Run> {
  if (isRunOver(run.state)) return run;
  const ac = new AbortController();
  let last = "";
  try {
    for await (const m of client.watch({ kinds: ["run"], jobs: [run.job], signal: ac.signal })) {
      if (m.type === "removed" && m.kind === "run" && m.name === `${run.job}/${run.id}`) {
        throw new TiffinError(ErrorCodes.NotFound, `run ${run.job}/${run.id} was deleted while it was followed`, { hint: `a job's finished runs beyond its batch.keep are deleted; list the kept ones with \`tiffin runs ${run.job}\`` });
      }
      if ((m.type !== "added" && m.type !== "updated") || m.kind !== "run" || m.object?.id !== run.id) continue;
      const line = `${m.object.state}: ${itemCounts(m.object)}`;
      if (line !== last) onProgress?.(m.object);
      last = line;
      if (isRunOver(m.object.state)) break;
    }
  } finally {
    ac.abort();
  }
  return client.run(run.job, run.id);
}

/** The outcome of a waited-for run: the run, or TIFFIN_RUN_FAILED (exit 1) naming its failed items. */
function finish(r: Run, ctx: CliContext, json: boolean): void {
  ctx.io.out(json ? renderJson(r) : renderRun(r, Date.now()));
  if (r.state !== "succeeded") {
    const failed = failedItemsText(r);
    throw new TiffinError(ErrorCodes.RunFailed, `run ${r.job}/${r.id} ${r.state}: ${r.reason ?? "no reason given"}${failed ? `; ${failed}` : ""}`, { hint: `each item's attempts and exit codes: \`tiffin runs show ${r.job}/${r.id}\`; logs: \`tiffin logs ${r.job}/INDEX --attempt ID\`` });
  }
}

async function start(ctx: CliContext, job: string, body: { params?: Record<string, string>; key?: string }, opts: { wait?: boolean; json?: boolean }): Promise<void> {
  const client = ctx.client();
  const r = await client.startRun(job, body);
  if (!opts.wait) {
    ctx.io.out(opts.json ? renderJson(r) : `run ${r.job}/${r.id} ${r.state} (${r.items.length} items); follow it with \`tiffin runs show ${r.job}/${r.id}\`\n`);
    return;
  }
  ctx.io.err(`run ${r.job}/${r.id} ${r.state} (${r.items.length} items)\n`);
  // Progress on stderr (stdout keeps the run, or its JSON): one line rewritten on a terminal.
  const tty = ctx.io.errIsTTY === true;
  const done = await waitForRun(client, r, (x) => ctx.io.err(tty ? `\r${x.state}: ${itemCounts(x)}\x1b[K` : `${x.state}: ${itemCounts(x)}\n`));
  if (tty) ctx.io.err("\n");
  finish(done, ctx, opts.json === true);
}

/** Adds `run` and `dispatch`. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(program.command("run").argument("<job>", "a batch job").option("--wait", "follow the run to its end; exit 1 unless it succeeded").description("start a run of a batch job now")).action(
    async (job: string, opts: { wait?: boolean; json?: boolean }) => start(ctx, job, {}, opts),
  );
  jsonOption(
    program
      .command("dispatch")
      .argument("<job>", "a batch job")
      .option("--param <name=value>", "a parameter, TIFFIN_PARAM_<NAME> in each task (repeatable)", (v: string, prev: string[]) => [...prev, v], [] as string[])
      .option("--payload-file <file>", "a text file handed to each task as TIFFIN_PARAM_PAYLOAD (at most 64 KiB)")
      .option("--payload <file>", "the same as --payload-file")
      .option("--key <key>", "idempotency key: a second dispatch with the same key starts nothing and answers the first run")
      .option("--wait", "follow the run to its end; exit 1 unless it succeeded")
      .description("start a run of a batch job with parameters (a parameterized job)"),
  ).action(async (job: string, opts: { param: string[]; payload?: string; payloadFile?: string; key?: string; wait?: boolean; json?: boolean }) => {
    const params = parseParams(opts.param);
    if (opts.payload !== undefined && opts.payloadFile !== undefined) throw usageError("--payload and --payload-file are the same option given twice", "give one payload file");
    const file = opts.payloadFile ?? opts.payload;
    if (file !== undefined) {
      if ("payload" in params) throw usageError("--payload-file and --param payload=... say the same thing twice", "give the payload one way");
      params["payload"] = await readPayload(file);
    }
    await start(ctx, job, { params, ...(opts.key !== undefined ? { key: opts.key } : {}) }, opts);
  });
}
