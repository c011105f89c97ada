// GET /v1/watch against a real server on a real SQLite file: list + watch, resume from a revision or
// Last-Event-ID, the allow-list on the wire, expiry after compaction, bookmarks, and resuming on
// another server of the same store.

import { test } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { ApiClient } from "../api/client.ts";
import type { WatchMessage } from "../api/watch-types.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import { CompactedError } from "../state/store.ts";
import type { Store, Watch, WatchEvent as StoreWatchEvent } from "../state/store.ts";
import { startServer } from "./main.ts";
import { specOf } from "./testing/fixtures.ts";
import { eventually, FakeAgent, readFor, startTestServer, tempDir } from "./testing/harness.ts";

/** Collects what `api.watch(opts)` yields until stopped. */
function collect(api: ApiClient, opts: Parameters<ApiClient["watch"]>[0]): { seen: WatchMessage[]; stop: () => Promise<void>; error: () => unknown } {
  const ac = new AbortController();
  const seen: WatchMessage[] = [];
  let error: unknown = null;
  const done = (async () => {
    try {
      for await (const m of api.watch({ ...opts, signal: ac.signal })) seen.push(m);
    } catch (err) {
      if (!ac.signal.aborted) error = err;
    }
  })();
  return { seen, error: () => error, stop: async () => (ac.abort(), await done) };
}

const names = (ms: WatchMessage[]): string[] => ms.map((m) => (m.type === "bookmark" ? `bookmark` : m.type === "reset" ? "reset" : `${m.type} ${m.kind} ${m.name}`));

void test("watch lists the current objects, bookmarks, then streams typed changes; no token ever crosses", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agent = new FakeAgent(ts.server.url, "alpha");
  await agent.register(ts.server.joinToken);
  const applied = await ts.api.apply(specOf({ name: "web", replicas: 2 }));
  await eventually("tasks created", async () => (await ts.api.job("web")).tasks.length === 2);

  const w = collect(ts.api, { kinds: ["job", "task"] });
  t.after(() => w.stop());
  const bookmark = await eventually("list and bookmark", () => w.seen.find((m) => m.type === "bookmark"));
  const listed = w.seen.slice(0, w.seen.indexOf(bookmark));
  assert.deepEqual(names(listed), ["added job web", "added task web/0", "added task web/1"]);
  const job = listed[0];
  assert.ok(job?.type === "added" && job.kind === "job" && job.object?.version === 1, JSON.stringify(job));
  assert.ok(bookmark.type === "bookmark" && bookmark.revision >= applied.revision);

  await ts.api.removeJob("web");
  const removed = await eventually("the removal streams", () => w.seen.find((m) => m.type === "updated" && m.kind === "job"));
  assert.ok(removed.type === "updated" && removed.kind === "job" && removed.object !== null && removed.object.removedAt !== null);
  assert.ok(!w.seen.some((m) => m.type !== "bookmark" && m.type !== "reset" && m.kind !== "job" && m.kind !== "task"), "only the kinds asked");

  // Every change since revision 1, every kind: tokens are in the store, never on the wire.
  const raw = await readFor(`${ts.server.url}/v1/watch?from=1`, ts.server.adminToken, 400);
  assert.match(raw, /event: added\nid: \d+\ndata: \{"type":"added","kind":"host"/);
  for (const secret of [agent.reg?.hostToken ?? "-", ts.server.adminToken, ts.server.joinToken]) assert.ok(!raw.includes(secret), "a token was streamed");
  assert.doesNotMatch(raw, /hosttokens|secrets|"\/leader"/);
});

void test("watch resumes from ?from= and Last-Event-ID, and says which kinds exist", async (t) => {
  const ts = await startTestServer({ watch: { bookmarkMs: 100 } });
  t.after(() => ts.cleanup());
  const first = await ts.api.apply(specOf({ name: "a" }));
  const second = await ts.api.apply(specOf({ name: "b" }));
  const fromFirst = await readFor(`${ts.server.url}/v1/watch?kinds=job&from=${first.revision}`, ts.server.adminToken, 300);
  assert.deepEqual([...fromFirst.matchAll(/"kind":"job","name":"(\w+)"/g)].map((m) => m[1]), ["a", "b"]);
  const res = await fetch(`${ts.server.url}/v1/watch?kinds=job`, { headers: { authorization: `Bearer ${ts.server.adminToken}`, "last-event-id": String(first.revision) } });
  const reader = res.body?.getReader();
  const text = new TextDecoder().decode((await reader?.read())?.value) + new TextDecoder().decode((await reader?.read())?.value);
  await reader?.cancel();
  assert.match(text, new RegExp(`id: ${second.revision}\\ndata: \\{"type":"added","kind":"job","name":"b"`));
  assert.doesNotMatch(text, /"name":"a"/, "Last-Event-ID resumes after the revision it names");

  const bad = await fetch(`${ts.server.url}/v1/watch?kinds=job,secret`, { headers: { authorization: `Bearer ${ts.server.adminToken}` } });
  assert.equal(bad.status, 400);
  const body = (await bad.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "TIFFIN_BAD_REQUEST");
  assert.match(body.error.message, /unknown kind "secret"; the kinds are job, version, task/);
  const anon = await fetch(`${ts.server.url}/v1/watch`);
  assert.equal(anon.status, 401);
});

