// The swarm end to end on loopback: the REAL server (tracker and origin) in a child process, swarm
// peers as startSwarmPeer runs them, a package of real random files (7 pieces, 21 MiB).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { SwarmAnnounce, SwarmPlan, SwarmReport } from "../../api/types.ts";
import type { SwarmFetches, SwarmPackageFetches } from "../../api/swarm-fetches.ts";
import { PieceSize, PieceStore, piecesOf } from "../../pkg/index.ts";
import { registerSwarmHost, startSwarmPeer } from "./index.ts";
import { placesOf } from "../packages.ts";
import { PeerIdleMs } from "./peer.ts";
import { assertTree, fakeHolder, MiB, world } from "./test-world.ts";
import type { World } from "./test-world.ts";

void test("three peers fetching at once: the origin sends each piece about once, the rest flows between peers", async (t) => {
  const w = await world(t);
  const peers = await Promise.all(["p1", "p2", "p3"].map((n) => w.peer(n)));
  const results = await Promise.all(peers.map((p) => p.fetch(w.id)));
  for (const r of results) assertTree(w, r);
  // The server's own count of what it sent, per piece (not what the fetchers say they received).
  const sent = await originSends(w);
  const hashes = [...new Set(piecesOf(w.m))];
  const perPiece = hashes.map((h) => sent.get(h) ?? 0);
  const total = perPiece.reduce((a, b) => a + b, 0);
  const fromPeers = peers.reduce((n, p) => n + p.stats().bytesFromPeers, 0);
  const uploaded = peers.reduce((n, p) => n + p.stats().bytesUploaded, 0);
  t.diagnostic(`package ${(w.size / MiB).toFixed(1)} MiB, ${hashes.length} pieces; the origin sent them ${perPiece.join(", ")} times; peers ${(fromPeers / MiB).toFixed(1)} MiB`);
  assert.deepEqual([...sent.keys()].filter((h) => !hashes.includes(h)), [], "the origin sent only this package's pieces");
  // Each piece once (it starts on the origin only); a second copy at most when a fetcher's origin
  // lease ran out or a plan crossed an announce; 3 fetchers all from the origin would be 3 each.
  assert.ok(perPiece.every((n) => n >= 1 && n <= 2), `each piece sent once or twice by the origin: ${perPiece.join(", ")}`);
  assert.ok(total <= hashes.length + Math.floor(hashes.length / 4), `the origin sent ${total} pieces for ${hashes.length} pieces to 3 peers`);
  assert.ok(fromPeers >= w.size, `the other two copies came from peers (${fromPeers} bytes)`);
  assert.equal(uploaded, fromPeers, "every byte a peer received, another peer sent");
});

/** The server's `tiffin_origin_piece_sends_total`, by piece hash. */
async function originSends(w: World): Promise<Map<string, number>> {
  const text = await (await w.admin("/metrics")).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^tiffin_origin_piece_sends_total\{piece="([0-9a-f]{64})"\} (\d+)$/gm)) out.set(m[1] ?? "", Number(m[2]));
  return out;
}

/** The peers a plan of host `token` names for every piece of the world's package (asked again until
 * the plan covers every piece: the fetchers' last announces may still be on their way). */
async function plannedPeers(w: World, token: string): Promise<Set<string>> {
  const n = piecesOf(w.m).length;
  let plan: SwarmPlan | null = null;
  for (let i = 0; i < 50 && plan === null; i++) {
    const r = await fetch(`${w.server.url}/v1/agent/swarm/plan`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ packageId: w.id, address: "127.0.0.1:1", total: n, missing: [...Array(n).keys()], inflight: [] }),
    });
    const p = (await r.json()) as SwarmPlan;
    if (p.pieces.length === n) plan = p;
    else await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(plan, "a plan for every piece");
  return new Set(plan.pieces.flatMap((p) => p.sources.flatMap((s) => (s.kind === "peer" ? [s.host] : []))));
}

/** Sends a report to the tracker as host `token`. */
async function report(w: World, token: string, r: SwarmReport): Promise<void> {
  const res = await fetch(`${w.server.url}/v1/agent/swarm/report`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(r) });
  assert.equal(res.status, 200, await res.text());
}

