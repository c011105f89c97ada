// `tiffin validate FILE...`: checks spec files with no server, as `plan` and `apply` would before
// sending anything (load, every field, the rules between fields, the host kernel's limits). Each file
// is reported: `ok FILE: N jobs (names)`, or its problems with the file, field path and value found
// there. Exit 2 when any file has a problem, so CI and pre-commit hooks can run it.

import type { Command } from "commander";
import { ErrorCodes, TiffinError } from "../../model/errors.ts";
import { loadSpecFile } from "../../spec/api.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { colourEnabled, colourError, paint } from "../colour.ts";
import { formatError } from "../errors.ts";
import type { CliIo } from "../io.ts";
import { renderJson } from "../table.ts";

/** What validating one file found: its jobs, or the error that lists its problems. */
export type FileVerdict = { file: string; ok: true; jobs: string[] } | { file: string; ok: false; error: TiffinError };

/** Loads and checks each file; spec problems are values, anything else (a bug) is thrown. */
export async function validateHandler(files: string[], io?: CliIo): Promise<FileVerdict[]> {
  const out: FileVerdict[] = [];
  for (const file of files) {
    try {
      const specs = await loadSpecFile(file, io ? { onOutput: (t) => io.err(t) } : {});
      out.push({ file, ok: true, jobs: specs.map((s) => s.name) });
    } catch (err) {
      if (err instanceof TiffinError && (err.code === ErrorCodes.SpecInvalid || err.code === ErrorCodes.SpecLoad)) out.push({ file, ok: false, error: err });
      else throw err;
    }
  }
  return out;
}

/** One line per good file (stdout) and each bad file's problems (stderr, as any other error). */
export function renderVerdicts(verdicts: FileVerdict[], colour: { out: boolean; err: boolean } = { out: false, err: false }): { out: string; err: string } {
  let out = "";
  let err = "";
  for (const v of verdicts) {
    if (v.ok) out += `${paint(colour.out, "green", "ok")} ${v.file}: ${v.jobs.length} job${v.jobs.length === 1 ? "" : "s"} (${v.jobs.join(", ")})\n`;
    else err += colourError(formatError(v.error), colour.err);
  }
  return { out, err };
}

/** The verdicts for scripts: problems as { file, path, message, value }. */
export function verdictsJson(verdicts: FileVerdict[]): unknown {
  return verdicts.map((v) =>
    v.ok ? v : { file: v.file, ok: false, code: v.error.code, message: v.error.message, problems: v.error.problems, hint: v.error.hint },
  );
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  jsonOption(
    program
      .command("validate")
      .argument("<files...>", "spec files (.ts, .js, .json, .yaml)")
      .description("check spec files without a server: every problem with its file, field and value (exit 2 if any)"),
  ).action(async (files: string[], opts: { json?: boolean }) => {
    const verdicts = await validateHandler(files, ctx.io);
    if (opts.json) ctx.io.out(renderJson(verdictsJson(verdicts)));
    else {
      const { out, err } = renderVerdicts(verdicts, { out: colourEnabled(ctx.io.isTTY, ctx.io.env), err: colourEnabled(ctx.io.errIsTTY === true, ctx.io.env) });
      ctx.io.out(out);
      ctx.io.err(err);
    }
    if (verdicts.some((v) => !v.ok)) ctx.setExitCode(2);
  });
}