void test("a compacted revision ends the watch with TIFFIN_WATCH_EXPIRED; the client lists again after a reset", async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(join(dir, "state.db"));
  const ts = await startTestServer({ dir, store });
  t.after(async () => {
    await ts.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await ts.api.apply(specOf({ name: "a" }));
  const b = await ts.api.apply(specOf({ name: "b" }));
  await store.compact(b.revision);

  // An HTTP 410 when the start is known to be compacted: EventSource gives up instead of reconnecting.
  const gone = await fetch(`${ts.server.url}/v1/watch?kinds=job&from=1`, { headers: { authorization: `Bearer ${ts.server.adminToken}` } });
  assert.equal(gone.status, 410);
  const body = (await gone.json()) as { error: { code: string; message: string; hint: string }; compactRevision: number };
  assert.equal(body.error.code, "TIFFIN_WATCH_EXPIRED");
  assert.match(body.error.message, /^watch: revision 1 is no longer kept: the store's history starts at \d+$/);
  assert.match(body.error.hint, /^list again/);
  assert.equal(body.compactRevision, b.revision);
  const lastEventId = await fetch(`${ts.server.url}/v1/watch`, { headers: { authorization: `Bearer ${ts.server.adminToken}`, "last-event-id": "1" } });
  assert.equal(lastEventId.status, 410);
  await lastEventId.body?.cancel();

  await assert.rejects(async () => {
    for await (const _ of ts.api.watch({ kinds: ["job"], from: 1, relist: false })) assert.fail("nothing before the expiry");
  }, { name: "WatchExpiredError", code: "TIFFIN_WATCH_EXPIRED" });

  const w = collect(ts.api, { kinds: ["job"], from: 1 });
  t.after(() => w.stop());
  await eventually("relisted", () => w.seen.some((m) => m.type === "bookmark"));
  assert.deepEqual(names(w.seen), ["reset", "added job a", "added job b", "bookmark"]);
});

void test("a quiet watch gets bookmarks as the store moves on", async (t) => {
  const ts = await startTestServer({ watch: { bookmarkMs: 100 } });
  t.after(() => ts.cleanup());
  const w = collect(ts.api, { kinds: ["host"] });
  t.after(() => w.stop());
  await eventually("listed", () => w.seen.length > 0);
  const applied = await ts.api.apply(specOf({ name: "a" }));
  await eventually("a bookmark at the apply's revision", () => w.seen.some((m) => m.type === "bookmark" && m.revision >= applied.revision));
  assert.ok(w.seen.every((m) => m.type === "bookmark"), names(w.seen).join(", "));
});

void test("a watch resumes on another server of the same store, without gaps or repeats", async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(join(dir, "state.db"));
  const a = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log: "silent" });
  const b = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log: "silent" });
  let aClosed = false;
  t.after(async () => {
    if (!aClosed) await a.close();
    await b.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const both = new ApiClient({ addr: `${a.url},${b.url}`, token: a.adminToken });
  const viaB = new ApiClient({ addr: b.url, token: b.adminToken });
  await viaB.apply(specOf({ name: "j0" }));
  const w = collect(both, { kinds: ["job"], maxRetryMs: 200 });
  t.after(() => w.stop());
  await eventually("listed", () => w.seen.some((m) => m.type === "bookmark"));
  assert.equal(both.addr, a.url);
  await viaB.apply(specOf({ name: "j1" }));
  await eventually("j1 via a", () => w.seen.some((m) => m.type === "added" && m.name === "j1"));
  aClosed = true;
  await a.close();
  for (const n of ["j2", "j3"]) await viaB.apply(specOf({ name: n }));
  await eventually("j2 and j3 via b", () => w.seen.filter((m) => m.type === "added").length === 4);
  assert.equal(both.addr, b.url);
  assert.deepEqual(names(w.seen.filter((m) => m.type !== "bookmark")), ["added job j0", "added job j1", "added job j2", "added job j3"]);
  assert.equal(w.error(), null);
});

