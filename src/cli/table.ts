// Plain text tables for humans: a header row and left-aligned columns separated by two spaces, like
// `kubectl get` and `nomad status`. Small enough not to warrant a table library.

/** Renders rows under upper-cased headers; empty or null cells print as "-". */
export function renderTable(headers: string[], rows: (string | number | null)[][]): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => r.map((c) => (c === null || c === "" ? "-" : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}

/** JSON for scripts: pretty, newline-terminated. */
export function renderJson(data: unknown): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}

/** "2026-11-23 11:35:02" in local time, for tables. */
export function formatTime(ms: number | null): string {
  if (ms === null) return "-";
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