void test("a peer serving a corrupt piece is dropped, reported, counted, and the piece comes from another peer; a second reporter excludes it for everyone", async (t) => {
  const w = await world(t);
  const honest = await w.peer("honest");
  assertTree(w, await honest.fetch(w.id));

  // A registered host that claims every piece and sends random bytes for each.
  let lies = 0;
  const liarHost = await fakeHolder(t, w, "liar", (res) => {
    lies++;
    res.end(randomBytes(PieceSize));
  });

  const fetcher = await w.peer("fetcher");
  assertTree(w, await fetcher.fetch(w.id));
  const s = fetcher.stats();
  assert.ok(lies >= 1, "the tracker sent the fetcher to the liar first for some piece");
  assert.equal(s.badPieces, lies, "every lie was caught by its hash");
  assert.ok(lies <= 6, `once caught, the liar is not asked again (only fetches already under way reach it): ${lies}`);
  assert.equal(s.bytesFromOrigin, 0, "the piece came from the honest peer, not the origin");

  // One agent's report excludes the liar for that agent only: another agent is still sent there.
  const other = await registerSwarmHost({ serverUrl: w.server.url, joinToken: w.server.joinToken, name: "other" });
  t.after(() => other.close());
  const hosts = await plannedPeers(w, other.token);
  assert.ok(hosts.has(liarHost.hostId), `one reporter is not enough to exclude the liar for others: ${[...hosts].join(",")}`);
  assert.ok(hosts.has(honest.hostId) && hosts.has(fetcher.hostId));
  // (This plan says the fetcher holds nothing: later plans name only the honest peer.)
  assert.ok(!(await plannedPeers(w, fetcher.token)).has(liarHost.hostId), "the reporter itself is never sent there again");

  // A second agent reports it (its own fetch caught a lie): now nobody is sent there.
  await report(w, other.token, { packageId: w.id, peer: liarHost.hostId, piece: piecesOf(w.m)[0]!, reason: "hash mismatch" });
  const third = await registerSwarmHost({ serverUrl: w.server.url, joinToken: w.server.joinToken, name: "third" });
  t.after(() => third.close());
  const after = await plannedPeers(w, third.token);
  assert.ok(!after.has(liarHost.hostId), `the liar is no longer handed out: ${[...after].join(",")}`);
  assert.ok(after.has(honest.hostId));
  const metrics = await (await w.admin("/metrics")).text();
  assert.match(metrics, new RegExp(`tiffin_swarm_bad_pieces_total\\{peer="${liarHost.hostId}"\\} ${lies + 1}\n`), "every report counted");
});

