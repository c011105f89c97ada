// One tracker per cluster: two server processes on a real etcd, swarm peers (the agent's real swarm
// code, each in its own process) connected to different servers. The leader's tracker sees them all,
// so a fetcher on one server gets its pieces from a peer on the other; with the leader dead and none
// elected yet, a fetch still completes from the origin; the new leader's tracker is rebuilt from
// full announces (new epoch) and peers are handed out again.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { SwarmPlan } from "../../api/types.ts";
import { buildPackage, packageId, PieceSize, PieceStore, piecesOf } from "../../pkg/index.ts";
import { etcdAvailable, startEtcd } from "../../state/etcd-testing.ts";
import { startServerProcess } from "../testing/cluster.ts";
import { createAgentClient } from "../../api/agent-client.ts";
import { inventoryOf } from "../testing/fixtures.ts";
import type { ServerProcess } from "../testing/cluster.ts";
import { eventually, tempDir } from "../testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";
const MiB = 1024 * 1024;
const swarmIndex = new URL("../../agent/swarm/index.ts", import.meta.url).href;

/** Download and upload counters of a peer (SwarmStats). */
interface Stats {
  bytesFromOrigin: number;
  bytesFromPeers: number;
  bytesUploaded: number;
}

/** A swarm peer in a child process (registerSwarmHost + startSwarmPeer), driven over stdin/stdout. */
interface PeerProcess {
  hostId: string;
  token: string;
  fetch(id: string): Promise<{ result: { path: string } | { error: string }; stats: Stats }>;
  stop(): void;
}

async function startPeer(o: { serverUrl: string; joinToken: string; name: string; dataDir: string }): Promise<PeerProcess> {
  const code = `
    const { registerSwarmHost, startSwarmPeer } = await import(${JSON.stringify(swarmIndex)});
    const { createInterface } = await import("node:readline");
    const o = JSON.parse(process.env.TIFFIN_TEST_PEER);
    const out = (x) => process.stdout.write(JSON.stringify(x) + "\\n");
    const host = await registerSwarmHost({ serverUrl: o.serverUrl, joinToken: o.joinToken, name: o.name });
    const p = await startSwarmPeer({ serverUrl: o.serverUrl, token: host.token, dataDir: o.dataDir, listen: "127.0.0.1:0" });
    out({ hostId: host.hostId, token: host.token });
    for await (const line of createInterface({ input: process.stdin })) {
      const c = JSON.parse(line);
      const result = await p.fetch(c.id);
      out({ result, stats: p.stats() });
    }
    host.close();
    await p.close();
    process.exit(0);`;
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code], {
    env: { ...process.env, TIFFIN_TEST_PEER: JSON.stringify(o) },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const waiting: ((line: string) => void)[] = [];
  let buf = "";
  child.stdout.on("data", (b: Buffer) => {
    buf += b.toString();
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      waiting.push(resolve);
      child.once("exit", (c, sig) => reject(new Error(`peer ${o.name} exited (${c ?? sig})`)));
    });
  const first = JSON.parse(await next()) as { hostId: string; token: string };
  return {
    ...first,
    async fetch(id) {
      const answer = next();
      child.stdin.write(`${JSON.stringify({ id })}\n`);
      return JSON.parse(await answer) as { result: { path: string } | { error: string }; stats: Stats };
    },
    stop: () => void child.kill("SIGKILL"),
  };
}

/** The peers a plan at `serverUrl` (as host `token`) names for a package of `n` pieces. */
async function plannedPeers(serverUrl: string, token: string, id: string, n: number): Promise<Set<string>> {
  const r = await fetch(`${serverUrl}/v1/agent/swarm/plan`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ packageId: id, address: "127.0.0.1:1", total: n, missing: [...Array(n).keys()], inflight: [] }),
  });
  if (r.status !== 200) return new Set();
  const p = (await r.json()) as SwarmPlan;
  return new Set(p.pieces.flatMap((x) => x.sources.flatMap((s) => (s.kind === "peer" ? [s.host] : []))));
}

