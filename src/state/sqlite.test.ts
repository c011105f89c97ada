// The conformance suite against SQLite, plus what only SQLite has: group commit, stall protection,
// fresh leases after reopen, the exclusive file lock, and surviving kill -9.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, describe, test } from "node:test";
import { ErrorCodes, ManualClock, TiffinError } from "../model/index.ts";
import type { Clock } from "../model/index.ts";
import { storeConformance } from "./conformance.ts";
import { Collector } from "./conformance-util.ts";
import { openSqliteStore } from "./sqlite.ts";
import type { SqliteStore, SqliteStoreOptions } from "./sqlite.ts";
import { CompactedError, LeaseNotFoundError } from "./store.ts";
import type { WatchEvent } from "./store.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-state-"));
  dirs.push(dir);
  return join(dir, "state.db");
}

const clock = new ManualClock();
storeConformance("sqlite store", async () => {
  const path = tempDb();
  let current = openSqliteStore(path, { clock });
  return {
    store: current,
    reopen: async () => (current = openSqliteStore(path, { clock })),
    compact: (rev) => current.compact(rev),
    cleanup: () => current.close(),
  };
}, { clock });

/** Opens a store in a temp dir for one test, closing it afterwards. */
async function withSqlite(opts: SqliteStoreOptions, fn: (s: SqliteStore, path: string) => Promise<void>): Promise<void> {
  const path = tempDb();
  const s = openSqliteStore(path, opts);
  try {
    await fn(s, path);
  } finally {
    await s.close();
  }
}

