// The agent's package cache against a small origin (node:http) that can serve corrupt bytes and go
// away, and end to end with the REAL server process and real tasks reading files from their package
// (which the agent then serves to a swarm peer).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import type { JobStatus } from "../api/types.ts";
import type { Manifest } from "../pkg/index.ts";
import { buildPackage, packageId, PieceSize, PieceStore, piecesOf, removeTree, sha256 } from "../pkg/index.ts";
import { helperConfig } from "./config.ts";
import { serverAndAgent } from "./real-server.ts";
import { fetchFromServer, PackageCache } from "./packages.ts";
import { registerSwarmHost, startSwarmPeer } from "./swarm/index.ts";
import { alive, testAssignment, testSpec, waitFor } from "./test-fixtures.ts";

function tmp(t: TestContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-agent-pkg-"));
  t.after(() => removeTree(d));
  return d;
}

async function build(root: string, name: string, hello: string, store: PieceStore): Promise<{ m: Manifest; id: string }> {
  const dir = path.join(root, "trees", name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "hello.txt"), hello);
  fs.writeFileSync(path.join(dir, "shared.txt"), "the same in every version\n");
  const m = await buildPackage({ dir, name: "app", version: name, store, builder: "test" });
  return { m, id: packageId(m) };
}

/** An origin serving manifests and pieces from `store`; `corrupt` pieces are served damaged. */
async function origin(t: TestContext, store: PieceStore, manifests: Map<string, Manifest>): Promise<{ url: string; requests: string[]; corrupt: Set<string>; close(): Promise<void> }> {
  const requests: string[] = [];
  const corrupt = new Set<string>();
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? "";
      requests.push(url);
      const [, kind, hash] = /^\/v1\/agent\/packages\/(pieces|manifests)\/([0-9a-f]{64})$/.exec(url) ?? [];
      if (req.headers.authorization !== "Bearer tok" || !kind || !hash) return void res.writeHead(404).end();
      if (kind === "manifests") return void res.end(JSON.stringify({ manifest: manifests.get(hash) }));
      const data = await store.get(hash);
      if (!data) return void res.writeHead(404).end();
      res.end(corrupt.has(hash) ? Buffer.concat([data, Buffer.from("!")]) : data);
    })();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const close = () => new Promise<void>((r) => server.close(() => r()));
  t.after(() => (server.listening ? close() : undefined));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, corrupt, close };
}

void test("the cache verifies pieces, shares them between versions, and works with the origin gone", async (t) => {
  const root = tmp(t);
  const src = new PieceStore(path.join(root, "origin"));
  const v1 = await build(root, "1", "one\n", src);
  const v2 = await build(root, "2", "two\n", src);
  const o = await origin(t, src, new Map([[v1.id, v1.m], [v2.id, v2.m]]));
  const agentDir = path.join(root, "agent");
  const cache = new PackageCache(agentDir, (p) => fetchFromServer(o.url, "tok", p));
  const pin = (v: { m: Manifest; id: string }) => ({ ref: `app:${v.m.version}`, name: "app", version: v.m.version, id: v.id });

  const hello = v1.m.files.find((f) => f.path === "hello.txt")!.pieces[0]!;
  o.corrupt.add(hello);
  const bad = await cache.prepare([pin(v1)]);
  assert.ok("error" in bad && /corrupt piece/.test(bad.error), JSON.stringify(bad));
  assert.equal(new PieceStore(path.join(agentDir, "packages", "pieces")).has(hello), false, "the bad piece was not kept");

  o.corrupt.clear();
  const good = await cache.prepare([pin(v1)]);
  assert.ok("paths" in good, JSON.stringify(good));
  assert.equal(fs.readFileSync(path.join(good.paths["app"]!, "hello.txt"), "utf8"), "one\n");

  o.requests.length = 0;
  const second = await cache.prepare([pin(v2)]);
  assert.ok("paths" in second);
  const pieceFetches = o.requests.filter((r) => r.includes("/pieces/"));
  assert.equal(pieceFetches.length, 1, `only v2's new piece is fetched (${piecesOf(v2.m).length} in all): ${pieceFetches.join(", ")}`);
  // The unchanged file is the same inode in both trees (stored once); the changed one is its own.
  const [t1, t2] = [good.paths["app"]!, second.paths["app"]!];
  assert.equal(fs.statSync(path.join(t2, "shared.txt")).ino, fs.statSync(path.join(t1, "shared.txt")).ino, "the unchanged file is linked");
  assert.notEqual(fs.statSync(path.join(t2, "hello.txt")).ino, fs.statSync(path.join(t1, "hello.txt")).ino);
  assert.equal(fs.readFileSync(path.join(t2, "hello.txt"), "utf8"), "two\n");
  await removeTree(t1); // as GC does: the other version keeps its link
  assert.equal(fs.readFileSync(path.join(t2, "shared.txt"), "utf8"), "the same in every version\n");

  await o.close();
  const offline = await new PackageCache(agentDir, (p) => fetchFromServer(o.url, "tok", p)).prepare([pin(v2)]);
  assert.ok("paths" in offline, `a restart needs no origin: ${JSON.stringify(offline)}`);
});