void test("a holder that announces pieces it lacks: each 404 is reported and the piece forgotten there; 3 exclude it for the reporter, a second reporter's 3 for everyone; counted", async (t) => {
  const w = await world(t);
  let asked = 0;
  const empty = await fakeHolder(t, w, "empty", (res) => {
    asked++;
    res.writeHead(404, { "content-type": "application/json" }).end("{}");
  });
  const falseAnnounces = async (): Promise<string> => {
    const m = new RegExp(`tiffin_swarm_false_announces_total\\{peer="${empty.hostId}"\\} (\\d+)\n`).exec(await (await w.admin("/metrics")).text());
    return m?.[1] ?? "none";
  };
  // The only holder claims every piece and has none: every first plan sends the fetcher there.
  const fetchFromLiar = async (name: string): Promise<{ peer: Awaited<ReturnType<World["peer"]>>; asked: number; ms: number }> => {
    const before = asked;
    const peer = await w.peer(name);
    const started = Date.now();
    assertTree(w, await peer.fetch(w.id));
    const ms = Date.now() - started;
    t.diagnostic(`${name} fetched in ${ms} ms after ${asked - before} 404s`);
    assert.equal(peer.stats().bytesFromPeers, 0);
    // Unreported, the fetcher would wait out its deferrals (the origin after about 10 s, as for a holder answering 500).
    assert.ok(ms < 8000, `the tracker forgot the lies at once: ${ms} ms`);
    return { peer, asked: asked - before, ms };
  };
  const n = piecesOf(w.m).length;
  const first = await fetchFromLiar("fetcher");
  assert.ok(first.asked >= 3 && first.asked < 2 * n, `the liar was asked about each piece about once (a plan may cross a report in flight): ${first.asked}`);
  assert.equal(await falseAnnounces(), "3", "three false announces counted, the reporter's later 404s ignored");

  // Excluded for the fetcher only: another agent is still sent there for the pieces not forgotten.
  const other = await registerSwarmHost({ serverUrl: w.server.url, joinToken: w.server.joinToken, name: "other" });
  t.after(() => other.close());
  const hosts = await plannedPeers(w, other.token);
  assert.ok(hosts.has(first.peer.hostId), "the fetcher holds the package now");
  assert.ok(hosts.has(empty.hostId), `one reporter is not enough to exclude the liar for others: ${[...hosts].join(",")}`);

  // The first fetcher goes away (its host tells the tracker it holds nothing), and the liar announces
  // everything again, as it does every interval: a second fetcher is sent there as the first was.
  await first.peer.close();
  const announce = async (token: string, body: SwarmAnnounce): Promise<void> => {
    const r = await fetch(`${w.server.url}/v1/agent/swarm/announce`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    assert.equal(r.status, 200, await r.text());
  };
  await announce(first.peer.token, { address: first.peer.address, full: true, packages: [] });
  await announce(empty.token, { address: empty.address, full: true, packages: [{ id: w.id, complete: true, pieces: [] }] });
  const second = await fetchFromLiar("fetcher2");
  assert.ok(second.asked >= 3, `the second fetcher was sent to the liar too: ${second.asked}`);
  assert.equal(await falseAnnounces(), "6", "three more from the second reporter");

  const after = await plannedPeers(w, other.token);
  assert.ok(after.has(second.peer.hostId));
  assert.ok(!after.has(empty.hostId), `excluded by two reporters: no longer handed out to anyone: ${[...after].join(",")}`);
});

void test("a fetch killed with SIGKILL halfway resumes with only the missing pieces", async (t) => {
  const w = await world(t);
  const host = await registerSwarmHost({ serverUrl: w.server.url, joinToken: w.server.joinToken, name: "killed" });
  t.after(() => host.close());
  const dataDir = path.join(w.root, "killed");
  // The first fetch runs in a child process, slowed to 8 MiB/s, one piece at a time.
  const code = `
    const { startSwarmPeer } = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
    const p = await startSwarmPeer({ serverUrl: process.env.URL, token: process.env.TOKEN, dataDir: process.env.DATA, listen: "127.0.0.1:0", downloadLimitBytesPerSec: 8 * 1024 * 1024, parallel: 1 });
    await p.fetch(process.env.ID, (done) => process.stdout.write(done + "\\n"));`;
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code], {
    env: { ...process.env, URL: w.server.url, TOKEN: host.token, DATA: dataDir, ID: w.id },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => void child.kill("SIGKILL"));
  // Meanwhile the tracker's view (GET /v1/swarm/fetches), read until the fetch shows in flight.
  let killed = false;
  const midway = (async (): Promise<SwarmPackageFetches | undefined> => {
    while (!killed) {
      const p = await swarmFetches(w);
      if (p?.fetchers.some((f) => f.held > 0)) return p;
      await new Promise((r) => setTimeout(r, 50));
    }
    return undefined;
  })();
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (b: Buffer) => {
      const done = Number(b.toString().trim().split("\n").at(-1));
      if (done >= 2 * PieceSize) {
        killed = true;
        child.kill("SIGKILL");
        resolve();
      }
    });
    child.once("exit", () => reject(new Error("the fetch ended before it was killed")));
  });
  await new Promise((r) => child.once("exit", r));
  const seen = await midway;
  const total = piecesOf(w.m).length;
  assert.ok(seen, "the fetch was seen in flight before the kill");
  assert.equal(seen.name, "swarmy");
  assert.equal(seen.pieces, total);
  const during = seen.fetchers.find((f) => f.host === host.hostId);
  assert.ok(during && !during.complete && during.held >= 1 && during.held < total && during.finishedAt === null, `part of the pieces held: ${JSON.stringify(during)}`);
  assert.ok(during.inflightOrigin >= 1 && during.fromOrigin >= 1, `from the origin, the only holder: ${JSON.stringify(during)}`);
  assert.equal(during.fromPeers + during.inflightPeers, 0);
  // The pieces went straight into the files of the partial tree (no piece files).
  const store = new PieceStore(path.join(dataDir, "packages", "pieces"));
  const all = piecesOf(w.m);
  assert.equal(all.filter((h) => store.has(h)).length, 0, "no piece files");
  const places = placesOf(w.m, path.join(dataDir, "packages", "trees", `.${w.id}.partial`));
  const held: string[] = [];
  for (const h of all) if (await store.verifyAt(h, places.get(h)?.[0] ?? { file: "", offset: 0, length: 0 })) held.push(h);
  assert.ok(held.length >= 2 && held.length < all.length, `killed halfway: ${held.length} of ${all.length} pieces in the partial tree`);
  const sizeOf = (h: string): number => {
    for (const f of w.m.files) {
      const i = f.pieces.indexOf(h);
      if (i >= 0) return Math.min(PieceSize, f.size - i * PieceSize);
    }
    return 0;
  };
  const missingBytes = all.filter((h) => !held.includes(h)).reduce((n, h) => n + sizeOf(h), 0);

  const again = await startSwarmPeer({ serverUrl: w.server.url, token: host.token, dataDir, listen: "127.0.0.1:0" });
  t.after(() => again.close());
  assertTree(w, await again.fetch(w.id));
  const s = again.stats();
  assert.equal(s.bytesFromOrigin + s.bytesFromPeers, missingBytes, "only the missing pieces were fetched");
  // The resumed fetch is the same fetch for the tracker, finished once the last announce arrives.
  let after = await swarmFetches(w);
  for (let i = 0; i < 40 && !after?.fetchers[0]?.complete; i++) after = await new Promise((r) => setTimeout(r, 50)).then(() => swarmFetches(w));
  const f = after?.fetchers.find((x) => x.host === host.hostId);
  assert.ok(f?.complete && f.held === total && f.finishedAt !== null && f.startedAt === during.startedAt, `finished: ${JSON.stringify(f)}`);
  assert.equal(f.fromOrigin + f.fromPeers, total, "every piece counted once, from the origin");
});

