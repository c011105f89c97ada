// `tiffin run JOB [--wait]`: starts a run of a batch job now; `tiffin dispatch JOB --param k=v
// --payload-file FILE --key K`: the same with parameters (TIFFIN_PARAM_<NAME>), a payload (the parameter
// `payload`, TIFFIN_PARAM_PAYLOAD) and an idempotency key (the same key twice starts one run). With
// --wait, both follow the run to its end and exit 1 (TIFFIN_RUN_FAILED) when it did not succeed.

import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import { ErrorCodes, isRunOver, TiffinError } from "../../model/index.ts";
import type { Run } from "../../model/index.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { renderJson } from "../table.ts";
import { readPayload } from "./run-payload.ts";
import { itemCounts, renderRun } from "./runs-render.ts";

/** How often --wait asks for the run. */
export const WaitPollMs = 250;

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

/** Polls the run until it is over. */
export async function waitForRun(client: ApiClient, run: Run, onProgress?: (r: Run) => void): Promise<Run> {
  let r = run;
  let last = "";
  while (!isRunOver(r.state)) {
    await sleep(WaitPollMs);
    r = await client.run(r.job, r.id);
    const line = `${r.state}: ${itemCounts(r)}`;
    if (line !== last) onProgress?.(r);
    last = line;
  }
  return r;
}

/** The outcome of a waited-for run: the run, or TIFFIN_RUN_FAILED (exit 1) carrying its rendering. */
function finish(r: Run, ctx: CliContext, json: boolean): void {
  ctx.io.out(json ? renderJson(r) : renderRun(r, Date.now()));
  if (r.state !== "succeeded") throw new TiffinError(ErrorCodes.RunFailed, `run ${r.job}/${r.id} ${r.state}: ${r.reason ?? "no reason given"}`, { hint: `each item's attempts and exit codes are above; logs: \`tiffin logs ${r.job}/INDEX --attempt ID\`` });
}

async function start(ctx: CliContext, job: string, body: { params?: Record<string, string>; key?: string }, opts: { wait?: boolean; json?: boolean }): Promise<void> {
  const client = ctx.client();
  const r = await client.startRun(job, body);
  if (!opts.wait) {
    ctx.io.out(opts.json ? renderJson(r) : `run ${r.job}/${r.id} ${r.state} (${r.items.length} items); follow it with \`tiffin runs show ${r.job}/${r.id}\`\n`);
    return;
  }
  if (!opts.json) ctx.io.err(`run ${r.job}/${r.id} ${r.state} (${r.items.length} items)\n`);
  const done = await waitForRun(client, r, opts.json ? undefined : (x) => ctx.io.err(`${x.state}: ${itemCounts(x)}\n`));
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
