// The `tiffin` command line (bin/tiffin.js calls `main`). One file per command under commands/;
// each handler returns data and a renderer prints it, so this file only wires them to commander,
// prints failures the same way everywhere, and picks the exit code.

import "./warnings.ts"; // first: before anything can load node:sqlite
import { Command, CommanderError } from "commander";
import { tiffinVersion } from "../api/version.ts";
import { makeContext, withAuthHint } from "./command.ts";
import type { CliContext, RunState } from "./command.ts";
import { colourEnabled, colourError } from "./colour.ts";
import { exitCodeFor, formatError, usageError } from "./errors.ts";
import { processIo } from "./io.ts";
import type { CliIo } from "./io.ts";
import * as agent from "./commands/agent.ts";
import * as apply from "./commands/apply.ts";
import * as audit from "./commands/audit.ts";
import * as completion from "./commands/completion.ts";
import * as context from "./commands/context.ts";
import * as dev from "./commands/dev.ts";
import * as drain from "./commands/drain.ts";
import * as events from "./commands/events.ts";
import * as exec from "./commands/exec.ts";
import * as helper from "./commands/helper.ts";
import * as history from "./commands/history.ts";
import * as hosts from "./commands/hosts.ts";
import * as remediations from "./commands/remediations.ts";
import * as init from "./commands/init.ts";
import * as jobs from "./commands/jobs.ts";
import * as logs from "./commands/logs.ts";
import * as maintenance from "./commands/maintenance.ts";
import * as pkg from "./commands/pkg.ts";
import * as plan from "./commands/plan.ts";
import * as restart from "./commands/restart.ts";
import * as revert from "./commands/revert.ts";
import * as rollout from "./commands/rollout.ts";
import * as run from "./commands/run.ts";
import * as runs from "./commands/runs.ts";
import * as scale from "./commands/scale.ts";
import * as server from "./commands/server.ts";
import * as status from "./commands/status.ts";
import * as stop from "./commands/stop.ts";
import * as swarm from "./commands/swarm.ts";
import * as top from "./commands/top.ts";
import * as token from "./commands/token.ts";
import * as caCommand from "./commands/ca.ts";
import * as secret from "./commands/secret.ts";
import * as recommend from "./commands/recommend.ts";
import * as services from "./commands/services.ts";
import * as endpoints from "./commands/endpoints.ts";
import * as validate from "./commands/validate.ts";
import * as version from "./commands/version.ts";
import { globalShortFlags } from "./global-flags.ts";

const commands: { register(program: Command, ctx: CliContext): void }[] = [
  dev, init, validate, apply, plan, status, jobs, top, recommend, restart, scale, stop, history, revert, rollout, hosts, drain, maintenance, logs, exec, pkg, swarm, server, agent, helper, version, completion, context, audit, events, services, endpoints, remediations,
  token,
  caCommand,
  secret,
  run, runs,
];

/**
 * True when the command line asks for tiffin's version: -V/--version before any command (after
 * global options only). Not a commander option: those match anywhere on the line, so the
 * program's --version took `pkg push --version 1` from the subcommand (issue 10 item 9).
 */
export function wantsVersion(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-V" || a === "--version") return true;
    if (a === "--addr" || a === "--token" || a === "--context" || a === "--namespace") i++;
    else if (a !== "-A" && a !== "--all-namespaces" && !a.startsWith("--addr=") && !a.startsWith("--token=") && !a.startsWith("--context=") && !a.startsWith("--namespace=")) return false;
  }
  return false;
}

/** The commands that act in a namespace (each, with its subcommands, takes -n/--namespace; `exec`
 * reads the program's --namespace, as its own -n means no stdin). */
const NamespacedCommands = new Set(["apply", "plan", "status", "jobs", "top", "recommend", "restart", "scale", "stop", "history", "revert", "rollout", "logs", "services", "endpoints", "runs", "run", "events", "secret"]);

function addNamespaceOption(cmd: Command): void {
  cmd.option("-n, --namespace <ns>", "the namespace to act in ('*': every one, to list)");
  cmd.commands.forEach(addNamespaceOption);
}