void test("each byte is written once: pieces go straight into the tree's files, are served from there, and after a restart are verified before use", async (t) => {
  const root = tmp(t);
  const src = new PieceStore(path.join(root, "origin"));
  const dir = path.join(root, "src");
  fs.mkdirSync(path.join(dir, "lib", "deep"), { recursive: true });
  const big = randomBytes(2 * PieceSize + 12345); // three pieces, the last one short
  fs.writeFileSync(path.join(dir, "lib", "big.bin"), big);
  fs.writeFileSync(path.join(dir, "lib", "deep", "copy.bin"), big); // the same pieces in a second file
  fs.writeFileSync(path.join(dir, "run.sh"), "#!/bin/sh\necho hi\n", { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "empty"), "");
  fs.symlinkSync("lib/big.bin", path.join(dir, "link"));
  const m = await buildPackage({ dir, name: "app", version: "1", store: src, builder: "test" });
  const id = packageId(m);
  const o = await origin(t, src, new Map([[id, m]]));
  const agentDir = path.join(root, "agent");
  const got = await new PackageCache(agentDir, (p) => fetchFromServer(o.url, "tok", p)).fetchPackage(id);
  assert.ok("path" in got, JSON.stringify(got));
  const tree = got.path;
  assert.ok(fs.readFileSync(path.join(tree, "lib", "big.bin")).equals(big));
  assert.ok(fs.readFileSync(path.join(tree, "lib", "deep", "copy.bin")).equals(big));
  assert.equal(fs.readFileSync(path.join(tree, "run.sh"), "utf8"), "#!/bin/sh\necho hi\n");
  assert.equal(fs.statSync(path.join(tree, "run.sh")).mode & 0o777, 0o555);
  assert.equal(fs.statSync(path.join(tree, "lib", "big.bin")).mode & 0o777, 0o444);
  assert.equal(fs.statSync(path.join(tree, "empty")).size, 0);
  assert.equal(fs.readlinkSync(path.join(tree, "link")), "lib/big.bin");
  assert.deepEqual(fs.readdirSync(path.join(agentDir, "packages", "trees")), [id], "no partial tree left");
  const pieceFiles = fs.existsSync(path.join(agentDir, "packages", "pieces")) ? fs.readdirSync(path.join(agentDir, "packages", "pieces"), { recursive: true }) : [];
  assert.deepEqual(pieceFiles, [], "no piece files: every byte was written once, into the tree");
  assert.equal(o.requests.filter((r) => r.includes("/pieces/")).length, piecesOf(m).length, "each distinct piece fetched once");
  // Served from the tree (what a swarm peer asks for).
  const store = new PieceStore(path.join(agentDir, "packages", "pieces"));
  for (const h of piecesOf(m)) assert.equal(sha256((await store.get(h))!), h);

  // After a restart (a new process: what was verified is not remembered), the tree's pieces are
  // known again and hashed before use; a damaged one is not served, the others are.
  const bigPieces = m.files.find((f) => f.path === "lib/big.bin")!.pieces;
  const file = path.join(tree, "lib", "big.bin");
  fs.chmodSync(file, 0o644);
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, Buffer.from("X"), 0, 1, PieceSize + 7); // in the second piece
  fs.closeSync(fd);
  const copyFile = path.join(tree, "lib", "deep", "copy.bin");
  fs.chmodSync(path.join(tree, "lib", "deep"), 0o755);
  fs.rmSync(copyFile); // so the damaged piece has no other place
  const code = `
    const { PackageCache } = await import(${JSON.stringify(new URL("./packages.ts", import.meta.url).href)});
    const { PieceStore, sha256 } = await import(${JSON.stringify(new URL("../pkg/index.ts", import.meta.url).href)});
    new PackageCache(process.env.DATA, async () => ({ error: "offline" }));
    const store = new PieceStore(process.env.DATA + "/packages/pieces");
    const out = [];
    for (const h of JSON.parse(process.env.HASHES)) { const b = await store.get(h); out.push(b === null ? "missing" : sha256(b) === h ? "ok" : "WRONG"); }
    console.log(out.join(","));`;
  const r = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code], { env: { ...process.env, DATA: agentDir, HASHES: JSON.stringify(bigPieces) }, encoding: "utf8" });
  assert.equal(r.stdout.trim(), "ok,missing,ok", r.stderr);
});

