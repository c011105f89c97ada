// What the resource layer costs the server's mirror: Mirror.load of N tasks and N attempts (each
// decoded through its kind), then updates of attempts arriving through the watch. Run it on this
// checkout and, with --root, on another checkout of the repository (same machine, same hour) to
// compare; the machine is shared, so take the median of several rounds.
//
//   node bench/mirror.ts [--tasks 100000] [--updates 20000] [--rounds 3] [--root /path/to/other/checkout]

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import type { Mirror as MirrorClass } from "../src/server/mirror.ts";
import type { attempt as attemptFn, task as taskFn } from "../src/server/testing/fixtures.ts";
import type { openSqliteStore as openFn } from "../src/state/index.ts";
import type { Op } from "../src/state/index.ts";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "100000" },
    updates: { type: "string", default: "20000" },
    rounds: { type: "string", default: "3" },
    root: { type: "string", default: resolve(import.meta.dirname, "..") },
  },
});
const N = Number(values.tasks);
const U = Number(values.updates);
const root = values.root;

// Loaded from `root`, so the same benchmark measures another checkout's code.
const { openSqliteStore } = (await import(`${root}/src/state/index.ts`)) as { openSqliteStore: typeof openFn };
const { Mirror } = (await import(`${root}/src/server/mirror.ts`)) as { Mirror: typeof MirrorClass };
const { attempt, task } = (await import(`${root}/src/server/testing/fixtures.ts`)) as { attempt: typeof attemptFn; task: typeof taskFn };

const dir = mkdtempSync(join(tmpdir(), "tiffin-bench-mirror-"));
const store = openSqliteStore(join(dir, "state.db"), { synchronous: "normal" });
const usage = { at: 1, cpuSeconds: 2, cpuCores: 0.1, memoryBytes: 1e6, memoryPeakBytes: 2e6, pids: 3 };
for (let b = 0; b < N; b += 2000) {
  const ops: Op[] = [];
  for (let i = b; i < Math.min(N, b + 2000); i++) {
    ops.push({ type: "put", key: `/tasks/web/${String(i).padStart(6, "0")}`, value: JSON.stringify(task(i, { hostId: `h${i % 2000}`, attemptId: `a${i}` })) });
    ops.push({ type: "put", key: `/attempts/a${i}`, value: JSON.stringify(attempt(`a${i}`, i, { hostId: `h${i % 2000}`, usage })) });
  }
  await store.txn({ compare: [], success: ops });
}
const log = pino({ level: "silent" });
console.log(`mirror of ${root}: ${N} tasks + ${N} attempts, ${U} watched attempt updates`);
for (let r = 0; r < Number(values.rounds); r++) {
  const t0 = performance.now();
  const m = await Mirror.load(store, log);
  const load = performance.now() - t0;
  const t1 = performance.now();
  for (let b = 0; b < U; b += 1000) {
    const ops: Op[] = [];
    for (let i = b; i < Math.min(U, b + 1000); i++) ops.push({ type: "put", key: `/attempts/a${i % N}`, value: JSON.stringify(attempt(`a${i % N}`, i % N, { hostId: `h${i % 2000}`, state: "healthy", pid: r, usage })) });
    await m.waitFor((await store.txn({ compare: [], success: ops })).revision);
  }
  console.log(`round ${r + 1}: load ${load.toFixed(0)} ms, ${U} watched updates ${(performance.now() - t1).toFixed(0)} ms`);
  m.close();
}
await store.close();
rmSync(dir, { recursive: true, force: true });
