// `tiffin logs --grep`: only the lines matching a pattern, filtered on the agent so a grep over a
// large log does not cross the network. Works while following: a partial line waits for its end.

/** Compiles a user's pattern; the error message when it is not a valid regular expression. */
export function compileGrep(source: string): RegExp | string {
  try {
    return new RegExp(source);
  } catch (err) {
    return `grep: ${(err as Error).message}`;
  }
}

/** The lines of `chunks` that match `re`, each with its newline, as they complete. */
export async function* grepLines(chunks: AsyncIterable<Buffer>, re: RegExp): AsyncGenerator<Buffer> {
  let pending = "";
  const decoder = new TextDecoder();
  for await (const chunk of chunks) {
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    const out = lines.filter((l) => re.test(l));
    if (out.length > 0) yield Buffer.from(out.join("\n") + "\n");
  }
  pending += decoder.decode();
  if (pending !== "" && re.test(pending)) yield Buffer.from(pending);
}