/** The world's package in the tracker's view of fetches (GET /v1/swarm/fetches), if listed. */
async function swarmFetches(w: World): Promise<SwarmPackageFetches | undefined> {
  const r = await w.admin("/v1/swarm/fetches");
  assert.equal(r.status, 200, "GET /v1/swarm/fetches answers");
  return ((await r.json()) as SwarmFetches).packages.find((p) => p.id === w.id);
}

void test("endgame: the last pieces, stalled on a holder that stops sending, are asked of another holder and the fetch does not wait for the stall", async (t) => {
  const w = await world(t);
  const honest = await w.peer("honest");
  assertTree(w, await honest.fetch(w.id));
  // Its last pieces are announced in a batch ~100 ms later: until then the tracker lists only the
  // stalled holder for them, and no second holder can be asked.
  await new Promise((r) => setTimeout(r, 500));
  // Sends the headers and a few bytes of every piece, then nothing: a link that stalled.
  let stalled = 0;
  await fakeHolder(t, w, "stalled", (res) => {
    stalled++;
    res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(PieceSize) });
    res.write(Buffer.alloc(1000));
  });
  // The tracker orders sources by load and at random: a fetcher that never went to the stalled holder
  // first proves nothing, so another one fetches (at most a few times).
  const endgameAfterMs = 1000;
  // The behaviour costs about endgameAfterMs on top of the fetch; the failure, each stalled piece
  // waiting out PeerIdleMs first. The bound sits halfway between the two (3 s), not just below the
  // failure (4.5 s against 5 s left the failure a 0.5 s window to pass in on a slow run).
  const bound = endgameAfterMs + (PeerIdleMs - endgameAfterMs) / 2;
  for (let i = 0; i < 4; i++) {
    const before = stalled;
    const fetcher = await w.peer(`fetcher-${i}`, { endgameAfterMs });
    const started = Date.now();
    assertTree(w, await fetcher.fetch(w.id));
    const ms = Date.now() - started;
    if (stalled === before) continue;
    const s = fetcher.stats();
    t.diagnostic(`fetch ${i}: ${stalled - before} pieces asked of the stalled holder first; ${s.endgameAsks} endgame asks, ${s.endgameWins} first; ${ms} ms`);
    assert.ok(s.endgameWins >= 1, `an endgame copy came first: ${JSON.stringify(s)}`);
    // Without the endgame each stalled piece waits out the idle limit (PeerIdleMs) first.
    assert.ok(ms < bound, `not held up by the stall: ${ms} ms (bound ${bound} ms, idle limit ${PeerIdleMs} ms)`);
    assert.equal(s.bytesFromOrigin, 0);
    return;
  }
  assert.fail("the stalled holder was never asked first in 4 fetches");
});

