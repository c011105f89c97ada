// The conformance suite against a real single-member etcd (a fresh key prefix per test), plus what
// only etcd has: a 3-member cluster losing its leader to kill -9 in the middle of acknowledged writes.
import assert from "node:assert/strict";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { after, describe, test } from "node:test";
import { Etcd3 } from "etcd3";
import { storeConformance } from "./conformance.ts";
import { Collector } from "./conformance-util.ts";
import { openEtcdStore } from "./etcd.ts";
import type { EtcdStore } from "./etcd.ts";
import { etcdAvailable, startEtcd } from "./etcd-testing.ts";
import type { EtcdCluster } from "./etcd-testing.ts";
import { LeaseNotFoundError } from "./store.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

let single: Promise<EtcdCluster> | null = null;
after(async () => {
  await (await single)?.stop();
});
function singleEtcd(): Promise<EtcdCluster> {
  single ??= startEtcd();
  return single;
}

let tests = 0;
// Registered whether or not etcd is here: without it, every conformance test shows as skipped with
// the reason (a suite that is not registered at all would vanish from the report unnoticed).
storeConformance(
  "etcd store",
  async () => {
    const { endpoints } = await singleEtcd();
    const prefix = `/conformance/${process.pid}-${++tests}/`;
    let current = await openEtcdStore(endpoints, { prefix });
    return {
      store: current,
      reopen: async () => (current = await openEtcdStore(endpoints, { prefix })),
      compact: (rev) => current.compact(rev),
      cleanup: async () => {
        await current.close();
        await revokeAllLeases(endpoints);
      },
    };
  },
  { skip },
);

/** Tests share one etcd and its one revision counter: a lease left behind would expire during a
 * later test and bump the revision under it. */
async function revokeAllLeases(endpoints: string[]): Promise<void> {
  const c = new Etcd3({ hosts: endpoints });
  try {
    const { leases } = await c.leaseClient.leaseLeases();
    await Promise.all(leases.map((l) => c.leaseClient.leaseRevoke({ ID: l.ID }).catch(() => undefined)));
  } finally {
    c.close();
  }
}

