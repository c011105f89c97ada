// The CA set on a real SQLite store, as a server (re)starting mid-rotation and after one sees it:
// LiveCa serves under the retired CA and signs hosts with the new one while rotating, serves under
// the new one after the finish, and DIR/ca.crt follows the signing CA; a restart with the
// --ca-cert of the cluster's first start after a rotation uses the store's CA (not a refusal).
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import pino from "pino";
import { caHashOf } from "../../api/tls.ts";
import { openSqliteStore } from "../../state/sqlite.ts";
import { createCa, readCaSet, shareCa, writeCaSet } from "./ca.ts";
import { LiveCa } from "./live.ts";

void test("a server mid-rotation and after: serving and signing CAs, trust, DIR/ca.crt, a first-start --ca-cert kept in the unit", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-liveca-"));
  const store = openSqliteStore(path.join(dir, "state.db"));
  t.after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const log = pino({ level: "silent" });
  const first = await createCa(Date.now());
  await shareCa(store, dir, Date.now(), first, log);
  const next = await createCa(Date.now(), "tiffin cluster CA 2");
  const got = await readCaSet(store);
  assert.ok(got !== null);
  assert.ok(await writeCaSet(store, { current: next, previous: got.set.current }, got.modRevision));
  assert.equal(await writeCaSet(store, { current: next, previous: null }, got.modRevision), false, "a write on a stale revision fails");

  const servedBy = (live: LiveCa): string => {
    const leaf = new X509Certificate(live.serverTls.certPem);
    return [first, next].map((c) => c.certPem).find((p) => leaf.verify(new X509Certificate(p).publicKey)) === first.certPem ? "first" : "next";
  };
  const [h1, h2] = [caHashOf(first.certPem), caHashOf(next.certPem)];
  const live = await LiveCa.open({ store, log, names: ["127.0.0.1"], now: () => Date.now(), dataDir: dir });
  assert.equal(servedBy(live), "first", "mid-rotation a (re)started server serves under the retired CA");
  assert.deepEqual(live.info(), { signing: h2, trust: [h1, h2] });
  const finished = await readCaSet(store);
  assert.ok(finished !== null && (await writeCaSet(store, { current: next, previous: null }, finished.modRevision)));
  assert.equal(await live.refresh(), true);
  assert.equal(servedBy(live), "next", "after the finish, under the new CA, without a restart");
  assert.deepEqual(live.info(), { signing: h2, trust: [h2] });
  assert.equal(caHashOf(fs.readFileSync(path.join(dir, "ca.crt"), "utf8")), h2, "DIR/ca.crt follows the signing CA");

  // This server's own certificate is renewed at two thirds of its life while it runs (same CA, new key).
  const short = await LiveCa.open({ store, log, names: ["127.0.0.1"], now: () => Date.now(), serverCertLifetimeMs: 600 });
  const firstCert = short.serverTls.certPem;
  assert.equal(await short.refresh(), true);
  assert.equal(short.serverTls.certPem, firstCert, "not renewed before two thirds of its life");
  await new Promise((r) => setTimeout(r, 450));
  assert.equal(await short.refresh(), true);
  assert.notEqual(short.serverTls.certPem, firstCert, "renewed after two thirds of its life");
  assert.equal(servedBy(short), "next", "by the same CA");
  assert.deepEqual(short.info(), { signing: h2, trust: [h2] });

  // The unit still says --ca-cert FIRST: the store's CA is used.
  const again = await shareCa(store, dir, Date.now(), first, log);
  assert.equal(again.hash, h2);
});
