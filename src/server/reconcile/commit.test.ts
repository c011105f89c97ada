// buildTxn against a real SQLite store and a real Mirror: /alloc records kept exact, and the overlay
// that lets the next placement batch be built while the previous one commits.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import type { JobVersion } from "../../model/index.ts";
import { openSqliteStore } from "../../state/sqlite.ts";
import { allocKey, versionKey } from "../keys.ts";
import type { AllocValue } from "../keys.ts";
import { Mirror } from "../mirror.ts";
import { specOf, task } from "../testing/fixtures.ts";
import { buildTxn, emptyWriteSet } from "./commit.ts";
import type { AllocOverlay } from "./commit.ts";

async function withMirror(fn: (m: Mirror, put: (key: string, value: unknown) => Promise<void>, txn: (t: ReturnType<typeof buildTxn>) => Promise<boolean>) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-commit-"));
  const store = openSqliteStore(join(dir, "state.db"), { synchronous: "normal" });
  const m = await Mirror.load(store, pino({ level: "silent" }));
  try {
    const version: JobVersion = { name: "web", version: 1, spec: specOf({ resources: { cpu: 1, memoryMiB: 100, diskMiB: 10 } }), createdAt: 0 };
    await m.waitFor(await store.put(versionKey("web", 1), JSON.stringify(version)));
    await fn(
      m,
      async (key, value) => void (await m.waitFor(await store.put(key, JSON.stringify(value)))),
      async (t) => {
        const r = await store.txn(t);
        await m.waitFor(r.revision);
        return r.succeeded;
      },
    );
  } finally {
    m.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const alloc = (m: Mirror, host: string): AllocValue | undefined => m.alloc.get(host)?.value;

void test("buildTxn rewrites /alloc of the hosts a write set touches, under compare", () =>
  withMirror(async (m, _put, txn) => {
    const ws = emptyWriteSet();
    ws.tasks.push(task(0, { hostId: "h1", attemptId: null }), task(1, { hostId: "h2", attemptId: null }));
    assert.equal(await txn(buildTxn(m, ws)), true);
    assert.deepEqual(alloc(m, "h1"), { cpu: 1, memoryMiB: 100, diskMiB: 10, tasks: 1 });
    // Built on a stale mirror (another writer moved h1's record on): refused.
    const stale = buildTxn(m, { ...emptyWriteSet(), tasks: [task(2, { hostId: "h1", attemptId: null })] });
    const other = buildTxn(m, { ...emptyWriteSet(), tasks: [task(3, { hostId: "h1", attemptId: null })] });
    assert.equal(await txn(other), true);
    assert.equal(await txn(stale), false, "the compare on /alloc/h1 fails");
  }));

void test("with an overlay, the next batch is built before the previous one is in the mirror; a failed batch fails the next", () =>
  withMirror(async (m, put, txn) => {
    const overlay: AllocOverlay = new Map();
    const first = buildTxn(m, { ...emptyWriteSet(), tasks: [task(0, { hostId: "h1", attemptId: null })] }, overlay);
    // Planned while the first is still on its way: same host, counted on top of the first's value.
    const second = buildTxn(m, { ...emptyWriteSet(), tasks: [task(1, { hostId: "h1", attemptId: null })] }, overlay);
    assert.equal(overlay.get("h1")?.value.tasks, 2);
    assert.equal(await txn(first), true);
    assert.equal(await txn(second), true, "its compare is on the value the first wrote");
    assert.deepEqual(alloc(m, "h1"), { cpu: 2, memoryMiB: 200, diskMiB: 20, tasks: 2 });

    // A batch that never lands: the one built on it must not land either.
    const overlay2: AllocOverlay = new Map();
    const lost = buildTxn(m, { ...emptyWriteSet(), tasks: [task(2, { hostId: "h1", attemptId: null })] }, overlay2);
    await put(allocKey("h1"), { cpu: 2, memoryMiB: 200, diskMiB: 20, tasks: 2, touched: true }); // someone else wrote h1
    assert.equal(await txn(lost), false);
    const next = buildTxn(m, { ...emptyWriteSet(), tasks: [task(3, { hostId: "h1", attemptId: null })] }, overlay2);
    assert.equal(await txn(next), false, "built on a value that was never written");
  }));
