import assert from "node:assert/strict";
import { test } from "node:test";
import { MaxCheckHistory, MaxChecksPerHost } from "../../model/index.ts";
import type { MachineCheckResult } from "../../model/index.ts";
import { failingChecksByHost, mergeChecks } from "./checks-store.ts";

const r = (name: string, status: MachineCheckResult["status"], message = `${name} ${status}`): MachineCheckResult => ({ name, status, message, at: 1 });

void test("merging check changes: since moves only on a status change, history bounded, times are the server's", () => {
  let hc = mergeChecks(null, "h1", [r("disk", "pass"), r("custom:ecc", "fail")], 100);
  assert.deepEqual(Object.keys(hc.checks).sort(), ["custom:ecc", "disk"]);
  assert.equal(hc.checks["disk"]?.at, 100, "the server's clock, not the agent's");
  hc = mergeChecks(hc, "h1", [r("disk", "pass", "new message")], 200);
  assert.equal(hc.checks["disk"]?.since, 100, "same status: since kept");
  assert.equal(hc.checks["disk"]?.message, "new message");
  assert.equal(hc.checks["disk"]?.history.length, 1);
  for (let i = 0; i < 30; i++) hc = mergeChecks(hc, "h1", [r("disk", i % 2 === 0 ? "fail" : "pass")], 300 + i);
  assert.equal(hc.checks["disk"]?.history.length, MaxCheckHistory);
  assert.equal(hc.checks["disk"]?.history.at(-1)?.at, 329, "newest last");
  assert.equal(hc.checks["custom:ecc"]?.status, "fail", "checks not in a partial report are kept");
  assert.deepEqual(failingChecksByHost([hc]).get("h1")?.map((c) => c.name), ["disk", "custom:ecc"].filter((n) => hc.checks[n]?.status === "fail"));
});

void test("a complete set forgets checks the agent no longer runs; a host holds at most MaxChecksPerHost", () => {
  let hc = mergeChecks(null, "h1", [r("disk", "pass"), r("custom:gone", "fail")], 1);
  hc = mergeChecks(hc, "h1", [r("disk", "pass")], 2, true);
  assert.deepEqual(Object.keys(hc.checks), ["disk"]);
  assert.equal(failingChecksByHost([hc]).has("h1"), false);
  const many = Array.from({ length: MaxChecksPerHost + 10 }, (_, i) => r(`custom:${i}`, "pass"));
  assert.equal(Object.keys(mergeChecks(null, "h1", many, 1).checks).length, MaxChecksPerHost);
});

void test("ChecksCache: a real SQLite store and mirror; only changed hosts' checks are read again", async (t) => {
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const { pino } = await import("pino");
  const { openSqliteStore } = await import("../../state/index.ts");
  const { Mirror } = await import("../mirror.ts");
  const { Kinds } = await import("../kinds.ts");
  const { ChecksCache } = await import("./checks-store.ts");
  const { domainOf } = await import("../../model/index.ts");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-checkscache-"));
  const store = openSqliteStore(path.join(dir, "state.db"));
  const log = pino({ level: "silent" });
  const mirror = await Mirror.load(store, log);
  t.after(async () => {
    mirror.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const id of ["h1", "h2", "h3"]) {
    const host = { id, name: id, address: "127.0.0.1:1", cores: 1, memoryMiB: 1, diskMiB: 1, os: { id: "x", version: "1" }, kernel: "k", labels: {}, runtime: "none", domain: domainOf({}), draining: false, registeredAt: 0 };
    await store.put(Kinds.host.key(id), Kinds.host.encode(host));
    await store.put(Kinds.hostChecks.key(id), Kinds.hostChecks.encode(mergeChecks(null, id, [r("disk", id === "h2" ? "fail" : "pass")], 1)));
  }
  await mirror.waitFor(await store.revision());
  let gets = 0;
  const counting = { get: (key: string) => (gets++, store.get(key)) };
  const cache = new ChecksCache(counting, mirror, log);
  assert.deepEqual(failingChecksByHost(await cache.all()).get("h2")?.map((c) => c.name), ["disk"]);
  assert.equal(gets, 3, "first pass: every host read");
  gets = 0;
  assert.equal((await cache.all()).length, 3);
  assert.equal(gets, 0, "nothing changed: nothing read");
  await store.put(Kinds.hostChecks.key("h3"), Kinds.hostChecks.encode(mergeChecks(null, "h3", [r("disk", "fail")], 2)));
  await mirror.waitFor(await store.revision());
  const all = await cache.all();
  assert.equal(gets, 1, "only the changed host read again");
  assert.deepEqual([...failingChecksByHost(all).keys()].sort(), ["h2", "h3"]);
});