void test("a peer at its upload limit answers 503 and the piece comes from another peer", async (t) => {
  const w = await world(t);
  const narrow = await w.peer("narrow", { maxUploads: 1, uploadLimitBytesPerSec: 8 * MiB });
  const wide = await w.peer("wide");
  assertTree(w, await narrow.fetch(w.id));
  assertTree(w, await wide.fetch(w.id));
  const before = narrow.stats();
  const fetcher = await w.peer("fetcher", { parallel: 4 });
  assertTree(w, await fetcher.fetch(w.id));
  const after = narrow.stats();
  assert.equal(after.peakUploads, 1, "never more than one upload at once");
  assert.ok(after.uploadsRefused > before.uploadsRefused, "a second request while busy was refused");
  assert.ok(after.bytesUploaded > before.bytesUploaded, "the narrow peer still served some pieces");
  assert.equal(fetcher.stats().bytesFromOrigin, 0, "the refused pieces came from the other peer, not the origin");
});

void test("a holder that answers but never serves does not stall a fetch: the origin, within the budget, then whatever it", { timeout: 60_000 }, async (t) => {
  const w = await world(t);
  let refused = 0;
  await fakeHolder(t, w, "broken", (res) => {
    refused++;
    res.writeHead(500).end("disk on fire");
  });
  // The only holder is broken: every piece is "held", so none gets a first-copy origin lease.
  const fetcher = await w.peer("fetcher");
  const started = Date.now();
  assertTree(w, await fetcher.fetch(w.id));
  t.diagnostic(`fetched in ${Date.now() - started} ms after ${refused} refusals`);
  assert.ok(refused >= 5, `the fetcher tried the holder first: ${refused}`);
  assert.equal(fetcher.stats().bytesFromPeers, 0);
});

void test("with the origin gone, a fetched package is still there for a new peer on the same data", async (t) => {
  const w = await world(t);
  const p = await w.peer("survivor");
  assertTree(w, await p.fetch(w.id));
  await w.server.stop();
  const again = await startSwarmPeer({ serverUrl: w.server.url, token: p.token, dataDir: p.dataDir, listen: "127.0.0.1:0" });
  t.after(() => again.close());
  assertTree(w, await again.fetch(w.id));
});

void test("compressible pieces are pushed, served by the origin and passed between peers zstd-compressed", async (t) => {
  const w = await world(t, { text: true });
  const first = await w.peer("first");
  assertTree(w, await first.fetch(w.id));
  const second = await w.peer("second");
  assertTree(w, await second.fetch(w.id));
  const a = first.stats();
  const b = second.stats();
  t.diagnostic(`text package ${(w.size / MiB).toFixed(1)} MiB: ${(a.bytesFromOrigin / MiB).toFixed(2)} MiB from the origin, ${(b.bytesFromPeers / MiB).toFixed(2)} MiB between peers`);
  assert.ok(a.bytesFromOrigin > 0 && a.bytesFromOrigin < w.size / 2, `origin sent ${a.bytesFromOrigin} bytes for ${w.size}`);
  assert.ok(b.bytesFromPeers > 0 && b.bytesFromPeers < w.size / 2, `peer sent ${b.bytesFromPeers} bytes for ${w.size}`);
  assert.equal(b.bytesFromOrigin, 0);
  // Uncompressed uploads stay accepted, and a bad zstd body is refused.
  const raw = await w.admin(`/v1/packages/pieces/${piecesOf(w.m)[0]}`, { method: "POST", body: fs.readFileSync(path.join(w.root, "src", "app.log")).subarray(0, PieceSize) });
  assert.equal(raw.status, 200, await raw.text());
  const garbled = await fetch(`${w.server.url}/v1/packages/pieces/${piecesOf(w.m)[0]}`, {
    method: "POST",
    headers: { authorization: `Bearer ${w.server.adminToken}`, "content-type": "application/octet-stream", "content-encoding": "zstd" },
    body: Buffer.from("not zstd at all"),
  });
  assert.equal(garbled.status, 400);
});
