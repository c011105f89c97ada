// Colour for people, never for pipes or files: only when the stream is a terminal, never with
// NO_COLOR set to anything (no-color.org) or TERM=dumb; FORCE_COLOR (not "0") turns it on anyway,
// as in Node and most CLIs. Colour marks what the eye should find first: `error[...]` in red,
// `hint:` in yellow, `ok` in green.

/** Whether to colour a stream: `tty` says whether that stream is a terminal. */
export function colourEnabled(tty: boolean, env: Record<string, string | undefined>): boolean {
  if ((env["NO_COLOR"] ?? "") !== "") return false;
  const force = env["FORCE_COLOR"];
  if (force !== undefined && force !== "" && force !== "0") return true;
  return tty && env["TERM"] !== "dumb";
}

const codes = { red: 31, green: 32, yellow: 33, bold: 1 } as const;

/** `text` in colour `c` when `on`, else unchanged. */
export function paint(on: boolean, c: keyof typeof codes, text: string): string {
  return on ? `\x1b[${codes[c]}m${text}\x1b[0m` : text;
}

/** An error's text (errors.ts formatError) with its `error[CODE]:` and `hint:` prefixes coloured. */
export function colourError(text: string, on: boolean): string {
  if (!on) return text;
  return text
    .split("\n")
    .map((l) => l.replace(/^(error(?:\[[A-Z_]+\])?:)/, (m) => paint(true, "red", paint(true, "bold", m))).replace(/^(hint:)/, (m) => paint(true, "yellow", m)))
    .join("\n");
}