void test("two servers, one tracker: peers on different servers fetch from each other; without a leader a fetch uses the origin; a new leader's tracker is rebuilt", { skip, timeout: 120_000 }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await Promise.resolve(fn()).catch(() => undefined);
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const root = tempDir();
  undo.push(() => fs.rmSync(root, { recursive: true, force: true }));
  const servers: ServerProcess[] = [];
  for (const name of ["a", "b"]) {
    // One at a time, so the first one leads. A long leader lease leaves a window with the leader dead
    // and no new one elected; short announces rebuild a new tracker quickly.
    const s = await startServerProcess({ dataDir: path.join(root, name), endpoints: etcd.endpoints, prefix: "/swarm-ha", leaderTtlMs: 8000, timing: { heartbeatMs: 300, suspectMs: 1500, downMs: 6000, fenceMs: 3000 }, swarm: { announceMs: 1000 } });
    undo.push(() => s.stop());
    servers.push(s);
  }
  const [a, b] = servers as [ServerProcess, ServerProcess];
  assert.equal(await a.leading(), true);
  assert.equal(await b.leading(), false);

  // A package of random bytes (4 pieces), pushed to A.
  const src = path.join(root, "src");
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, "big.bin"), randomBytes(3 * PieceSize + MiB));
  fs.writeFileSync(path.join(src, "small.txt"), "hello\n");
  const local = new PieceStore(path.join(root, "local"));
  const m = await buildPackage({ dir: src, name: "ha", version: "1", store: local, builder: "test" });
  for (const h of piecesOf(m)) await a.api.uploadPiece(h, (await local.get(h))!);
  await a.api.registerPackage(m);
  const id = packageId(m);
  const size = 3 * PieceSize + MiB + 6;
  const n = piecesOf(m).length;

  const peer = async (name: string, s: ServerProcess): Promise<PeerProcess> => {
    const p = await startPeer({ serverUrl: s.url, joinToken: s.joinToken, name, dataDir: path.join(root, name) });
    undo.push(() => p.stop());
    return p;
  };

  // p1 talks to the follower (its announces reach the leader's tracker through B), p2 to the leader.
  const p1 = await peer("p1", b);
  const r1 = await p1.fetch(id);
  assert.ok("path" in r1.result, JSON.stringify(r1.result));
  assert.equal(r1.stats.bytesFromOrigin, size, "the first copy comes from the origin");
  const p2 = await peer("p2", a);
  const r2 = await p2.fetch(id);
  assert.ok("path" in r2.result, JSON.stringify(r2.result));
  t.diagnostic(`p2 (on the leader): ${r2.stats.bytesFromOrigin} bytes from the origin, ${r2.stats.bytesFromPeers} from peers`);
  assert.equal(r2.stats.bytesFromOrigin, 0, "the tracker sent p2 to p1, connected to the other server");
  assert.equal(r2.stats.bytesFromPeers, size);
  assert.ok((await b.metric("tiffin_swarm_forwarded_total", { result: "ok" })) > 0, "B passed p1's calls on to the leader");

  // The leader dies; B sees its key until the lease runs out: calls passed on fail, fetches go on.
  a.child.kill("SIGKILL");
  const p3 = await peer("p3", b);
  const r3 = await p3.fetch(id);
  assert.ok("path" in r3.result, JSON.stringify(r3.result));
  assert.equal(r3.stats.bytesFromOrigin, size, "no tracker: every piece from the origin");
  assert.ok((await b.metric("tiffin_swarm_forwarded_total", { result: "unreachable" })) > 0, "B could not reach the dead leader");

  // B leads: its tracker starts empty with a new epoch, and the peers' full announces fill it.
  await eventually("B leads", async () => (await b.leading()) === true, 20_000);
  const registered = await createAgentClient(b.url).register(b.joinToken, { inventory: inventoryOf("probe") });
  assert.ok(registered.ok, JSON.stringify(registered));
  const probe = registered.value;
  await eventually("the new tracker hands out p1 and p3", async () => {
    const hosts = await plannedPeers(b.url, probe.hostToken, id, n);
    return hosts.has(p1.hostId) && hosts.has(p3.hostId);
  });
  const p4 = await peer("p4", b);
  const r4 = await p4.fetch(id);
  assert.ok("path" in r4.result, JSON.stringify(r4.result));
  assert.equal(r4.stats.bytesFromOrigin, 0, "p4 fetched from the peers the new tracker knows");
});
