// A log's text as lines, from the chunks a followed log arrives in. Pure.

/** Lines kept on the page. */
export const MaxLines = 2000;

/** Appends a chunk of text to lines (the last line may be partial until its newline comes); keeps the last `max`. */
export function appendChunk(lines: readonly string[], partial: string, chunk: string, max: number = MaxLines): { lines: string[]; partial: string } {
  const parts = (partial + chunk).split("\n");
  const rest = parts.pop() ?? "";
  const all = parts.length > 0 ? [...lines, ...parts] : [...lines];
  return { lines: all.length > max ? all.slice(all.length - max) : all, partial: rest };
}
