// Throughput of the SQLite store: many small writes from many callers (group commit), big
// transactions, one-by-one awaited writes (one commit each), reads, and a watch replay.
//
//   node bench/state.ts [--puts 10000] [--txns 100] [--txn-size 1000] [--synchronous full|normal|both]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openSqliteStore } from "../src/state/index.ts";
import type { SqliteStore, SyncLevel, WatchEvent } from "../src/state/index.ts";

const { values } = parseArgs({
  options: {
    puts: { type: "string", default: "10000" },
    txns: { type: "string", default: "100" },
    "txn-size": { type: "string", default: "1000" },
    synchronous: { type: "string", default: "both" },
  },
});
const PUTS = Number(values.puts);
const TXNS = Number(values.txns);
const TXN_SIZE = Number(values["txn-size"]);
const levels: SyncLevel[] = values.synchronous === "both" ? ["full", "normal"] : [values.synchronous as SyncLevel];

/** A value about the size of an attempt state report. */
const VALUE = JSON.stringify({ state: "running", host: "h-0042", attempt: "a-7f3e9c", pid: 12345, startedAt: 1_700_000_000_000, exit: null, reason: null });

function line(label: string, ms: number, ops: number, unit: string, s: SqliteStore, before: { commits: number }): void {
  const commits = s.stats().commits - before.commits;
  console.log(`${label.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms  ${Math.round((ops / ms) * 1000).toLocaleString("en").padStart(9)} ${unit}/s  ${String(commits).padStart(5)} commits`);
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function run(sync: SyncLevel): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-bench-state-"));
  const s = openSqliteStore(join(dir, "state.db"), { synchronous: sync });
  try {
    console.log(`\nsynchronous=${sync}`);
    let before = s.stats();
    let ms = await timed(() => Promise.all(Array.from({ length: PUTS }, (_, i) => s.put(`attempts/${i}`, VALUE))));
    line(`${PUTS} single-key puts, issued concurrently`, ms, PUTS, "puts", s, before);

    before = s.stats();
    ms = await timed(() => Promise.all(Array.from({ length: PUTS }, (_, i) => s.put(`attempts/${i}`, VALUE))));
    line(`${PUTS} overwrites, issued concurrently`, ms, PUTS, "puts", s, before);

    before = s.stats();
    const txn = (t: number): Promise<unknown> =>
      s.txn({ compare: [], success: Array.from({ length: TXN_SIZE }, (_, i) => ({ type: "put" as const, key: `tasks/${t}/${i}`, value: VALUE })) });
    ms = await timed(() => Promise.all(Array.from({ length: TXNS }, (_, t) => txn(t))));
    line(`${TXNS} txns of ${TXN_SIZE} puts, issued concurrently`, ms, TXNS * TXN_SIZE, "puts", s, before);

    before = s.stats();
    ms = await timed(async () => {
      for (let t = 0; t < TXNS; t++) await txn(t);
    });
    line(`${TXNS} txns of ${TXN_SIZE} puts, one after another`, ms, TXNS * TXN_SIZE, "puts", s, before);

    before = s.stats();
    const ONE_BY_ONE = 1000;
    ms = await timed(async () => {
      for (let i = 0; i < ONE_BY_ONE; i++) await s.put(`seq/${i}`, VALUE);
    });
    line(`${ONE_BY_ONE} puts awaited one by one`, ms, ONE_BY_ONE, "puts", s, before);

    before = s.stats();
    const CAS = 1000;
    ms = await timed(() =>
      Promise.all(Array.from({ length: CAS }, (_, i) => s.txn({ compare: [{ key: `attempts/${i}`, target: "version", op: ">", value: 0 }], success: [{ type: "put", key: `attempts/${i}`, value: VALUE }] }))),
    );
    line(`${CAS} compare-and-swap txns, concurrently`, ms, CAS, "txns", s, before);

    before = s.stats();
    let n = 0;
    ms = await timed(async () => {
      for (let i = 0; i < 10; i++) n += (await s.range("attempts/")).kvs.length;
    });
    line(`range of ${PUTS} keys, 10 times`, ms, n, "keys", s, before);

    const rev = await s.revision();
    before = s.stats();
    ms = await timed(() => s.range("attempts/", { revision: PUTS }));
    line(`range of ${PUTS} keys at revision ${PUTS} (now ${rev})`, ms, PUTS, "keys", s, before);

    before = s.stats();
    let seen = 0;
    ms = await timed(
      () =>
        new Promise<void>((resolve, reject) => {
          const w = s.watch("", 1, (evs: WatchEvent[]) => {
            seen += evs.length;
            if ((evs.at(-1)?.revision ?? 0) >= rev) {
              w.cancel();
              resolve();
            }
          }, reject);
        }),
    );
    line(`watch replay from revision 1 (${rev} revisions)`, ms, seen, "events", s, before);

    const WATCHERS = 5000;
    let pending = PUTS;
    let done: () => void = () => undefined;
    const all = new Promise<void>((r) => (done = r));
    const watches = Array.from({ length: WATCHERS }, (_, i) =>
      s.watch(`hosts/h${i}/`, rev + 1, (evs) => {
        pending -= evs.length;
        if (pending === 0) done();
      }),
    );
    before = s.stats();
    ms = await timed(async () => {
      await Promise.all(Array.from({ length: PUTS }, (_, i) => s.put(`hosts/h${i % WATCHERS}/attempts/${i}`, VALUE)));
      await all;
    });
    for (const w of watches) w.cancel();
    line(`${PUTS} puts delivered to ${WATCHERS} host watchers`, ms, PUTS, "events", s, before);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}; rerun: node bench/state.ts`);
for (const level of levels) await run(level);
