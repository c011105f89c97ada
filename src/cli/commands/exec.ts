// `tiffin exec JOB/INDEX [--] CMD...`: runs a command in a running task's sandbox (through the server,
// which records it in its audit log, and the task's agent). No terminal and no stdin yet: output is
// streamed, and the command's exit code becomes ours (128+n when a signal n ended it, as shells do).

import os from "node:os";
import { StringDecoder } from "node:string_decoder";
import type { Command } from "commander";
import type { ApiClient } from "../../api/client.ts";
import type { CliContext } from "../command.ts";
import { waitForSignal } from "../command.ts";
import { usageError } from "../errors.ts";

/** What to run where. */
export interface ExecArgs {
  job: string;
  index: number;
  command: string[];
}

/** Parses `JOB/INDEX` and the command words. */
export function parseExecArgs(task: string, command: string[]): ExecArgs {
  const m = /^(.+)\/(\d+)$/.exec(task);
  if (!m) throw usageError(`"${task}" is not a task id`, "write JOB/INDEX, e.g. `tiffin exec web/0 -- id`");
  const cmd = command[0] === "--" ? command.slice(1) : command;
  if (cmd.length === 0) throw usageError("no command to run", "e.g. `tiffin exec web/0 -- cat /proc/1/cmdline`");
  return { job: m[1] ?? "", index: Number(m[2]), command: cmd };
}

/** Runs the exec, writing its output as it comes; resolves with the exit code to use. */
export async function execHandler(client: ApiClient, a: ExecArgs, out: (b: Buffer) => void, err: (b: Buffer) => void, signal?: AbortSignal): Promise<number> {
  const user = `${os.userInfo().username}@${os.hostname()}`;
  for await (const f of client.exec(a.job, a.index, { command: a.command, user }, signal ? { signal } : {})) {
    if (f.type === "stdout") out(Buffer.from(f.data, "base64"));
    else if (f.type === "stderr") err(Buffer.from(f.data, "base64"));
    else if (f.type === "error") {
      err(Buffer.from(`tiffin exec: ${f.message}\n`));
      return 126;
    } else if (f.type === "exit") return f.code ?? (f.signal ? 128 + (os.constants.signals[f.signal as NodeJS.Signals] ?? 0) : 1);
  }
  err(Buffer.from("tiffin exec: the stream ended without an exit status\n"));
  return 1;
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("exec")
    .argument("<task>", "JOB/INDEX, e.g. web/0")
    .argument("<command...>", "the command and its arguments (put -- before it when it has options)")
    // Options after the task belong to the command (`tiffin exec web/0 ls -l`); `--` is clearer still.
    .allowUnknownOption()
    .description("run a command inside a running task's sandbox (no terminal, no stdin; recorded in the server's audit log)")
    .action(async (task: string, command: string[]) => {
      const a = parseExecArgs(task, command);
      const abort = new AbortController();
      const sig = waitForSignal(["SIGINT", "SIGTERM"]);
      void sig.promise.then(() => abort.abort());
      try {
        // Decoders keep a character split between two frames whole.
        const out = new StringDecoder("utf8");
        const err = new StringDecoder("utf8");
        const code = await execHandler(ctx.client(), a, (b) => ctx.io.out(out.write(b)), (b) => ctx.io.err(err.write(b)), abort.signal);
        ctx.io.out(out.end());
        ctx.io.err(err.end());
        ctx.setExitCode(code);
      } finally {
        sig.dispose();
      }
    });
}
