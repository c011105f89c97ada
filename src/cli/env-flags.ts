// Every flag of a daemon (`tiffin server`, `tiffin agent`) also comes from the environment, as
// TIFFIN_<FLAG>: what a systemd EnvironmentFile or a container sets. A flag on the command line wins
// (commander reads the environment only for options the command line left out). A boolean flag's
// variable turns it on unless it says 0, false, no, off or nothing.

import type { Command, Option } from "commander";
import type { EventEmitter } from "node:events";

/** The environment variable of a long flag: `--join-token-file` → `TIFFIN_JOIN_TOKEN_FILE`. */
export function envName(long: string): string {
  return `TIFFIN_${long.replace(/^--/, "").replaceAll("-", "_").toUpperCase()}`;
}

/**
 * Gives each option of `cmd` (not of its subcommands) its TIFFIN_<FLAG> variable, shown in --help.
 * Commander listens for an option's variable only if it had one when added, so each option is taken
 * out (with its listener) and added again.
 */
export function envForEveryFlag(cmd: Command): Command {
  for (const option of [...cmd.options]) {
    if (option.long === undefined || option.envVar !== undefined || option.negate) continue;
    (cmd.options as Option[]).splice(cmd.options.indexOf(option), 1);
    // Command is an EventEmitter at run time; commander's types leave that out.
    (cmd as unknown as EventEmitter).removeAllListeners(`option:${option.name()}`);
    const name = envName(option.long);
    cmd.addOption(option.env(name));
    // Commander turns a boolean flag on when its variable is set at all; "0", "false", "no", "off" or
    // empty mean off here (TIFFIN_ALLOW_UNSANDBOXED=false must not allow unsandboxed tasks). This
    // listener runs after commander's, only for a value from the environment (a flag given wins).
    if (!option.required && !option.optional) {
      cmd.on(`optionEnv:${option.name()}`, () => {
        if (/^(0|false|no|off)?$/i.test((process.env[name] ?? "").trim())) cmd.setOptionValueWithSource(option.attributeName(), false, "env");
      });
    }
  }
  return cmd;
}
