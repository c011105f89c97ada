// `tiffin secret set|list|rm`: users' secrets, named NS/NAME (NAME alone is default/NAME). A value
// comes from stdin or `--file`, never from argv (argv is in `ps` and shell history); it is sent once
// and never shown again: list prints names, versions and dates. Specs use a secret by name
// (`secret("db")`); setting a new value rolls the jobs that use it.

import fs from "node:fs";
import type { Command } from "commander";
import type { SecretView } from "../../api/types.ts";
import { formatSecretName, parseSecretName } from "../../model/secret.ts";
import type { SecretName } from "../../model/secret.ts";
import type { CliContext } from "../command.ts";
import { jsonOption } from "../command.ts";
import { usageError } from "../errors.ts";
import { outputFormat, outputOption, renderOutput } from "../output.ts";
import type { OutputOpts } from "../output.ts";
import { formatTime, renderJson, renderTable } from "../table.ts";

const nameHint = "name a secret NS/NAME, e.g. default/db-password (NAME alone means default/NAME)";

/** The secret a command line names; a usage error for a bad name. */
export function secretNameArg(text: string): SecretName {
  const s = parseSecretName(text);
  if (typeof s === "string") throw usageError(`the secret name ${s}`, nameHint);
  return s;
}

/** Reads all of stdin; a usage error when it is a terminal (the value would echo, and a typo would be stored). */
async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) throw usageError("`tiffin secret set` reads the value from stdin or --file, and stdin is a terminal", "pipe it in (e.g. `tiffin secret set default/db < pw.txt`) or give --file PATH; values are never taken from the command line");
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(parts);
}

/** The secrets as a table; wide adds when each was created. */
export function renderSecrets(secrets: SecretView[], wide = false): string {
  if (secrets.length === 0) return "no secrets yet (`tiffin secret set NS/NAME < FILE`)\n";
  return renderTable(
    ["name", "version", "updated", "updated by", ...(wide ? ["created"] : [])],
    secrets.map((s) => [formatSecretName(s), String(s.version), formatTime(s.updatedAt), s.updatedBy.name, ...(wide ? [formatTime(s.createdAt)] : [])]),
  );
}

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  const secret = program.command("secret").description("secrets that tasks get as env vars or files: set, list, rm (values never shown)");
  jsonOption(
    secret
      .command("set")
      .argument("<name>", "NS/NAME (NAME alone: default/NAME)")
      .option("--file <path>", "read the value from this file (default: stdin); its bytes exactly")
      .description("set a secret's value from stdin or --file (its bytes exactly, a final newline too); jobs that use it roll to the new version"),
  ).action(async (name: string, opts: { file?: string; json?: boolean }) => {
    const s = secretNameArg(name);
    let value: Buffer;
    if (opts.file !== undefined) {
      try {
        value = fs.readFileSync(opts.file);
      } catch (err) {
        throw usageError(`cannot read --file ${opts.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, "give a readable file, or pipe the value into stdin");
      }
    } else value = await readStdin();
    const v = await ctx.client().setSecret(s.ns, s.name, value);
    value.fill(0);
    ctx.io.out(opts.json ? renderJson(v) : `secret ${formatSecretName(v)} set (version ${v.version}, ${value.length} bytes)\n`);
  });
  outputOption(secret.command("list").description("every secret's name, version and dates (never a value)")).action(async (opts: OutputOpts) => {
    const format = outputFormat(opts);
    const all = await ctx.client().secrets();
    ctx.io.out(renderOutput(format, all, (wide) => renderSecrets(all, wide)));
  });
  jsonOption(secret.command("rm").argument("<name>", "NS/NAME").description("remove a secret (refused while a job uses it)")).action(async (name: string, opts: { json?: boolean }) => {
    const s = secretNameArg(name);
    const v = await ctx.client().removeSecret(s.ns, s.name);
    ctx.io.out(opts.json ? renderJson(v) : `secret ${formatSecretName(v)} removed\n`);
  });
}