void test("helperConfig hands packages over as env and, in a sandbox, a read-only mount", () => {
  const a = testAssignment("att-1", testSpec());
  const base = { ports: {}, hostName: "h", fenceMs: 1000, agentEnv: {}, packages: { "my-app": "/data/packages/trees/abc" } };
  const plain = helperConfig(a, base);
  assert.equal(plain.env["TIFFIN_PKG_MY_APP"], "/data/packages/trees/abc");
  const sandbox = { runtime: { path: "/usr/bin/crun", rootless: false }, network: "host", mounts: [], readOnlyPaths: [] } as unknown as NonNullable<Parameters<typeof helperConfig>[1]["sandbox"]>;
  const boxed = helperConfig(a, { ...base, sandbox });
  assert.equal(boxed.env["TIFFIN_PKG_MY_APP"], "/packages/my-app");
  assert.deepEqual(boxed.sandbox?.mounts, [{ host: "/data/packages/trees/abc", task: "/packages/my-app", writable: false }]);
  assert.deepEqual(sandbox.mounts, [], "the sandbox passed in is not modified");
});



void test("with the real server: tasks read their pinned package, sandboxed (read-only /packages/app) and plain", async (t) => {
  const { root, agentDir, server, api } = await serverAndAgent(t, { prefix: "tiffin-agent-pkg-", name: "pkg-1", labels: { rack: "r1" } });
  const local = new PieceStore(path.join(root, "local"));
  const v1 = await build(root, "1", "package says hi\n", local);
  for (const h of piecesOf(v1.m)) assert.equal((await api(`/v1/packages/pieces/${h}`, { method: "POST", raw: true, body: (await local.get(h))! })).status, 200);
  assert.equal((await api("/v1/packages", { method: "POST", body: JSON.stringify({ manifest: v1.m }) })).status, 200);

  const script = 'cat "$TIFFIN_PKG_APP/hello.txt"; echo "at $TIFFIN_PKG_APP"; (touch "$TIFFIN_PKG_APP/x" 2>/dev/null && echo writable) || echo read-only; sleep 60';
  const jobs = [
    testSpec({ name: "boxed", command: ["/bin/sh", "-c", script], packages: ["app:latest"], resources: { cpu: 0.1, memoryMiB: 16, diskMiB: 1 } }),
    testSpec({ name: "plain", command: ["/bin/sh", "-c", script], packages: ["app:1"], isolation: "none", resources: { cpu: 0.1, memoryMiB: 16, diskMiB: 1 } }),
  ];
  for (const spec of jobs) {
    const r = await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec }) });
    assert.equal(r.status, 200, await r.clone().text());
  }
  const logsOf = (job: string) =>
    waitFor(`${job} printed its package file`, async () => {
      const r = await api(`/v1/tasks/${job}/0/logs?stream=stdout`);
      const text = r.status === 200 ? await r.text() : "";
      return /read-only|writable/.test(text) ? text : null;
    }, 30_000);
  const boxed = await logsOf("boxed");
  assert.match(boxed, /^package says hi\nat \/packages\/app\nread-only\n/);
  const plain = await logsOf("plain");
  assert.match(plain, new RegExp(`^package says hi\\nat ${agentDir}/packages/trees/${v1.id}\\n`));

  // The agent serves what it fetched to other agents, on its logs endpoint (the same swarm code).
  const host = await registerSwarmHost({ serverUrl: server.url, joinToken: server.joinToken, name: "pkg-peer" });
  t.after(() => host.close());
  const peer = await startSwarmPeer({ serverUrl: server.url, token: host.token, dataDir: path.join(root, "peer"), listen: "127.0.0.1:0" });
  t.after(() => peer.close());
  const fetched = await peer.fetch(v1.id);
  assert.ok("path" in fetched, JSON.stringify(fetched));
  assert.equal(fs.readFileSync(path.join(fetched.path, "hello.txt"), "utf8"), "package says hi\n");
  assert.deepEqual([peer.stats().bytesFromOrigin > 0, peer.stats().bytesFromPeers > 0], [false, true], "every piece came from the agent");

  const pids = await Promise.all(["boxed", "plain"].map(async (job) => ((await (await api(`/v1/jobs/${job}`)).json()) as JobStatus).tasks[0]!.pid!));
  await server.stop();
  await new Promise((r) => setTimeout(r, 1000));
  assert.ok(pids.every(alive), "tasks keep running with the origin gone");
});
