// Test helpers of the swarm tests (tests only): the REAL server in a child process with a pushed
// package of real random files (7 pieces, 21 MiB), swarm peers on it, and fake holders.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import type { Manifest } from "../../pkg/index.ts";
import { buildPackage, compressPiece, packageId, PieceSize, PieceStore, piecesOf, removeTree } from "../../pkg/index.ts";
import { startRealServer } from "../real-server.ts";
import type { RealServer } from "../real-server.ts";
import { registerSwarmHost, startSwarmPeer } from "./index.ts";
import type { SwarmPeerHandle, StartSwarmPeerOptions } from "./index.ts";

/** Bytes in a MiB. */
export const MiB = 1024 * 1024;

/** A real server with a pushed package, and a way to add peers. */
export interface World {
  root: string;
  server: RealServer;
  id: string;
  m: Manifest;
  /** Bytes of the package's distinct pieces. */
  size: number;
  /** Files of the package and their bytes. */
  files: Map<string, Buffer>;
  admin(p: string, init?: RequestInit): Promise<Response>;
  peer(name: string, o?: Partial<StartSwarmPeerOptions>): Promise<SwarmPeerHandle & { hostId: string; token: string; dataDir: string }>;
}

/** A real server with a pushed package (random, incompressible files unless `text`), and a way to add peers. */
export async function world(t: TestContext, o: { text?: boolean; swarm?: { announceMs?: number; peerTokenRotateMs?: number } } = {}): Promise<World> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-swarm-"));
  const closers: (() => Promise<void> | void)[] = [];
  t.after(async () => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
    await removeTree(root);
  });
  const server = await startRealServer(path.join(root, "server"), o.swarm ? { swarm: o.swarm } : {});
  closers.push(() => server.stop());
  const admin = (p: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${server.url}${p}`, { ...init, headers: { authorization: `Bearer ${server.adminToken}`, "content-type": init.body instanceof Uint8Array ? "application/octet-stream" : "application/json" } });

  const src = path.join(root, "src");
  fs.mkdirSync(path.join(src, "lib"), { recursive: true });
  // Random text over 5 letters: compresses to about a third, and is quick to make.
  const text = (n: number): Buffer => {
    const b = randomBytes(n);
    for (let i = 0; i < n; i++) b[i] = "acgt\n".charCodeAt(b[i]! % 5);
    return b;
  };
  const files = new Map<string, Buffer>(
    o.text
      ? [["app.log", text(2 * PieceSize + MiB)], ["small.txt", Buffer.from("hello from the swarm\n")]]
      : [
          ["big.bin", randomBytes(4 * PieceSize + MiB)],
          ["lib/data.bin", randomBytes(PieceSize - 1)],
          ["small.txt", Buffer.from("hello from the swarm\n")],
        ],
  );
  for (const [p, data] of files) fs.writeFileSync(path.join(src, p), data);
  const local = new PieceStore(path.join(root, "local"));
  const m = await buildPackage({ dir: src, name: "swarmy", version: "1", store: local, builder: "test" });
  // Uploaded as `tiffin pkg push` does: zstd when it pays.
  for (const h of piecesOf(m)) {
    const data = (await local.get(h))!;
    const z = compressPiece(data);
    const r = await fetch(`${server.url}/v1/packages/pieces/${h}`, {
      method: "POST",
      headers: { authorization: `Bearer ${server.adminToken}`, "content-type": "application/octet-stream", ...(z ? { "content-encoding": "zstd" } : {}) },
      body: z ?? data,
    });
    assert.equal(r.status, 200, await r.text());
  }
  const reg = await admin("/v1/packages", { method: "POST", body: JSON.stringify({ manifest: m }) });
  assert.equal(reg.status, 200, await reg.text());
  const size = [...files.values()].reduce((n, b) => n + b.length, 0);

  const peer: World["peer"] = async (name, o = {}) => {
    const host = await registerSwarmHost({ serverUrl: server.url, joinToken: server.joinToken, name });
    closers.push(() => host.close());
    const dataDir = o.dataDir ?? path.join(root, name);
    const p = await startSwarmPeer({ serverUrl: server.url, token: host.token, dataDir, listen: "127.0.0.1:0", ...o });
    closers.push(() => p.close());
    return Object.assign(p, { hostId: host.hostId, token: host.token, dataDir });
  };
  return { root, server, id: packageId(m), m, size, files, admin, peer };
}

/** Asserts a fetch unpacked every file of the package intact. */
export function assertTree(w: World, r: { path: string } | { error: string }): void {
  assert.ok("path" in r, JSON.stringify(r));
  for (const [p, data] of w.files) assert.ok(fs.readFileSync(path.join(r.path, p)).equals(data), `${p} unpacked intact`);
}

/** A registered host that announces every piece of the world's package and answers piece GETs with
 * `answer` (a liar, a broken disk): removed after the test. It announces once, or every
 * `announceEveryMs` (so the tracker never forgets it, whatever the tokens in its answers say). */
export async function fakeHolder(
  t: TestContext,
  w: World,
  name: string,
  answer: (res: http.ServerResponse, req: http.IncomingMessage) => void,
  o: { announceEveryMs?: number } = {},
): Promise<{ hostId: string; token: string; address: string }> {
  const host = await registerSwarmHost({ serverUrl: w.server.url, joinToken: w.server.joinToken, name });
  t.after(() => host.close());
  const server = http.createServer((req, res) => {
    req.resume();
    answer(res, req);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  }));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const announce = (): Promise<Response> =>
    fetch(`${w.server.url}/v1/agent/swarm/announce`, {
      method: "POST",
      headers: { authorization: `Bearer ${host.token}`, "content-type": "application/json" },
      body: JSON.stringify({ address, full: true, packages: [{ id: w.id, complete: true, pieces: [] }] }),
    });
  const first = await announce();
  assert.equal(first.status, 200, await first.text());
  if (o.announceEveryMs !== undefined) {
    const timer = setInterval(() => void announce().then((r) => r.body?.cancel(), () => undefined), o.announceEveryMs);
    timer.unref();
    t.after(() => clearInterval(timer));
  }
  return { ...host, address };
}