void test("watch ?job= streams only those jobs' objects, in the list and after; host kinds refuse the filter", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agent = new FakeAgent(ts.server.url, "alpha");
  await agent.register(ts.server.joinToken);
  await ts.api.apply(specOf({ name: "web", replicas: 2 }));
  await ts.api.apply(specOf({ name: "api", replicas: 1 }));
  await eventually("attempts created", async () => (await ts.api.job("api")).tasks.every((x) => x.attemptId !== null) && (await ts.api.job("web")).tasks.every((x) => x.attemptId !== null));

  const w = collect(ts.api, { kinds: ["job", "task", "attempt"], jobs: ["web"] });
  t.after(() => w.stop());
  await eventually("listed", () => w.seen.some((m) => m.type === "bookmark"));
  await ts.api.removeJob("api");
  await ts.api.removeJob("web");
  await eventually("web's removal", () => w.seen.some((m) => m.type === "updated" && m.kind === "job" && m.name === "web"));
  const about = w.seen.flatMap((m) => (m.type === "bookmark" || m.type === "reset" ? [] : [m.kind === "attempt" ? m.object?.job ?? "?" : m.name.split("/")[0]]));
  assert.ok(about.length >= 5 && about.every((j) => j === "web"), about.join(" "));

  const bad = await fetch(`${ts.server.url}/v1/watch?kinds=host&job=web`, { headers: { authorization: `Bearer ${ts.server.adminToken}` } });
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: { message: string } }).error.message, /job filters .*host/);
});

