// The etcd store next to the SQLite one on the same workloads: one-by-one awaited puts (latency),
// concurrent puts (throughput), compare-and-swap txns, a 10,000-key range and a watch replay.
// etcd runs on loopback (started here, like the tests do), 1 member and 3 members.
//
//   node bench/state-etcd.ts [--puts 1000] [--runs 3]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openEtcdStore } from "../src/state/etcd.ts";
import { startEtcd } from "../src/state/etcd-testing.ts";
import { openSqliteStore } from "../src/state/index.ts";
import type { Store } from "../src/state/index.ts";

const { values } = parseArgs({ options: { puts: { type: "string", default: "1000" }, runs: { type: "string", default: "3" } } });
const PUTS = Number(values.puts);
const RUNS = Number(values.runs);
/** A value about the size of an attempt state report. */
const VALUE = JSON.stringify({ state: "running", host: "h-0042", attempt: "a-7f3e9c", pid: 12345, startedAt: 1_700_000_000_000, exit: null, reason: null });

type Workload = [label: string, run: (s: Store, round: number) => Promise<unknown>];
const workloads: Workload[] = [
  [
    `${PUTS} puts awaited one by one`,
    async (s, r) => {
      for (let i = 0; i < PUTS; i++) await s.put(`seq/${r}/${i}`, VALUE);
    },
  ],
  [`${PUTS} puts issued concurrently`, (s, r) => Promise.all(Array.from({ length: PUTS }, (_, i) => s.put(`con/${r}/${i}`, VALUE)))],
  [
    `${PUTS} compare-and-swap txns, concurrently`,
    (s, r) =>
      Promise.all(
        Array.from({ length: PUTS }, (_, i) =>
          s.txn({ compare: [{ key: `con/${r}/${i}`, target: "version", op: ">", value: 0 }], success: [{ type: "put", key: `con/${r}/${i}`, value: VALUE }] }),
        ),
      ),
  ],
  [`10 txns of 100 puts, one after another`, async (s, r) => {
    for (let t = 0; t < 10; t++) await s.txn({ compare: [], success: Array.from({ length: 100 }, (_, i) => ({ type: "put" as const, key: `txn/${r}/${t}/${i}`, value: VALUE })) });
  }],
  [`range of ${PUTS * 2} keys`, (s) => s.range("")],
  [
    `watch replay of the last ${PUTS} revisions`,
    async (s) => {
      const to = await s.revision();
      await new Promise<void>((resolve, reject) => {
        const w = s.watch("", to - PUTS + 1, (evs) => {
          if ((evs.at(-1)?.revision ?? 0) >= to) {
            w.cancel();
            resolve();
          }
        }, reject);
      });
    },
  ],
];

async function measure(name: string, open: () => Promise<{ store: Store; close: () => Promise<void> }>): Promise<Map<string, number>> {
  const times = new Map<string, number[]>();
  for (let round = 0; round < RUNS; round++) {
    const { store, close } = await open();
    try {
      for (const [label, run] of workloads) {
        const t = performance.now();
        await run(store, round);
        const list = times.get(label) ?? [];
        list.push(performance.now() - t);
        times.set(label, list);
      }
    } finally {
      await close();
    }
  }
  const medians = new Map<string, number>();
  for (const [label, list] of times) medians.set(label, list.sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0);
  process.stderr.write(`${name}: done\n`);
  return medians;
}

const sqlite = await measure("sqlite", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-bench-etcd-"));
  const store = openSqliteStore(join(dir, "state.db"));
  return { store, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
});
const etcd = async (members: 1 | 3) =>
  measure(`etcd ${members}`, async () => {
    const cluster = await startEtcd({ members });
    const store = await openEtcdStore(cluster.endpoints, { callTimeoutMs: 30_000 });
    return { store, close: async () => (await store.close(), await cluster.stop()) };
  });
const one = await etcd(1);
const three = await etcd(3);

console.log(`node ${process.version}, ${new Date().toISOString().slice(0, 10)}, median of ${RUNS}; rerun: node bench/state-etcd.ts`);
console.log(`| workload | SQLite (synchronous=full) | etcd, 1 member | etcd, 3 members |`);
console.log(`| --- | --- | --- | --- |`);
const ms = (x: number | undefined): string => `${(x ?? 0).toFixed(0)} ms`;
for (const [label] of workloads) console.log(`| ${label} | ${ms(sqlite.get(label))} | ${ms(one.get(label))} | ${ms(three.get(label))} |`);
