// `tiffin swarm rotate-token` and `tiffin swarm fetches` against a real server (SQLite, loopback), and the server's
// --peer-token-rotate check.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { PeerTokenRotation, SwarmAnnounceResponse } from "../../api/types.ts";
import type { SwarmFetches } from "../../api/swarm-fetches.ts";
import { startServer } from "../../server/main.ts";
import { memoryIo } from "../io.ts";
import { main } from "../main.ts";

void test("tiffin swarm rotate-token: a new peer token, the previous one still handed out; rotating twice drops the oldest; tiffin swarm fetches", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-cli-swarm-"));
  const server = await startServer({ dataDir: root, listen: "127.0.0.1:0", log: "silent" });
  t.after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  // What agents are told: a registered host's announce answer.
  const reg = (await (await fetch(`${server.url}/v1/agent/register`, { method: "POST", headers: { authorization: `Bearer ${server.joinToken}`, "content-type": "application/json" }, body: JSON.stringify({ inventory: { name: "h", address: "127.0.0.1:9", cores: 1, memoryMiB: 1024, diskMiB: 1024, os: { id: "linux", version: "0" }, kernel: "x", runtime: "none", labels: {} } }) })).json()) as { hostToken: string };
  const tokens = async (): Promise<string[]> => {
    const r = await fetch(`${server.url}/v1/agent/swarm/announce`, { method: "POST", headers: { authorization: `Bearer ${reg.hostToken}`, "content-type": "application/json" }, body: JSON.stringify({ address: "127.0.0.1:1", full: true, packages: [] }) });
    return ((await r.json()) as SwarmAnnounceResponse).peerTokens ?? [];
  };
  const before = await tokens();
  assert.equal(before.length, 1);

  const io = memoryIo({});
  assert.equal(await main(["--addr", server.url, "--token", server.adminToken, "swarm", "rotate-token"], io), 0, io.stderr);
  assert.match(io.stdout, /peer token rotated at .*; agents accept the new and the previous token/);
  const once = await tokens();
  assert.equal(once.length, 2);
  assert.ok(once.includes(before[0]!), "the previous token is still handed out");

  const io2 = memoryIo({});
  assert.equal(await main(["--addr", server.url, "--token", server.adminToken, "swarm", "rotate-token", "--json"], io2), 0, io2.stderr);
  assert.equal((JSON.parse(io2.stdout) as PeerTokenRotation).accepted, 2);
  const twice = await tokens();
  assert.ok(!twice.includes(before[0]!), "two rotations later the first token is gone");
  assert.equal(twice.length, 2);

  // `tiffin swarm fetches`: host h planned a fetch of a package the registry does not know (so its id
  // stands for its name), and holds 2 of its 4 pieces.
  const none = memoryIo({});
  assert.equal(await main(["--addr", server.url, "--token", server.adminToken, "swarm", "fetches"], none), 0, none.stderr);
  assert.equal(none.stdout, "no package fetches in flight (finished ones are listed for 60 s)\n");
  const id = "ab".repeat(32);
  const plan = await fetch(`${server.url}/v1/agent/swarm/plan`, { method: "POST", headers: { authorization: `Bearer ${reg.hostToken}`, "content-type": "application/json" }, body: JSON.stringify({ packageId: id, address: "127.0.0.1:1", total: 4, missing: [2, 3], inflight: [] }) });
  assert.equal(plan.status, 200, await plan.text());
  const io3 = memoryIo({});
  assert.equal(await main(["--addr", server.url, "--token", server.adminToken, "swarm", "fetches"], io3), 0, io3.stderr);
  assert.match(io3.stdout, /^PACKAGE\s+HOST\s+PIECES\s+FROM PEERS\s+FROM ORIGIN\s+IN FLIGHT\s+STATE\n/);
  assert.match(io3.stdout, /^abababababab\s+h\s+2\/4 \(50%\)\s+0\s+0\s+0 peers, 2 origin\s+fetching for \d+\.\d s$/m);
  const io4 = memoryIo({});
  assert.equal(await main(["--addr", server.url, "--token", server.adminToken, "swarm", "fetches", "--json"], io4), 0, io4.stderr);
  const json = JSON.parse(io4.stdout) as SwarmFetches;
  assert.deepEqual(json.packages.map((p) => [p.id, p.name, p.pieces, p.fetchers.map((f) => [f.held, f.complete, f.inflightOrigin])]), [[id, null, 4, [[2, false, 2]]]]);
});

void test("tiffin server --peer-token-rotate refuses what is not a duration of at least a minute", async () => {
  for (const bad of ["soon", "30s"]) {
    const io = memoryIo({});
    assert.equal(await main(["server", "--data", path.join(os.tmpdir(), "never-made"), "--peer-token-rotate", bad], io), 2, bad);
    assert.match(io.stderr, /--peer-token-rotate takes a duration of at least 1m/);
  }
});