/** Builds the program with every command registered (exported for tests of the wiring). */
export function buildProgram(io: CliIo, state: RunState): { program: Command; ctx: CliContext } {
  const program = new Command("tiffin")
    .description("Tiffin runs services and batch jobs on a fleet of machines.")
    .addHelpText("afterAll", "\n  -V, --version  print tiffin's version (before any command: `pkg push --version` is the package's)")
    .option("--addr <url,...>", "server address, or several comma-separated (env TIFFIN_ADDR; default: the `tiffin dev` context, else http://127.0.0.1:7070)")
    .option("--token <token>", "admin token (env TIFFIN_TOKEN; default: the `tiffin dev` context)")
    .option("--context <name>", "use this named context (`tiffin context list`) instead of the current one")
    .option("--namespace <ns>", "the namespace job commands act in (-n before the command or on each; env TIFFIN_NAMESPACE; default: the context's, else \"default\")")
    .option("-A, --all-namespaces", "list every namespace the token may read (as -n '*')")
    .showSuggestionAfterError(true);
  const ctx = makeContext(program, io, state);
  for (const c of commands) c.register(program, ctx);
  for (const c of program.commands) if (NamespacedCommands.has(c.name())) addNamespaceOption(c);
  // Every command, nested or not, reports through main instead of exiting the process.
  const configure = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => undefined });
    cmd.commands.forEach(configure);
  };
  configure(program);
  return { program, ctx };
}

/** Runs the command line `argv` (without node and script) and resolves with the exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const state: RunState = { exitCode: 0, daemon: false };
  const { program, ctx } = buildProgram(io, state);
  // `tiffin logs ... | head`: once the reader is gone there is nobody to write for, so the command
  // ends at once, quietly, with 0 (as if it had finished). Daemons decide for themselves (dev.ts).
  void ctx.outputClosed.then(() => state.daemon || process.exit(0));
  const debug = Boolean(io.env["TIFFIN_DEBUG"]);
  if (wantsVersion(argv)) {
    io.out(`${tiffinVersion()}\n`);
    return 0;
  }
  // `tiffin help NOSUCH`: commander shows the program's help; say what was wrong, as for `tiffin NOSUCH`.
  if (argv[0] === "help" && argv[1] !== undefined && !program.commands.some((c) => c.name() === argv[1] || c.aliases().includes(argv[1]!))) {
    io.err(colourError(formatError(usageError(`unknown command '${argv[1]}'`, "run `tiffin help` for the list of commands")), errColour(io)));
    return 2;
  }
  let code: number;
  try {
    await program.parseAsync(globalShortFlags(argv), { from: "user" });
    code = state.exitCode;
  } catch (err) {
    code = report(err, io, ctx, debug);
  }
  // A daemon that closed cleanly should leave nothing behind; if some handle still holds the event
  // loop (a bug elsewhere), exit anyway rather than hang a terminal or a supervisor.
  if (state.daemon) setTimeout(() => process.exit(code), 3000).unref();
  return code;
}

function report(err: unknown, io: CliIo, ctx: CliContext, debug: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === "commander.helpDisplayed") return 0;
    // `tiffin help CMD` and `CMD --help` asked for help: 0. Help shown because something was missing
    // (`tiffin` alone, `tiffin help NOSUCH`) is a usage error: 2.
    if (err.code === "commander.help") return err.exitCode === 0 ? 0 : 2;
    if (err.code === "commander.executeSubCommandAsync") return 2;
    const e = usageError(err.message.replace(/^error: /, ""), "run `tiffin --help` (or `tiffin COMMAND --help`) for usage");
    io.err(colourError(formatError(e), errColour(io)));
    return 2;
  }
  let shown = err;
  try {
    shown = withAuthHint(err, ctx.target());
  } catch {
    // a broken context only loses the better hint
  }
  io.err(colourError(formatError(shown, debug), errColour(io)));
  return exitCodeFor(err);
}

/** Colour on stderr: a terminal, and NO_COLOR unset (colour.ts). */
function errColour(io: CliIo): boolean {
  return colourEnabled(io.errIsTTY === true, io.env);
}
