// `tiffin -n NS COMMAND ...`: -n before the command name is the program's --namespace. Not a commander
// option of the program: those match anywhere on the line (see wantsVersion), so the program's -n
// would take `exec`'s own -n (no stdin). Only the global options before the command are rewritten.

/** The global options that take a value (the next argument, or `--opt=value`). */
const ValueFlags = new Set(["--addr", "--token", "--context", "--namespace"]);

/** `argv` with `-n NS` (or `-nNS`) among the global options before the command written as
 * `--namespace NS`; anything from the command name on is left as it is. */
export function globalShortFlags(argv: readonly string[]): string[] {
  const out = [...argv];
  for (let i = 0; i < out.length; i++) {
    const a = out[i]!;
    if (a === "-n") out[i] = "--namespace";
    else if (a.startsWith("-n") && !a.startsWith("--")) out[i] = `--namespace=${a.slice(2)}`;
    if (out[i] === "--namespace" || ValueFlags.has(a)) i++;
    else if (!a.startsWith("-")) break;
  }
  return out;
}
