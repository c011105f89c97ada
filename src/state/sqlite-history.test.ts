// The SQLite store's history is bounded in rows as well as in revisions (issue 18, store growth): a
// batch job's reconcile pass writes a hundred keys in one revision, so 100,000 revisions of history
// held about a million batch items' events (~9 GB of file per million items in bench/batch.ts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, test } from "node:test";
import { Collector } from "./conformance-util.ts";
import { openSqliteStore } from "./sqlite.ts";
import { CompactedError } from "./store.ts";

const dir = mkdtempSync(join(tmpdir(), "tiffin-history-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Rows of history and used pages of the file, read as a second process would. */
function look(path: string): { rows: number; usedPages: number } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const n = (sql: string, col: string): number => Number(db.prepare(sql).get()?.[col] ?? 0);
    return { rows: n("SELECT count(*) AS n FROM events", "n"), usedPages: n("PRAGMA page_count", "page_count") - n("PRAGMA freelist_count", "freelist_count") };
  } finally {
    db.close();
  }
}

void test("history keeps at most historyEvents rows however many keys a revision writes; freed pages are reused", async () => {
  const path = join(dir, "state.db");
  const s = openSqliteStore(path, { historyLimit: 100_000, historyEvents: 300, synchronous: "normal", writer: "inline" });
  try {
    const value = "x".repeat(200);
    // One "run": 40 revisions of 25 keys (as a reconcile pass writes items), then the run deleted
    // (25 keys a revision: the newest revision is always kept whole).
    const round = async (r: number): Promise<void> => {
      for (let t = 0; t < 40; t++) await s.txn({ compare: [], success: Array.from({ length: 25 }, (_, i) => ({ type: "put" as const, key: `run/${r}/${t}/${i}`, value })) });
      for (let t = 0; t < 40; t++) await s.txn({ compare: [], success: [{ type: "deletePrefix", prefix: `run/${r}/${t}/` }] });
    };
    await round(0);
    await round(1);
    const early = look(path);
    assert.ok(early.rows <= 300, `history rows ${early.rows} after 2,000 writes, limit 300`);
    for (let r = 2; r < 8; r++) await round(r);
    const late = look(path);
    assert.ok(late.rows <= 300, `history rows ${late.rows} after 8,000 writes, limit 300`);
    assert.ok(late.usedPages <= early.usedPages * 1.25 + 4, `used pages ${early.usedPages} -> ${late.usedPages}: deleted rows' pages are not reused`);

    // Compaction stays whole revisions: the newest history is watchable, older is CompactedError.
    const rev = await s.revision();
    const ok = new Collector();
    const w = s.watch("run/", rev - 5, ok.onEvents, ok.onError);
    await ok.until("the last revisions' events", () => ok.events.length > 0);
    w.cancel();
    assert.equal(ok.errors.length, 0);
    const old = new Collector();
    s.watch("run/", rev - 200, old.onEvents, old.onError);
    await old.until("an error", () => old.errors.length > 0);
    assert.ok(old.errors[0] instanceof CompactedError, String(old.errors[0]));
  } finally {
    await s.close();
  }
});
