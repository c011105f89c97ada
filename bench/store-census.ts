// What a Tiffin SQLite state file holds, for the batch bench (issue 18, "store growth per million
// finished items"): its size with the WAL, SQLite's page and freelist counts, the history rows, and
// the live keys by their first path segment (/runs, /runitems, /attempts...). Read through a second,
// read-only connection while the server runs (the file is in normal locking mode).

import fs from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";

/** One look at a state file. */
export interface StoreCensus {
  /** state.db plus state.db-wal, bytes. */
  fileBytes: number;
  pageSize: number;
  pages: number;
  /** Pages free inside the file (deleted rows' pages, reused by later writes). */
  freePages: number;
  /** Rows of the events table (the watch history). */
  historyRows: number;
  /** Revisions the history spans (the store keeps a number of revisions, not of rows). */
  historyRevisions: number;
  /** Bytes of the history rows' values (value + prev_value). */
  historyValueBytes: number;
  /** Live keys by first segment: count and value bytes. */
  keys: Record<string, { count: number; bytes: number }>;
}

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v ?? 0));

/** Counts what `DIR/state.db` holds now. */
export function censusOf(dir: string): StoreCensus {
  const file = path.join(dir, "state.db");
  const size = (f: string): number => (fs.existsSync(f) ? fs.statSync(f).size : 0);
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const one = (sql: string): Record<string, unknown> => db.prepare(sql).get() ?? {};
    const keys: StoreCensus["keys"] = {};
    const rows = db.prepare("SELECT substr(key, 1, instr(substr(key, 2), '/')) AS k, count(*) AS n, sum(length(value)) AS b FROM kv GROUP BY k").all();
    for (const r of rows) keys[String(r["k"]) || "(other)"] = { count: num(r["n"]), bytes: num(r["b"]) };
    const h = one("SELECT count(*) AS n, count(DISTINCT rev) AS r, sum(length(value)) + sum(coalesce(length(prev_value), 0)) AS b FROM events");
    return {
      fileBytes: size(file) + size(`${file}-wal`),
      pageSize: num(one("PRAGMA page_size")["page_size"]),
      pages: num(one("PRAGMA page_count")["page_count"]),
      freePages: num(one("PRAGMA freelist_count")["freelist_count"]),
      historyRows: num(h["n"]),
      historyRevisions: num(h["r"]),
      historyValueBytes: num(h["b"]),
      keys,
    };
  } finally {
    db.close();
  }
}

/** One line per figure, for the bench's output. */
export function censusLines(label: string, c: StoreCensus): string[] {
  const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
  const keys = Object.entries(c.keys).sort((a, b) => b[1].bytes - a[1].bytes).map(([k, v]) => `${k} ${v.count} (${mb(v.bytes)})`).join(", ");
  return [
    `${label}: file ${mb(c.fileBytes)}; pages ${c.pages} x ${c.pageSize} B, ${c.freePages} free; history ${c.historyRows} rows in ${c.historyRevisions} revisions (${mb(c.historyValueBytes)} of values)`,
    `  keys: ${keys}`,
  ];
}
