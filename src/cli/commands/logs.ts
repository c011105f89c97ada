// `tiffin logs JOB/INDEX`: a task's stdout (or stderr), streamed to our stdout; `--follow` keeps
// reading until Ctrl-C.

import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { CliContext } from "../command.ts";
import { waitForSignal } from "../command.ts";
import { usageError } from "../errors.ts";
import { parseDuration } from "../../spec/api.ts";

/** What to read. */
export interface LogsRequest {
  job: string;
  index: number;
  stream: "stdout" | "stderr";
  attempt: string | null;
  follow: boolean;
  tail: number | null;
  /** Epoch ms (from --since DURATION). */
  since: number | null;
  grep: string | null;
  allAttempts: boolean;
}

/** The options of the command as commander gives them. */
export interface LogsFlags {
  follow?: boolean;
  stderr?: boolean;
  attempt?: string;
  tail?: string;
  since?: string;
  grep?: string;
  allAttempts?: boolean;
}

/** Parses `JOB/INDEX` and the options into a request. */
export function parseLogsArgs(task: string, opts: LogsFlags, now: number = Date.now()): LogsRequest {
  const m = /^(.+)\/(\d+)$/.exec(task);
  if (!m) throw usageError(`"${task}" is not a task id`, "write JOB/INDEX, e.g. `tiffin logs web/0` (`tiffin status JOB` lists them)");
  let tail: number | null = null;
  if (opts.tail !== undefined) {
    tail = Number(opts.tail);
    if (!Number.isSafeInteger(tail) || tail < 0) throw usageError(`--tail wants a number of lines, got "${opts.tail}"`);
  }
  let since: number | null = null;
  if (opts.since !== undefined) {
    const ms = parseDuration(opts.since);
    if (ms === null) throw usageError(`--since wants a duration such as 10m, 1h or 90s, got "${opts.since}"`);
    since = now - ms;
  }
  if (opts.grep !== undefined) {
    try {
      new RegExp(opts.grep);
    } catch (err) {
      throw usageError(`--grep: ${(err as Error).message}`, "it takes a JavaScript regular expression");
    }
  }
  if (opts.allAttempts && opts.attempt !== undefined) throw usageError("--all-attempts and --attempt exclude each other");
  return {
    job: m[1] ?? "",
    index: Number(m[2]),
    stream: opts.stderr ? "stderr" : "stdout",
    attempt: opts.attempt ?? null,
    follow: opts.follow === true,
    tail,
    since,
    grep: opts.grep ?? null,
    allAttempts: opts.allAttempts === true,
  };
}

/** Streams the log to `write` until it ends or `signal` aborts. */
export async function logsHandler(client: ApiClient, req: LogsRequest, write: (text: string) => void, signal?: AbortSignal): Promise<void> {
  const chunks = client.logs(req.job, req.index, {
    stream: req.stream,
    follow: req.follow,
    ...(req.attempt === null ? {} : { attempt: req.attempt }),
    ...(req.tail === null ? {} : { tail: req.tail }),
    ...(req.since === null ? {} : { since: req.since }),
    ...(req.grep === null ? {} : { grep: req.grep }),
    ...(req.allAttempts ? { allAttempts: true } : {}),
    ...(signal ? { signal } : {}),
  });
  try {
    for await (const chunk of chunks) write(chunk);
  } catch (err) {
    if (signal?.aborted) return;
    throw err;
  }
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("logs")
    .argument("<task>", "JOB/INDEX, e.g. web/0")
    .option("-f, --follow", "keep printing new output")
    .option("--stderr", "show stderr instead of stdout")
    .option("--attempt <id>", "an earlier attempt (ids: `tiffin status JOB --json`)")
    .option("--tail <n>", "only the last N lines (of each attempt; before --grep)")
    .option("--since <duration>", "only lines written in the last DURATION (10m, 1h; to 0.1 s)")
    .option("--grep <regex>", "only lines matching REGEX (JavaScript syntax)")
    .option("--all-attempts", "every attempt of the task, oldest first")
    .description("print a task's output")
    .action(async (task: string, opts: LogsFlags) => {
      const req = parseLogsArgs(task, opts);
      const abort = new AbortController();
      const sig = waitForSignal(["SIGINT", "SIGTERM"]);
      void sig.promise.then(() => abort.abort());
      try {
        await logsHandler(ctx.client(), req, ctx.io.out, abort.signal);
      } finally {
        sig.dispose();
      }
    });
}