void test("a watcher that stops reading is cut off once the server holds too much for it, and can resume", async (t) => {
  const ts = await startTestServer({ watch: { maxBufferedBytes: 256 * 1024, stallMs: 300 } });
  t.after(() => ts.cleanup());
  const first = await ts.api.apply(specOf({ name: "big" }));
  // A client that sends its request, reads the headers, then reads nothing more.
  const socket = connect(Number(new URL(ts.server.url).port), "127.0.0.1");
  t.after(() => void socket.destroy());
  let closed = false;
  socket.on("close", () => (closed = true));
  socket.on("data", () => undefined);
  socket.on("error", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  socket.write(`GET /v1/watch?kinds=version&from=${first.revision} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ts.server.adminToken}\r\n\r\n`);
  await new Promise<void>((resolve) => socket.once("data", () => resolve()));
  socket.pause();
  // Versions of ~600 KB each: far more than the kernel's socket buffers hold.
  const env = Object.fromEntries([0, 1, 2, 3, 4, 5].map((i) => [`PAD${i}`, "x".repeat(100_000)]));
  let last = first.revision;
  for (let v = 0; v < 20; v++) last = (await ts.api.apply(specOf({ name: "big", env: { ...env, V: String(v) } }))).revision;
  await new Promise((r) => setTimeout(r, 1000));
  // Reading again, the client gets what the kernel held, then the end: the server let it go.
  socket.resume();
  await eventually("the slow watcher was cut off", () => closed, 10_000);
  // The server still serves, and the watcher resumes from where it was.
  const resumed: number[] = [];
  for await (const m of ts.api.watch({ kinds: ["version"], from: first.revision })) {
    if (m.type === "added") resumed.push(m.revision);
    if (m.type !== "reset" && m.revision >= last) break;
  }
  assert.ok(resumed.length >= 2 && resumed.at(-1) === last, `resumed through ${last}: ${resumed.join(",")}`);
});

void test("compacted after the start was checked: the stream ends with event: expired, and the client lists again", async (t) => {
  const dir = tempDir();
  const real = openSqliteStore(join(dir, "state.db"));
  // The store compacts between the route's check and its watch (far-future start: nothing to check).
  const racing: Store = new Proxy(real, {
    get(target, prop) {
      // Methods run on the store itself (its private fields are not the proxy's).
      const own = Reflect.get(target, prop, target) as unknown;
      if (prop !== "watch") return typeof own === "function" ? (own as (...a: unknown[]) => unknown).bind(target) : own;
      return (prefix: string, from: number, onEvents: (e: StoreWatchEvent[]) => void, onError?: (err: Error) => void): Watch => {
        if (from !== 1_000_000) return target.watch(prefix, from, onEvents, onError);
        setImmediate(() => onError?.(new CompactedError(42)));
        return { cancel: () => undefined };
      };
    },
  });
  const ts = await startTestServer({ dir, store: racing });
  t.after(async () => {
    await ts.stop();
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const raw = await readFor(`${ts.server.url}/v1/watch?kinds=job&from=1000000`, ts.server.adminToken, 300);
  assert.match(raw, /event: expired\ndata: \{"code":"TIFFIN_WATCH_EXPIRED","message":"watch: revision 1000000 is no longer kept: the store's history starts at 42","hint":"list again[^"]*","compactRevision":42\}\n\n$/);
  const got: string[] = [];
  for await (const m of ts.api.watch({ kinds: ["job"], from: 1_000_000 })) {
    got.push(m.type);
    if (m.type === "bookmark") break;
  }
  assert.deepEqual(got, ["reset", "bookmark"]);
});

void test("removed objects carry their last state, so job= and host= (by name) filter removals too", async (t) => {
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  const agents = new Map<string, FakeAgent>();
  for (const name of ["alpha", "beta"]) {
    const a = new FakeAgent(ts.server.url, name);
    await a.register(ts.server.joinToken, { labels: { rack: `rack-${name}` } });
    agents.set(a.hostId, a);
  }
  const alpha = [...agents.values()][0]?.hostId ?? "";
  for (const name of ["web", "api"]) await ts.api.apply(specOf({ name, replicas: 2, spread: "rack" }));
  await eventually("attempts on both hosts", async () => {
    const all = [...(await ts.api.job("web")).tasks, ...(await ts.api.job("api")).tasks];
    return all.length === 4 && all.every((x) => x.attemptId !== null) && new Set(all.map((x) => x.hostId)).size === 2;
  });

  const every = collect(ts.api, { kinds: ["attempt"] });
  const web = collect(ts.api, { kinds: ["attempt"], jobs: ["web"] });
  const onAlpha = collect(ts.api, { kinds: ["task", "attempt", "host"], hosts: ["alpha"] });
  t.after(async () => (await every.stop(), await web.stop(), await onAlpha.stop()));
  for (const w of [every, web, onAlpha]) await eventually("listed", () => w.seen.some((m) => m.type === "bookmark"));

  // api is removed; its attempts end, then its tasks and attempts are deleted by the reconciler.
  await ts.api.removeJob("api");
  const stopping = await eventually("api's attempts told to stop", async () => {
    const s = await ts.api.job("api");
    return s.tasks.every((x) => x.attempts.every((a) => a.desired === "stop")) ? s : null;
  });
  for (const x of stopping.tasks) for (const a of x.attempts) await agents.get(a.hostId)?.report([{ id: a.id, state: "exited", endedAt: Date.now() }]);
  const removed = await eventually("api's attempts removed", () => {
    const r = every.seen.filter((m) => m.type === "removed" && m.kind === "attempt");
    return r.length >= 2 ? r : null;
  });
  assert.deepEqual(removed.map((m) => (m.type !== "bookmark" && m.type !== "reset" && m.kind === "attempt" ? m.object?.job : "?")), ["api", "api"], "a removal carries the attempt it removed");
  await eventually("the watchers caught up", () => onAlpha.seen.some((m) => m.type === "removed"));

  const jobOf = (m: WatchMessage): string => (m.type === "bookmark" || m.type === "reset" ? "-" : m.kind === "attempt" ? m.object?.job ?? "?" : "-");
  assert.deepEqual(web.seen.filter((m) => m.type === "removed").map(jobOf), [], "job=web gets no removal of api's attempts");
  const hostOf = (m: WatchMessage): string => (m.type === "bookmark" || m.type === "reset" ? alpha : m.kind === "host" ? m.name : m.kind === "task" || m.kind === "attempt" ? m.object?.hostId ?? "?" : "?");
  assert.deepEqual(onAlpha.seen.map(hostOf).filter((h) => h !== alpha), [], "host=alpha gets only alpha's objects");
  assert.ok(onAlpha.seen.some((m) => m.type === "removed" && m.kind === "attempt" && m.object?.job === "api"), "and alpha's removed attempt of api");
  assert.ok(onAlpha.seen.some((m) => m.type === "added" && m.kind === "host" && m.name === alpha), "the host itself, named by its name in the query");
});

void test("a watch from a revision says at once when its history is replayed, though the newest changes were filtered out", async (t) => {
  // `tiffin events -n NS` / `--job` reads history up to the head and stops at a bookmark there; the
  // periodic one (5 s) made it wait whenever the newest change was another namespace's or job's.
  const ts = await startTestServer();
  t.after(() => ts.cleanup());
  await ts.api.apply(specOf({ name: "a" }));
  const b = await ts.api.apply(specOf({ name: "b" }));
  const started = Date.now();
  const w = collect(ts.api, { kinds: ["job"], jobs: ["a"], from: 1 });
  t.after(() => w.stop());
  await eventually("a bookmark at b's revision", () => w.seen.some((m) => m.type === "bookmark" && m.revision >= b.revision));
  assert.ok(Date.now() - started < 2000, `the bookmark came after ${Date.now() - started} ms`);
  assert.deepEqual(names(w.seen), ["added job a", "bookmark"]);
});
