// Child process of the crash test in ../sqlite.test.ts: writes forever from several concurrent
// writers and prints "n revision" for each acknowledged write, until it is killed.
import { openSqliteStore } from "../sqlite.ts";

const path = process.argv[2];
if (!path) throw new Error("usage: crash-writer.ts <db path>");
const store = openSqliteStore(path);
let next = 0;

async function writer(): Promise<void> {
  for (;;) {
    const n = next++;
    // Every fifth write is a two-key transaction: both keys must survive together.
    const rev =
      n % 5 === 0
        ? (await store.txn({ compare: [], success: [{ type: "put", key: `crash/${n}`, value: `value-${n}` }, { type: "put", key: `crash/${n}/b`, value: `b-${n}` }] })).revision
        : await store.put(`crash/${n}`, `value-${n}`);
    // Pipes are synchronous on Linux: once this returns, the parent can read the line.
    process.stdout.write(`${n} ${rev}\n`);
  }
}

await Promise.all(Array.from({ length: 8 }, () => writer()));
