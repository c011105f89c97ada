// `tiffin completion bash|zsh|fish`: a shell completion script, made from the commands and options
// registered with commander, so it cannot fall behind them. Install as kubectl's:
//   bash: `source <(tiffin completion bash)` (or write it to /etc/bash_completion.d/tiffin)
//   zsh:  `source <(tiffin completion zsh)` (zsh's bashcompinit runs the bash function)
//   fish: `tiffin completion fish > ~/.config/fish/completions/tiffin.fish`
// Words complete from the command tree; anything else (spec files, JOB/I) falls back to file names.

import type { Command } from "commander";
import type { CliContext } from "../command.ts";
import { usageError } from "../errors.ts";

/** One command as completion sees it: its path, subcommands, long options, value-taking options. */
export interface CompletionNode {
  /** Command path without "tiffin": [] for the program, ["pkg", "push"] for a subcommand. */
  path: string[];
  description: string;
  subcommands: string[];
  options: string[];
  /** Options followed by a value (`--addr URL`): the next word is not a command. */
  valued: string[];
}

/** Every command of the program, depth first, with its options (help included). */
export function completionTree(program: Command): CompletionNode[] {
  const out: CompletionNode[] = [];
  const walk = (cmd: Command, path: string[]): void => {
    const opts = cmd.options.filter((o) => !o.hidden);
    const longs = opts.map((o) => o.long ?? o.short).filter((f): f is string => f !== undefined);
    out.push({
      path,
      description: cmd.description(),
      subcommands: cmd.commands.map((c) => c.name()).concat(path.length === 0 ? ["help"] : []),
      options: [...longs, "--help"],
      valued: opts.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)),
    });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(program, []);
  return out;
}

const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`);

/** The bash script: a `_tiffin` function registered with `complete -F` (also what zsh runs). */
export function bashScript(tree: CompletionNode[]): string {
  const valued = [...new Set(tree.flatMap((n) => n.valued))];
  const cases = tree.map((n) => `    ${shellWord(`/${n.path.join("/")}`)}) words=${shellWord([...n.subcommands, ...n.options].join(" "))} ;;`);
  return `# tiffin completion for bash; load with: source <(tiffin completion bash)
_tiffin() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" cmdpath="" words="" i w skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      ${valued.length > 0 ? `${valued.map(shellWord).join("|")}) skip=1 ;;` : ""}
      -*) ;;
      *) [[ " $(_tiffin_words "\${cmdpath:-/}") " == *" $w "* ]] && cmdpath="$cmdpath/$w" ;;
    esac
  done
  words="$(_tiffin_words "\${cmdpath:-/}")"
  if [[ "$cur" != -* ]]; then words="$(printf '%s\\n' $words | grep -v '^-' | tr '\\n' ' ')"; fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
_tiffin_words() {
  local words=""
  case "$1" in
${cases.join("\n")}
  esac
  printf '%s' "$words"
}
complete -o default -F _tiffin tiffin
`;
}

/**
 * The zsh script: zsh's bashcompinit runs the bash function. The functions are defined under zsh's
 * sticky sh emulation (arrays from 0, unquoted words split, as bash does); under zsh's own options
 * they read the wrong word and offered no subcommand (found by running them in a real zsh).
 */
export function zshScript(tree: CompletionNode[]): string {
  const bash = bashScript(tree).split("\n").slice(1);
  const register = bash.findIndex((l) => l.startsWith("complete "));
  return `#compdef tiffin
# tiffin completion for zsh; load with: source <(tiffin completion zsh)
autoload -U +X bashcompinit && bashcompinit
emulate sh -c "$(cat <<'TIFFIN_BASH_FUNCTIONS'
${bash.slice(0, register).join("\n")}
TIFFIN_BASH_FUNCTIONS
)"
${bash.slice(register).join("\n")}`;
}

/** The fish script: one `complete` line per command and option, with descriptions. */
export function fishScript(tree: CompletionNode[]): string {
  const q = (s: string): string => `'${s.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
  const lines = ["# tiffin completion for fish: tiffin completion fish > ~/.config/fish/completions/tiffin.fish", "complete -c tiffin -f"];
  const byPath = new Map(tree.map((n) => [n.path.join(" "), n]));
  for (const n of tree) {
    const cond =
      n.path.length === 0
        ? "__fish_use_subcommand"
        : `__fish_seen_subcommand_from ${n.path.at(-1)!}${n.subcommands.length > 0 ? `; and not __fish_seen_subcommand_from ${n.subcommands.join(" ")}` : ""}`;
    for (const s of n.subcommands) {
      const child = byPath.get([...n.path, s].join(" "));
      lines.push(`complete -c tiffin -n ${q(cond)} -a ${s} -d ${q((child?.description ?? "display help for command").split("\n")[0] ?? "")}`);
    }
    for (const o of n.options) if (o.startsWith("--")) lines.push(`complete -c tiffin -n ${q(cond)} -l ${o.slice(2)}${n.valued.includes(o) ? " -r -F" : ""}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The shells `tiffin completion` writes for. */
export const Shells = { bash: bashScript, zsh: zshScript, fish: fishScript } as const;

/** Adds the command. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("completion")
    .argument("<shell>", "bash, zsh or fish")
    .description("print a shell completion script (bash: `source <(tiffin completion bash)`)")
    .action((shell: string) => {
      if (!Object.hasOwn(Shells, shell)) throw usageError(`no completion for shell "${shell}"`, "use `tiffin completion bash`, `zsh` or `fish`");
      ctx.io.out(Shells[shell as keyof typeof Shells](completionTree(program)));
    });
}
