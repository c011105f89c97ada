// The mirror over a real SQLite store with corrupt records in it: each is reported (key, field path)
// and kept out of every index, the rest loads, and a later good write replaces it.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pino } from "pino";
import { openSqliteStore } from "../state/sqlite.ts";
import { CompactedError } from "../state/store.ts";
import { wrapStore } from "../state/store-wrap.ts";
import type { Store } from "../state/store.ts";
import { attemptKey, jobKey, Kinds, taskKey } from "./kinds.ts";
import { changeAs, Mirror } from "./mirror.ts";
import type { Change } from "./mirror.ts";
import { attempt, task } from "./testing/fixtures.ts";

async function withStore(fn: (store: Store, logs: Record<string, unknown>[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-mirror-"));
  const store = openSqliteStore(join(dir, "state.db"), { synchronous: "normal" });
  const logs: Record<string, unknown>[] = [];
  try {
    await fn(store, logs);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const logger = (logs: Record<string, unknown>[]) => pino({ level: "warn" }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });

void test("corrupt stored records are reported with key and field path and skipped; the rest loads", () =>
  withStore(async (store, logs) => {
    await store.put(taskKey("web", 0), Kinds.task.encode(task(0)));
    await store.put(taskKey("web", 1), JSON.stringify({ ...task(1), hostId: 42 }));
    await store.put(attemptKey("a0"), Kinds.attempt.encode(attempt("a0", 0)));
    await store.put(attemptKey("a1"), "{\"id\": \"a1\", trailing");
    await store.put(jobKey("web"), JSON.stringify({ name: "web", version: "one", removedAt: null, updatedAt: 0 }));
    const m = await Mirror.load(store, logger(logs));
    try {
      assert.equal(m.tasks.get("web")?.get(0)?.value.hostId, "h1", "the good task loads");
      assert.equal(m.tasks.get("web")?.get(1), undefined, "the task with a numeric hostId is not used");
      assert.deepEqual([...(m.tasksByHost.get("h1") ?? [])], ["web/0"]);
      assert.ok(m.attempts.has("a0"));
      assert.equal(m.attempts.has("a1"), false, "the attempt that is not JSON is not used");
      assert.equal(m.jobs.has("web"), false);
      assert.deepEqual(m.corrupt.get(taskKey("web", 1)), { key: taskKey("web", 1), path: "hostId", message: "Invalid input: expected string, received number" });
      assert.equal(m.corrupt.get(jobKey("web"))?.path, "version");
      assert.match(m.corrupt.get(attemptKey("a1"))?.message ?? "", /not JSON/);
      const warned = logs.filter((l) => l["msg"] === "corrupt stored value skipped").map((l) => `${String(l["key"])} ${String(l["path"])}`).sort();
      assert.deepEqual(warned, [`${attemptKey("a1")} `, `${jobKey("web")} version`, `${taskKey("web", 1)} hostId`]);
      // Its revision is known, so a write comparing on it can replace it.
      assert.notEqual(m.modRevision(taskKey("web", 1)), 0);
      const r = await store.txn({ compare: [{ key: taskKey("web", 1), target: "modRevision", op: "==", value: m.modRevision(taskKey("web", 1)) }], success: [{ type: "put", key: taskKey("web", 1), value: Kinds.task.encode(task(1)) }] });
      assert.ok(r.succeeded);
      await m.waitFor(r.revision);
      assert.equal(m.tasks.get("web")?.get(1)?.value.hostId, "h1");
      assert.equal(m.corrupt.has(taskKey("web", 1)), false);
    } finally {
      m.close();
    }
  }));

void test("a corrupt value arriving by the watch replaces the good one in no index", () =>
  withStore(async (store, logs) => {
    const m = await Mirror.load(store, logger(logs));
    const seen: Change[] = [];
    m.onChange((changes) => void seen.push(...changes));
    try {
      await m.waitFor(await store.put(attemptKey("a0"), Kinds.attempt.encode(attempt("a0", 0))));
      assert.ok(m.attemptsByHost.get("h1")?.has("a0"));
      await m.waitFor(await store.put(attemptKey("a0"), JSON.stringify({ ...attempt("a0", 0), ports: { http: "80" } })));
      assert.equal(m.attempts.has("a0"), false, "the corrupt update is not used, nor the value it replaced");
      assert.equal(m.attemptsByHost.has("h1"), false);
      assert.equal(m.corrupt.get(attemptKey("a0"))?.path, "ports.http");
      // Listeners see typed changes: the good value went, no corrupt one came.
      const typed = seen.map((c) => changeAs(c, "attempt")).filter((c) => c !== null);
      assert.deepEqual(typed.map((c) => [c.prev?.state ?? null, c.next?.state ?? null]), [[null, "running"], ["running", null]]);
      assert.equal(changeAs(seen[0]!, "task"), null);
    } finally {
      m.close();
    }
  }));

void test("a key under a kind's prefix that is not of its layout is reported and indexed nowhere (Kind.parseKey)", () =>
  withStore(async (store, logs) => {
    const job = { name: "web", version: 1, removedAt: null, updatedAt: 0 };
    await store.put(jobKey("web"), Kinds.job.encode(job));
    await store.put(`${Kinds.job.prefix}`, Kinds.job.encode(job)); // no name after the prefix
    await store.put(`${Kinds.task.prefix}web/zero`, Kinds.task.encode(task(0))); // index not a number
    await store.put(`${Kinds.attempt.prefix}`, Kinds.attempt.encode(attempt("a0", 0))); // no id
    const m = await Mirror.load(store, logger(logs));
    try {
      assert.deepEqual([...m.jobs.keys()], ["web"], "only the job with a name");
      assert.equal(m.tasks.size, 0, "the task key without an index names no task");
      assert.equal(m.attempts.size, 0);
      assert.deepEqual([...m.corrupt.keys()].sort(), [Kinds.attempt.prefix, Kinds.job.prefix, `${Kinds.task.prefix}web/zero`].sort());
      assert.match(m.corrupt.get(Kinds.job.prefix)?.message ?? "", /not a key of a job/);
    } finally {
      m.close();
    }
  }));

/** The store with a watch the test breaks: while cut, the watch's events are lost (a stream being
 * re-established past compacted history), and `fail` reports the failure as the store would. */
function breakable(store: Store): { store: Store; cut: () => void; fail: () => void } {
  let cut = false;
  let onError: ((err: Error) => void) | undefined;
  return {
    cut: () => void (cut = true),
    fail: () => {
      cut = false;
      onError?.(new CompactedError(1));
    },
    store: wrapStore(store, {
      watch: (p, from, on, err) => {
        onError = err;
        return store.watch(p, from, (evs) => void (cut || on(evs)), err);
      },
    }),
  };
}

// Issue 15's suspect (a reload replacing state without telling the listeners) pinned: every consumer
// (endpoint controller, reconciler, assignment streams) reacts only to change callbacks.
void test("a reload after a failed watch hands every change it missed to the listeners, key by key", () =>
  withStore(async (real, logs) => {
    const b = breakable(real);
    await real.put(taskKey("web", 0), Kinds.task.encode(task(0)));
    await real.put(taskKey("web", 1), Kinds.task.encode(task(1)));
    const m = await Mirror.load(b.store, logger(logs));
    const seen: Change[] = [];
    m.onChange((changes) => void seen.push(...changes));
    try {
      b.cut();
      await real.put(taskKey("web", 0), Kinds.task.encode(task(0, { hostId: "h2" })));
      await real.delete(taskKey("web", 1));
      const last = await real.put(attemptKey("a0"), Kinds.attempt.encode(attempt("a0", 0)));
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(m.attempts.has("a0"), false, "the cut watch brought nothing");
      b.fail();
      await m.waitFor(last);
      const got = (key: string): string[] => seen.filter((c) => c.key === key).map((c) => `${JSON.stringify((c.prev as { hostId?: string } | null)?.hostId ?? null)}->${JSON.stringify((c.next as { hostId?: string } | null)?.hostId ?? null)}`);
      assert.deepEqual(got(taskKey("web", 0)), ['"h1"->"h2"'], "the changed task");
      assert.deepEqual(got(taskKey("web", 1)), ['"h1"->null'], "the deleted task");
      assert.deepEqual(got(attemptKey("a0")), ['null->"h1"'], "the new attempt");
      assert.deepEqual([...(m.tasksByHost.get("h2") ?? [])], ["web/0"]);
      assert.equal(m.tasksByHost.has("h1"), false);
      // And it follows the store again from there.
      await m.waitFor(await real.put(attemptKey("a1"), Kinds.attempt.encode(attempt("a1", 1))));
      assert.ok(m.attempts.has("a1"));
      assert.equal(m.following, true);
    } finally {
      m.close();
    }
  }));
