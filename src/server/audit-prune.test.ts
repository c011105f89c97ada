// Audit retention: which keys go by age and by count (a table), and the deletion in batches against a
// real SQLite store.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { openSqliteStore } from "../state/index.ts";
import { auditKeysToPrune, pruneAudit } from "./audit-prune.ts";
import { auditKey, Prefix } from "./keys.ts";

const day = 86_400_000;
const now = 1_800_000_000_000;

void test("auditKeysToPrune: older than keepDays, and the oldest beyond keepEntries", () => {
  const keys = [now - 100 * day, now - 31 * day, now - 29 * day, now - day, now].map((at, i) => auditKey(at, `id${i}`));
  const cases: [string, Parameters<typeof auditKeysToPrune>[2], number[]][] = [
    ["defaults: 90 days, 100,000 entries", {}, [0]],
    ["30 days", { keepDays: 30 }, [0, 1]],
    ["at most 2 entries", { keepDays: 0, keepEntries: 2 }, [0, 1, 2]],
    ["both limits", { keepDays: 30, keepEntries: 4 }, [0, 1]],
    ["no limits", { keepDays: 0, keepEntries: 0 }, []],
  ];
  for (const [name, r, want] of cases) assert.deepEqual(auditKeysToPrune(keys, now, r), want.map((i) => keys[i]), name);
});

void test("pruneAudit deletes from a real store, in batches", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-audit-prune-"));
  const store = openSqliteStore(path.join(dir, "state.db"));
  t.after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (let i = 0; i < 250; i++) await store.put(auditKey(now - (250 - i) * 60_000, `e${i}`), "{}");
  assert.equal(await pruneAudit(store, now, { keepDays: 0, keepEntries: 30 }), 220);
  const { kvs } = await store.range(Prefix.audit);
  assert.equal(kvs.length, 30);
  assert.ok(kvs[0]?.key.endsWith("-e220"), "the newest are kept");
  assert.equal(await pruneAudit(store, now, { keepDays: 0, keepEntries: 30 }), 0, "nothing more to do");
});
