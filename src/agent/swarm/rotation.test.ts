// Peer token rotation end to end: the REAL server in a child process, real swarm peers. Tokens rotate
// with an overlap (a fetch across a rotation still gets its pieces from peers), the token to fetch
// with changes only once agents had time to learn the new one, and after two rotations the oldest
// token is refused by the agents themselves; a holder that missed a rotation is fetched from with the
// other token in force after it refused the first.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import type { PeerTokenRotation, SwarmAnnounceResponse } from "../../api/types.ts";
import { PieceEncoder, PieceStore, piecesOf } from "../../pkg/index.ts";
import { registerSwarmHost } from "./index.ts";
import { PieceServer } from "./serve.ts";
import { assertTree, fakeHolder, world } from "./test-world.ts";
import type { World } from "./test-world.ts";

/** A registered host that only asks the tracker for the peer tokens (an empty full announce). */
async function tokenProbe(t: { after(fn: () => void): void }, w: World): Promise<() => Promise<string[]>> {
  const probe = await registerSwarmHost({ serverUrl: w.server.url, joinToken: w.server.joinToken, name: "probe" });
  t.after(() => probe.close());
  return async () => {
    const r = await fetch(`${w.server.url}/v1/agent/swarm/announce`, {
      method: "POST",
      headers: { authorization: `Bearer ${probe.token}`, "content-type": "application/json" },
      body: JSON.stringify({ address: "127.0.0.1:1", full: true, packages: [] }),
    });
    const a = (await r.json()) as SwarmAnnounceResponse;
    assert.equal(a.peerToken, a.peerTokens?.[0], "peerToken is the one to fetch with");
    return a.peerTokens ?? [];
  };
}

async function until(what: string, fn: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

void test("peer tokens rotate with an overlap: fetches across rotations come from peers; a token two rotations old is refused", { timeout: 60_000 }, async (t) => {
  // Agents announce every second, so a new token is fetched with 2 s after a rotation.
  const w = await world(t, { swarm: { announceMs: 1000 } });
  const tokens = await tokenProbe(t, w);
  const holder = await w.peer("holder");
  assertTree(w, await holder.fetch(w.id));
  const piece = piecesOf(w.m)[0]!;
  // The body is not wanted: cancelled, so the holder's upload slot is freed (a caller that never reads holds it).
  const get = async (token: string): Promise<number> => {
    const r = await fetch(`http://${holder.address}/v1/pieces/${piece}`, { headers: { authorization: `Bearer ${token}` } });
    await r.body?.cancel();
    return r.status;
  };
  const rotate = async (): Promise<PeerTokenRotation> => {
    const r = await w.admin("/v1/swarm/peer-token/rotate", { method: "POST" });
    assert.equal(r.status, 200);
    return (await r.json()) as PeerTokenRotation;
  };

  const [t0] = await tokens();
  assert.ok(t0);
  assert.equal(await get(t0), 200);
  assert.equal(await get("not-a-token"), 401);

  // First rotation: both accepted; agents keep fetching with the old one until they all know the new one.
  assert.equal((await rotate()).accepted, 2);
  const [first, t1] = await tokens();
  assert.equal(first, t0, "right after a rotation, fetch with the previous token");
  assert.ok(t1 && t1 !== t0);
  const f1 = await w.peer("f1");
  assertTree(w, await f1.fetch(w.id));
  assert.equal(f1.stats().bytesFromOrigin, 0, "a fetch right after the rotation got its pieces from the holder");

  await until("the holder accepts the new token", async () => (await get(t1)) === 200);
  await until("agents fetch with the new token", async () => (await tokens())[0] === t1);
  assert.equal(await get(t0), 200, "the previous token is still accepted");
  const f2 = await w.peer("f2");
  assertTree(w, await f2.fetch(w.id));
  assert.equal(f2.stats().bytesFromOrigin, 0, "fetching with the new token works");

  // Second rotation: t0 is gone from the store; agents refuse it once they heard (within an announce).
  await rotate();
  const now = await tokens();
  assert.ok(!now.includes(t0) && now.includes(t1) && now.length === 2, "the tracker hands out t1 and a new t2");
  await until("the holder refuses the oldest token", async () => (await get(t0)) === 401);
  for (const tok of now) assert.equal(await get(tok), 200, "both tokens in force are accepted");
  const f3 = await w.peer("f3");
  assertTree(w, await f3.fetch(w.id));
  assert.equal(f3.stats().bytesFromOrigin, 0, "fetches still come from peers after two rotations");
});

void test("the leader rotates the peer token on its own every --peer-token-rotate", { timeout: 30_000 }, async (t) => {
  const w = await world(t, { swarm: { announceMs: 1000, peerTokenRotateMs: 1500 } });
  const tokens = await tokenProbe(t, w);
  const seen = new Set(await tokens());
  await until("two more tokens appeared", async () => {
    for (const tok of await tokens()) seen.add(tok);
    return seen.size >= 3;
  });
});

void test("a holder that missed a rotation refuses the token fetched with first: the fetcher retries with the other one and gets every piece from it", { timeout: 30_000 }, async (t) => {
  const w = await world(t, { swarm: { announceMs: 1000 } });
  const tokens = await tokenProbe(t, w);
  const [t0] = await tokens();
  assert.ok(t0);
  const r = await w.admin("/v1/swarm/peer-token/rotate", { method: "POST" });
  assert.equal(r.status, 200);
  const [first, newest] = await tokens();
  assert.equal(first, t0, "right after the rotation, fetch with the previous token");
  assert.ok(newest && newest !== t0);
  await until("agents fetch with the new token", async () => (await tokens())[0] === newest);

  // The only holder: the real piece-serving code over the package's pieces, whose tokens stayed
  // those it knew before the rotation (an agent whose tracker answers stopped reaching it). It keeps
  // announcing, so the tracker hands it out for the whole fetch.
  const asked = new Map<string, number>();
  let refused = 0;
  const stale = new PieceServer({
    store: new PieceStore(path.join(w.root, "local")),
    peerTokens: () => [t0],
    onRefused: () => void refused++,
    maxUploads: 16,
    bucket: null,
    encoder: new PieceEncoder(),
  });
  const holder = await fakeHolder(t, w, "stale", (res, req) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1] ?? "none";
    asked.set(token, (asked.get(token) ?? 0) + 1);
    if (!stale.handle(req, res)) res.writeHead(404).end();
  }, { announceEveryMs: 500 });

  const fetcher = await w.peer("fetcher");
  assertTree(w, await fetcher.fetch(w.id));
  const s = fetcher.stats();
  const n = piecesOf(w.m).length;
  t.diagnostic(`holder ${holder.address}: asked ${JSON.stringify(Object.fromEntries([...asked].map(([k, v]) => [k === t0 ? "old" : k === newest ? "new" : k, v])))}`);
  assert.equal(s.bytesFromOrigin, 0, "no piece came from the origin");
  assert.equal(s.bytesFromPeers, stale.stats.bytesUploaded, "every byte came from the stale holder");
  assert.ok(s.bytesFromPeers > 0);
  assert.equal(asked.get(newest), n, "each piece was asked with the new token first");
  assert.equal(refused, n, "and refused");
  assert.equal(asked.get(t0), n, "then asked again with the previous token, and served");
  assert.equal(s.peerFailed, 0, "no attempt counted as a failure");
});
