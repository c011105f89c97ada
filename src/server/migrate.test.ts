// `tiffin server migrate`: a single server's SQLite state copied into etcd by the CLI, as a user runs
// it; a server on etcd then carries on with the same jobs, hosts (still up) and tokens. A non-empty
// target is refused unless --force.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ApiClient } from "../api/client.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import { DefaultTiming } from "./liveness.ts";
import { migrateState, openStore, startServer } from "./main.ts";
import { specOf } from "./testing/fixtures.ts";
import { eventually, FakeAgent, startTestServer, tempDir } from "./testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";
const bin = join(import.meta.dirname, "..", "..", "bin", "tiffin.js");

void test("migrate copies a SQLite server's state into etcd, verified; a server on etcd carries on", { skip }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());

  // The old setup: one server on SQLite with two hosts and a placed job.
  const old = await startTestServer();
  undo.push(() => old.cleanup());
  const agents = ["alpha", "beta"].map((n) => new FakeAgent(old.server.url, n));
  for (const a of agents) await a.register(old.server.joinToken);
  await old.api.apply(specOf({ replicas: 2 }));
  const before = await eventually("placed", async () => {
    const s = await old.api.job("web");
    return s.tasks.length === 2 && s.tasks.every((x) => x.hostId !== null) ? s : null;
  });
  await old.stop();

  const target = `etcd://${etcd.endpoints.map((e) => e.replace("http://", "")).join(",")}/migrated`;
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, "server", "migrate", ...args], { encoding: "utf8", timeout: 30_000 });
  const r = cli("--from", `sqlite:${join(old.dir, "state.db")}`, "--to", target, "--lease-grace", "30");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /copied \d+ keys .* read back and verified/);
  assert.match(r.stdout, /2 host liveness keys got a 30 s lease/);

  // The target now holds a copy: a second run is refused, --force replaces it.
  const again = cli("--from", `sqlite:${join(old.dir, "state.db")}`, "--to", target);
  assert.equal(again.status, 1);
  assert.match(again.stderr, /TIFFIN_CONFLICT.*is not empty/);
  assert.match(again.stderr, /--force/);
  assert.equal(cli("--from", `sqlite:${join(old.dir, "state.db")}`, "--to", target, "--force", "--lease-grace", "30").status, 0);

  // Key for key, the same values (revisions are etcd's own); liveness keys carry the grace lease.
  const src = openSqliteStore(join(old.dir, "state.db"));
  const dst = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix: "/migrated" });
  undo.push(() => dst.close());
  const [a, b] = [(await src.range("")).kvs, (await dst.range("")).kvs];
  await src.close();
  const strip = (kvs: typeof a) => kvs.filter((kv) => kv.key !== "/leader" && !kv.key.startsWith("/alive/")).map((kv) => [kv.key, kv.value]);
  assert.deepEqual(strip(b), strip(a));
  const alive = b.filter((kv) => kv.key.startsWith("/alive/"));
  assert.equal(alive.length, 2);
  for (const kv of alive) {
    assert.ok(kv.lease, `${kv.key} has a lease`);
    assert.equal((JSON.parse(kv.value) as { ttlMs: number }).ttlMs, 30_000);
  }

  // A new server on etcd, new data dir: same jobs, hosts still up, the old tokens still valid.
  const dir = tempDir();
  undo.push(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store: dst, log: "silent" });
  undo.push(() => server.close());
  assert.equal(server.adminToken, old.server.adminToken, "the admin token came along");
  const api = new ApiClient({ addr: server.url, token: old.server.adminToken });
  assert.deepEqual((await api.job("web")).tasks.map((x) => [x.index, x.hostId, x.attemptId]), before.tasks.map((x) => [x.index, x.hostId, x.attemptId]));
  assert.deepEqual((await api.hosts()).map((h) => h.status), ["up", "up"]);
  // The agents' host tokens still work, and a heartbeat swaps the grace lease for a normal one.
  const alpha = agents[0]?.at(server.url);
  assert.ok(alpha);
  await alpha.heartbeat();
  await eventually("a normal lease again", async () => (JSON.parse((await dst.get(`/alive/${alpha.hostId}`))?.value ?? "{}") as { ttlMs?: number }).ttlMs === DefaultTiming.downMs);
});

void test("migrateState refuses a non-empty target unless forced, and says what it found", { skip }, async (t) => {
  const dir = tempDir();
  const from = openSqliteStore(join(dir, "a.db"));
  const to = openSqliteStore(join(dir, "b.db"));
  t.after(async () => {
    await from.close();
    await to.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await from.put("/jobs/x", "{}");
  await to.put("/jobs/old", "{}");
  await assert.rejects(migrateState(from, to), { code: "TIFFIN_CONFLICT", message: /holds 1 key \(e\.g\. \/jobs\/old\)/ });
  const r = await migrateState(from, to, { force: true });
  assert.deepEqual(r, { keys: 1, leased: 0, skipped: 0, replaced: 1 });
  assert.deepEqual((await to.range("")).kvs.map((kv) => kv.key), ["/jobs/x"]);
});