void describe("sqlite store specifics", () => {
  void test("writes issued in one tick commit in one transaction, each with its own revision", () =>
    withSqlite({}, async (s) => {
      const id = await s.grantLease(60_000);
      const before = s.stats();
      const r0 = await s.revision();
      const writes = Array.from({ length: 500 }, (_, i) => s.put(`g/${i}`, String(i), i % 2 ? { lease: id } : {}));
      const bad = s.put("g/bad", "x", { lease: "nope" });
      const cas = s.txn({ compare: [{ key: "g/10", target: "version", op: "==", value: 1 }], success: [{ type: "put", key: "g/10", value: "cas" }] });
      const revs = await Promise.all(writes);
      await assert.rejects(bad, LeaseNotFoundError);
      assert.equal((await cas).succeeded, true, "a compare sees earlier writes of the same batch");
      assert.deepEqual(revs, Array.from({ length: 500 }, (_, i) => r0 + 1 + i));
      assert.equal(await s.revision(), r0 + 501);
      assert.deepEqual(s.stats(), { commits: before.commits + 1, requests: before.requests + 502 });
    }));

  void test("small writes issued next to a big one are written ahead of it, in a commit of their own", () =>
    withSqlite({}, async (s) => {
      const before = s.stats();
      const big = s.txn({ compare: [], success: Array.from({ length: 600 }, (_, i) => ({ type: "put" as const, key: `big/${i}`, value: "x" })) });
      const small = [s.put("small/a", "1"), s.put("small/b", "2")];
      const [bigRev, a, b] = [(await big).revision, await small[0], await small[1]];
      assert.ok(a !== undefined && b !== undefined && a < b && b < bigRev, `small ${a}, ${b} before big ${bigRev}`);
      assert.equal(s.stats().commits, before.commits + 2);
    }));

  void test("history is compacted to the last historyLimit revisions", () =>
    withSqlite({ historyLimit: 10 }, async (s) => {
      for (let i = 0; i < 30; i++) await s.put(`h/${i % 4}`, String(i));
      const rev = await s.revision();
      assert.equal((await s.range("h/", { revision: rev - 9 })).revision, rev - 9);
      await assert.rejects(s.range("h/", { revision: rev - 10 }), (e) => e instanceof CompactedError && e.compactRevision === rev - 9);
      const c = new Collector();
      s.watch("h/", rev - 10, c.onEvents, c.onError);
      await c.until("an error", () => c.errors.length > 0);
      assert.ok(c.errors[0] instanceof CompactedError);
      const ok = new Collector();
      const w = s.watch("h/", rev - 9, ok.onEvents, ok.onError);
      await ok.until("10 events", () => ok.events.length >= 10);
      w.cancel();
    }));

  void test("watch replay reads big revisions in pages without splitting a revision", { timeout: 30_000 }, () =>
    withSqlite({}, async (s) => {
      const txn = (n: number, tag: string): Promise<unknown> =>
        s.txn({ compare: [], success: Array.from({ length: n }, (_, i) => ({ type: "put" as const, key: `big/${tag}/${i}`, value: "v" })) });
      await txn(6000, "huge"); // one revision larger than a replay page
      for (let t = 0; t < 3; t++) await txn(2000, `t${t}`);
      const rev = await s.put("big/last", "v");
      const batches: WatchEvent[][] = [];
      let total = 0;
      await new Promise<void>((resolve, reject) => {
        const w = s.watch("big/", 1, (evs) => {
          batches.push(evs);
          total += evs.length;
          if (evs.at(-1)?.revision === rev) {
            w.cancel();
            resolve();
          }
        }, reject);
      });
      assert.equal(total, 6000 + 3 * 2000 + 1);
      assert.ok(batches.length >= 3, `replayed in ${batches.length} batches`);
      const revisionsIn = batches.map((b) => new Set(b.map((e) => e.revision)));
      for (let i = 1; i < revisionsIn.length; i++) {
        for (const r of revisionsIn[i] ?? []) assert.ok(!revisionsIn[i - 1]?.has(r), `revision ${r} split across batches`);
      }
    }));

  void test("leases due at the same check expire in one write", () => {
    const manual = new ManualClock();
    return withSqlite({ clock: manual }, async (s) => {
      const a = await s.grantLease(1000);
      const b = await s.grantLease(1000);
      await s.put("ex/a", "a", { lease: a });
      const rev = await s.put("ex/b", "b", { lease: b });
      const c = new Collector();
      const w = s.watch("ex/", rev + 1, c.onEvents, c.onError);
      manual.advance(1200);
      await c.until("2 delete events", () => c.events.length >= 2);
      w.cancel();
      assert.deepEqual(c.summary(), [`delete ex/a@${rev + 1}`, `delete ex/b@${rev + 1}`]);
    });
  });

  void test("a stall of the process renews every lease instead of expiring them", () => {
    const manual = new ManualClock();
    let stalled = 0;
    // Time jumps while no timer runs, as under SIGSTOP or a long GC pause.
    const stallable: Clock = { now: () => manual.now() + stalled, setTimeout: (fn, ms) => manual.setTimeout(fn, ms) };
    return withSqlite({ clock: stallable, leaseCheckMs: 200 }, async (s) => {
      const a = await s.grantLease(5000);
      const b = await s.grantLease(5000);
      await s.put("st/a", "a", { lease: a });
      await s.put("st/b", "b", { lease: b });
      stalled += 60_000;
      manual.advance(200); // the overdue check runs at last
      await s.put("barrier", "x");
      assert.notEqual(await s.get("st/a"), null, "the stalled check must not expire leases");
      manual.advance(4000);
      await s.put("barrier", "x");
      assert.notEqual(await s.get("st/b"), null, "leases got a fresh TTL after the stall");
      await s.keepAlive(a);
      manual.advance(1200); // b is now 5200 past its renewal, a only 1200 past its keep-alive
      await s.put("barrier", "x");
      assert.equal(await s.get("st/b"), null, "after the fresh TTL, expiry works again");
      assert.notEqual(await s.get("st/a"), null);
      // A keep-alive arriving right after a stall, before any check ran, also finds its lease.
      stalled += 60_000;
      await s.keepAlive(a);
    });
  });

  void test("after reopen every lease gets a fresh TTL", async () => {
    const manual = new ManualClock();
    const path = tempDb();
    const s1 = openSqliteStore(path, { clock: manual });
    const id = await s1.grantLease(1000);
    await s1.put("fr/a", "a", { lease: id });
    await s1.close();
    manual.advance(10_000); // the server was down far longer than the TTL
    const s2 = openSqliteStore(path, { clock: manual });
    try {
      manual.advance(800);
      await s2.put("barrier", "x");
      assert.notEqual(await s2.get("fr/a"), null, "a lease must not expire for the server's own downtime");
      await s2.keepAlive(id);
      manual.advance(1200);
      await s2.put("barrier", "x");
      assert.equal(await s2.get("fr/a"), null);
      await assert.rejects(s2.keepAlive(id), LeaseNotFoundError);
    } finally {
      await s2.close();
    }
  });

  void test("a second store on the same file fails with TIFFIN_UNAVAILABLE", () =>
    withSqlite({}, async (_s, path) => {
      assert.throws(() => openSqliteStore(path), (e) => e instanceof TiffinError && e.code === ErrorCodes.Unavailable && e.message.includes(path));
    }));

  void test("kill -9 right after acknowledged writes loses none of them", { timeout: 60_000 }, async () => {
    const path = tempDb();
    const script = join(import.meta.dirname, "testdata", "crash-writer.ts");
    const child = spawn(process.execPath, [script, path], { stdio: ["ignore", "pipe", "pipe"] });
    const acked = new Map<number, number>();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        let buf = "";
        const timer = setTimeout(() => reject(new Error(`writer stalled after ${acked.size} acks; stderr: ${stderr}`)), 30_000);
        child.on("exit", (code) => reject(new Error(`writer exited early (${code}): ${stderr}`)));
        child.stdout.on("data", (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split("\n");
          buf = lines.pop() ?? ""; // a line cut by the kill is not an acknowledgement
          for (const line of lines) {
            const [n, rev] = line.split(" ").map(Number);
            if (n !== undefined && rev !== undefined) acked.set(n, rev);
          }
          if (acked.size >= 2000 && child.exitCode === null) {
            clearTimeout(timer);
            child.kill("SIGKILL");
            resolve();
          }
        });
      });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once("exit", r)));
    }
    const s = openSqliteStore(path);
    try {
      const rev = await s.revision();
      for (const [n, r] of acked) {
        const kv = await s.get(`crash/${n}`);
        assert.deepEqual([kv?.value, kv?.modRevision], [`value-${n}`, r], `acknowledged write ${n} at revision ${r}`);
        if (n % 5 === 0) assert.equal((await s.get(`crash/${n}/b`))?.modRevision, r, `txn ${n} is whole`);
        assert.ok(r <= rev);
      }
    } finally {
      await s.close();
    }
    // The file is consistent: intact pages, one revision per write without gaps, events matching keys.
    const db = new DatabaseSync(path);
    try {
      assert.deepEqual(db.prepare("PRAGMA integrity_check").all().map((r) => r.integrity_check), ["ok"]);
      const meta = db.prepare("SELECT value FROM meta WHERE name = 'revision'").get()?.value;
      const ev = db.prepare("SELECT count(DISTINCT rev) AS n, min(rev) AS lo, max(rev) AS hi, count(*) AS rows FROM events").get();
      assert.deepEqual([ev?.n, ev?.lo, ev?.hi], [meta, 1, meta]);
      const kv = db.prepare("SELECT count(*) AS n, max(mod_rev) AS hi FROM kv").get();
      assert.deepEqual([kv?.n, kv?.hi], [ev?.rows, meta]);
    } finally {
      db.close();
    }
  });
});
