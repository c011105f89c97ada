// GET /v1/watch on a real etcd: the same list, resume and expiry as on SQLite (etcd's revisions,
// etcd's compaction).

import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { ApiClient } from "../api/client.ts";
import type { WatchMessage } from "../api/watch-types.ts";
import { openEtcdStore } from "../state/etcd.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import { startServer } from "./main.ts";
import { specOf } from "./testing/fixtures.ts";
import { eventually, tempDir } from "./testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

void test("watch on etcd: list, resume from a revision, 410 below etcd's compaction", { skip }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const dir = tempDir();
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  const store = await openEtcdStore(etcd.endpoints, { prefix: "/tiffin-watch" });
  undo.push(() => store.close());
  const server = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log: "silent" });
  undo.push(() => server.close());
  const api = new ApiClient({ addr: server.url, token: server.adminToken });

  const a = await api.apply(specOf({ name: "a" }));
  const seen: WatchMessage[] = [];
  const ac = new AbortController();
  const following = (async () => {
    for await (const m of api.watch({ kinds: ["job"], signal: ac.signal })) seen.push(m);
  })().catch(() => undefined);
  undo.push(async () => (ac.abort(), await following));
  await eventually("listed", () => seen.some((m) => m.type === "bookmark"));
  const b = await api.apply(specOf({ name: "b" }));
  await eventually("b streamed", () => seen.some((m) => m.type === "added" && m.name === "b"));
  assert.deepEqual(seen.map((m) => (m.type === "bookmark" || m.type === "reset" ? m.type : `${m.type} ${m.name}@${m.revision}`)), [`added a@${a.revision}`, "bookmark", `added b@${b.revision}`]);

  const resumed: string[] = [];
  for await (const m of api.watch({ kinds: ["job"], from: a.revision + 1 })) {
    if (m.type === "added") resumed.push(m.name);
    if (resumed.includes("b")) break;
  }
  assert.deepEqual(resumed, ["b"]);

  await store.compact(b.revision);
  const gone = await fetch(`${server.url}/v1/watch?kinds=job&from=${a.revision}`, { headers: { authorization: `Bearer ${server.adminToken}` } });
  assert.equal(gone.status, 410);
  assert.equal(((await gone.json()) as { error: { code: string } }).error.code, "TIFFIN_WATCH_EXPIRED");
});