void describe("etcd store specifics", { skip }, () => {
  void test("leases: ms TTLs round up to whole seconds; a txn naming a revoked lease is refused", async () => {
    const { endpoints } = await singleEtcd();
    const s = await openEtcdStore(endpoints, { prefix: `/specifics/${process.pid}/` });
    try {
      const id = await s.grantLease(2100);
      const c = new Etcd3({ hosts: endpoints });
      try {
        const ttl = await c.leaseClient.leaseTimeToLive({ ID: id });
        assert.equal(Number(ttl.grantedTTL), 3, "2100 ms rounds up to 3 s");
      } finally {
        c.close();
      }
      await s.revokeLease(id);
      await assert.rejects(s.txn({ compare: [], success: [{ type: "put", key: "x", value: "x", lease: id }] }), LeaseNotFoundError);
      await assert.rejects(s.put("x", "x", { lease: "not-a-number" }), LeaseNotFoundError);
    } finally {
      await s.close();
    }
  });

  void test("a watch from revision 0 sees every write issued after the call, none from before", async () => {
    const { endpoints } = await singleEtcd();
    const s = await openEtcdStore(endpoints, { prefix: `/from-now/${process.pid}/` });
    try {
      await s.put("w/old", "x");
      const c = new Collector();
      const w = s.watch("w/", 0, c.onEvents, c.onError);
      const revs = await Promise.all([s.put("w/a", "1"), s.put("w/b", "2")]);
      await c.until("2 events", () => c.events.length >= 2);
      w.cancel();
      assert.deepEqual(c.events.map((e) => e.revision), revs.sort((a, b) => a - b));
    } finally {
      await s.close();
    }
  });

  void test("a call to an etcd that is gone (connection refused) fails, within the call timeout", async () => {
    const started = Date.now();
    await assert.rejects(openEtcdStore(["127.0.0.1:1"], { callTimeoutMs: 500 }), (err: Error) => /TIFFIN_(UNAVAILABLE|TIMEOUT)/.test(String((err as { code?: string }).code)));
    assert.ok(Date.now() - started <= 500 + 1000, `took ${Date.now() - started} ms (call timeout 500, + 1 s for load)`);
  });

  void test("a call to an etcd that accepts and never answers (a stopped process, a partition) fails at the call timeout", async (t) => {
    // A refused connection (above) fails at once whatever the timeout: only silence tests it.
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    t.after(() => {
      for (const s of held) s.destroy();
      silent.close();
    });
    const callTimeoutMs = 800;
    const started = Date.now();
    await assert.rejects(openEtcdStore([`127.0.0.1:${(silent.address() as AddressInfo).port}`], { callTimeoutMs }), (err: Error) => (err as { code?: string }).code === "TIFFIN_TIMEOUT");
    const took = Date.now() - started;
    // Not before the timeout, and within it + 1 s for a loaded machine (one call, not one per retry).
    assert.ok(took >= callTimeoutMs - 10 && took <= callTimeoutMs + 1000, `failed after ${took} ms (call timeout ${callTimeoutMs})`);
  });

  void test("3 members: kill -9 of the leader mid-stream loses no acknowledged write, writes continue, a watch resumes without gaps", async (t) => {
    const cluster = await startEtcd({ members: 3 });
    const stores: EtcdStore[] = [];
    t.after(async () => {
      for (const s of stores) await s.close();
      await cluster.stop();
    });
    const victim = await leaderIndex(cluster.endpoints);
    const writer = await openEtcdStore(cluster.endpoints, { prefix: "/kill/", callTimeoutMs: 3000 });
    // The watcher talks only to the member that dies: its stream must resume once the member is back.
    const watcher = await openEtcdStore([cluster.endpoints[victim] ?? ""], { prefix: "/kill/", callTimeoutMs: 3000 });
    stores.push(writer, watcher);
    const start = (await writer.revision()) + 1;
    const c = new Collector();
    watcher.watch("k/", start, c.onEvents, c.onError);

    const acked = new Map<string, number>();
    let failed = 0;
    let killedAt = -1;
    let n = 0;
    let slowest = 0;
    const perPhase = 150;
    const giveUpAt = Date.now() + 40_000;
    const loop = async (): Promise<void> => {
      while ((killedAt < 0 || acked.size < killedAt + perPhase) && Date.now() < giveUpAt) {
        const key = `k/${String(n++).padStart(5, "0")}`;
        const t0 = Date.now();
        try {
          acked.set(key, await writer.put(key, `v:${key}`));
        } catch {
          failed++; // not acknowledged: it may or may not be there
        }
        slowest = Math.max(slowest, Date.now() - t0);
        if (killedAt < 0 && acked.size >= perPhase) {
          killedAt = acked.size;
          cluster.kill(victim);
        }
      }
    };
    await Promise.all([loop(), loop(), loop(), loop()]);
    assert.ok(killedAt > 0 && acked.size >= killedAt + perPhase, `writes did not continue after the kill: ${acked.size} acked, ${failed} failed`);
    t.diagnostic(`acked ${acked.size} (${acked.size - killedAt} after the kill), failed ${failed}, slowest put ${slowest} ms`);

    const { kvs } = await writer.range("k/");
    const stored = new Map(kvs.map((kv) => [kv.key, kv]));
    for (const [key, rev] of acked) {
      const kv = stored.get(key);
      assert.ok(kv, `acknowledged ${key}@${rev} is lost`);
      assert.deepEqual([kv.value, kv.modRevision], [`v:${key}`, rev], key);
    }

    await cluster.restart(victim);
    await c.until(`the watch to see all ${kvs.length} keys`, () => c.events.length >= kvs.length, 20_000);
    const revs = c.events.map((e) => e.revision);
    assert.deepEqual(revs, [...revs].sort((a, b) => a - b), "in revision order");
    assert.equal(new Set(revs).size, revs.length, "without duplicates");
    assert.deepEqual(c.events.map((e) => `${e.kv.key}@${e.revision}`), kvs.map((kv) => `${kv.key}@${kv.modRevision}`).sort((a, b) => Number(a.split("@")[1]) - Number(b.split("@")[1])));
    assert.deepEqual(c.errors, []);
  });
});

/** Index of the member that leads now, from each member's /metrics. */
async function leaderIndex(endpoints: string[]): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    for (let i = 0; i < endpoints.length; i++) {
      const text = await (await fetch(`${endpoints[i]}/metrics`)).text();
      if (/^etcd_server_is_leader 1$/m.test(text)) return i;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("no etcd member says it leads");
}
