// `-o json|yaml|wide` on listing commands, as kubectl's: one option, one renderer choice. `--json`
// stays (it is `-o json`). A table is for people; json and yaml carry every field, for scripts.

import type { Command } from "commander";
import { stringify } from "yaml";
import { usageError } from "./errors.ts";
import { renderJson } from "./table.ts";

/** The formats a listing can print in. */
export const OutputFormats = ["table", "wide", "json", "yaml"] as const;
/** One of OutputFormats. */
export type OutputFormat = (typeof OutputFormats)[number];

/** What commander hands the action for `outputOption`. */
export interface OutputOpts {
  json?: boolean;
  output?: string;
}

/** Adds `-o, --output FORMAT` and `--json` to a listing command. */
export function outputOption(cmd: Command): Command {
  return cmd
    .option("-o, --output <format>", "table (default), wide (more columns), json or yaml (every field, for scripts)")
    .option("--json", "print JSON for scripts (same as -o json)");
}

/** The format asked for; an unknown one is a usage error naming the choices. */
export function outputFormat(opts: OutputOpts): OutputFormat {
  if (opts.output === undefined) return opts.json ? "json" : "table";
  const f = OutputFormats.find((x) => x === opts.output);
  if (f === undefined) throw usageError(`unknown output format "${opts.output}"`, `use -o ${OutputFormats.join(", -o ")}`);
  if (opts.json && f !== "json") throw usageError(`--json and -o ${f} ask for two formats`, "give one of them");
  return f;
}

/** `data` in the format: json and yaml print it whole; table and wide call `table(wide)`. */
export function renderOutput(format: OutputFormat, data: unknown, table: (wide: boolean) => string): string {
  switch (format) {
    case "json":
      return renderJson(data);
    case "yaml":
      return stringify(data, { lineWidth: 0 });
    default:
      return table(format === "wide");
  }
}
