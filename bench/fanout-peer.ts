// One agent of the fan-out benchmark, run by bench/fanout.ts inside a host namespace
// (`ip netns exec NS node bench/fanout-peer.ts`). It registers with the origin server as a host
// (and heartbeats, so the server sees it up), says "ready", and on "go" fetches the package:
//   - http:  the manifest and every piece from the server's own piece GET (/v1/agent/packages/...,
//            host token), one after another, each verified by sha256 and stored, as an agent
//            without the swarm does (the baseline);
//   - swarm: through Tiffin's swarm (src/agent/swarm), which asks the server's tracker whom to fetch
//            from and serves the pieces it holds to the other agents.
// After "done" it keeps serving (swarm) until "stop".

import fs from "node:fs";
import path from "node:path";
import type { PackageRecord, RegisterResponse } from "../src/api/types.ts";
import type { Manifest } from "../src/pkg/index.ts";
import { PieceStore, piecesOf } from "../src/pkg/index.ts";
import { emit, obey, peerConfig } from "./fanout-lib.ts";
import type { PeerConfig, PeerStats } from "./fanout-lib.ts";

const cfg = peerConfig();

async function register(c: PeerConfig): Promise<RegisterResponse> {
  const inventory = {
    name: `fanout-${c.ip}`, address: `${c.ip}:9`, cores: 2, memoryMiB: 4096, diskMiB: 65_536,
    os: { id: "debian", version: "12" }, kernel: "6.1.0", runtime: "none", labels: { bench: "fanout" },
  };
  const res = await fetch(`${c.serverUrl}/v1/agent/register`, { method: "POST", headers: { authorization: `Bearer ${c.joinToken}`, "content-type": "application/json" }, body: JSON.stringify({ inventory }) });
  if (!res.ok) throw new Error(`register: ${res.status} ${await res.text()}`);
  return (await res.json()) as RegisterResponse;
}

/** Heartbeats until the process exits (a host that stops is marked down and may be left out by the tracker). */
function heartbeat(c: PeerConfig, reg: RegisterResponse): void {
  const timer = setInterval(() => {
    fetch(`${c.serverUrl}/v1/agent/heartbeat`, { method: "POST", headers: { authorization: `Bearer ${reg.hostToken}`, "content-type": "application/json" }, body: JSON.stringify({ hostId: reg.hostId }) }).then(
      (r) => r.body?.cancel(),
      () => undefined,
    );
  }, reg.heartbeatMs);
  timer.unref();
}

/** The http method: every piece from the origin, verified and stored. */
async function httpFetch(c: PeerConfig, token: string, onBytes: (n: number) => void): Promise<PeerStats> {
  const get = async (p: string): Promise<Buffer> => {
    const r = await fetch(`${c.serverUrl}${p}`, { headers: { authorization: `Bearer ${token}` } });
    if (!r.ok) throw new Error(`GET ${p}: ${r.status} ${await r.text()}`);
    return Buffer.from(await r.arrayBuffer());
  };
  const manifest = (JSON.parse((await get(`/v1/agent/packages/manifests/${c.packageId}`)).toString("utf8")) as PackageRecord).manifest as Manifest;
  const store = new PieceStore(path.join(c.dataDir, "pieces"));
  let bytes = 0;
  for (const h of piecesOf(manifest)) {
    if (store.has(h)) continue;
    const data = await get(`/v1/agent/packages/pieces/${h}`);
    const put = await store.put(data, h);
    if ("error" in put) throw new Error(`piece ${h}: ${put.error}`);
    bytes += data.length;
    onBytes(bytes);
  }
  return { bytesFromOrigin: bytes, bytesFromPeers: 0, bytesUploaded: 0 };
}

/** The swarm's peer as src/agent/swarm/index.ts exports it (loaded only for the swarm method). */
interface SwarmPeer {
  address: string;
  fetch(packageId: string, onProgress?: (...args: unknown[]) => void): Promise<{ path: string } | { error: string }>;
  stats(): PeerStats;
  close(): Promise<void> | void;
}

async function startSwarm(c: PeerConfig, token: string): Promise<SwarmPeer> {
  const mod = (await import(new URL("../src/agent/swarm/index.ts", import.meta.url).href)) as {
    startSwarmPeer(o: { serverUrl: string; token: string; dataDir: string; listen: string; uploadLimitBytesPerSec?: number }): Promise<SwarmPeer>;
  };
  return mod.startSwarmPeer({ serverUrl: c.serverUrl, token, dataDir: c.dataDir, listen: `${c.ip}:0`, ...(c.uploadLimit > 0 ? { uploadLimitBytesPerSec: c.uploadLimit } : {}) });
}

async function main(): Promise<void> {
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  const reg = await register(cfg);
  heartbeat(cfg, reg);
  const swarm = cfg.method === "swarm" ? await startSwarm(cfg, reg.hostToken) : null;
  let lastReport = 0;
  const progress = (bytes: number): void => {
    const now = performance.now();
    if (now - lastReport < 500) return;
    lastReport = now;
    emit({ type: "progress", bytes, stats: swarm ? swarm.stats() : { bytesFromOrigin: bytes, bytesFromPeers: 0, bytesUploaded: 0 } });
  };
  const go = async (): Promise<void> => {
    const t0 = performance.now();
    if (swarm) {
      const r = await swarm.fetch(cfg.packageId, (...args: unknown[]) => progress(bytesOf(args, swarm)));
      if ("error" in r) throw new Error(r.error);
      emit({ type: "done", ms: performance.now() - t0, stats: swarm.stats() });
      // Keep serving; report what was uploaded until told to stop.
      setInterval(() => emit({ type: "stats", stats: swarm.stats() }), 1000).unref();
    } else {
      const stats = await httpFetch(cfg, reg.hostToken, progress);
      emit({ type: "done", ms: performance.now() - t0, stats });
    }
  };
  obey(
    () => void go().catch((err: unknown) => fail(err)),
    async () => {
      if (swarm) emit({ type: "stats", stats: swarm.stats() });
      await swarm?.close();
    },
  );
  emit({ type: "ready" });
}

/** Bytes received so far: a numeric progress argument if the swarm gives one, else its stats. */
function bytesOf(args: unknown[], swarm: SwarmPeer): number {
  const s = swarm.stats();
  const counted = s.bytesFromOrigin + s.bytesFromPeers;
  if (counted > 0) return counted;
  const first = args[0];
  return typeof first === "number" ? first : 0;
}

function fail(err: unknown): void {
  emit({ type: "error", message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

main().catch(fail);
