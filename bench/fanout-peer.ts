// One agent of the fan-out benchmark, run by bench/fanout.ts inside a host namespace
// (`ip netns exec NS node bench/fanout-peer.ts`). It registers with the origin server as a host
// (registerSwarmHost: it heartbeats, so the tracker counts it up), says "ready", and on "go"
// fetches the package and unpacks it into a tree, as an agent does before a task starts:
//   - http:  the agent's PackageCache without a swarm: the manifest and every piece from the
//            server's own piece GET (/v1/agent/packages/..., host token), one after another, each
//            verified by sha256 and stored, then unpacked (the baseline);
//   - swarm: through Tiffin's swarm (src/agent/swarm), which asks the server's tracker whom to fetch
//            from and serves the pieces it holds to the other agents.
// After "done" it keeps serving (swarm) until "stop".

import fs from "node:fs";
import { fetchFromServer, PackageCache } from "../src/agent/packages.ts";
import { registerSwarmHost, startSwarmPeer } from "../src/agent/swarm/index.ts";
import type { SwarmPeerHandle } from "../src/agent/swarm/index.ts";
import { emit, obey, peerConfig } from "./fanout-lib.ts";
import type { PeerStats } from "./fanout-lib.ts";

const cfg = peerConfig();

async function main(): Promise<void> {
  fs.mkdirSync(cfg.dataDir, { recursive: true });
  const host = await registerSwarmHost({ serverUrl: cfg.serverUrl, joinToken: cfg.joinToken, name: `fanout-${cfg.ip}`, address: `${cfg.ip}:9` });
  const swarm: SwarmPeerHandle | null = cfg.method === "swarm"
    ? await startSwarmPeer({ serverUrl: cfg.serverUrl, token: host.token, dataDir: cfg.dataDir, listen: `${cfg.ip}:0`, ...(cfg.uploadLimit > 0 ? { uploadLimitBytesPerSec: cfg.uploadLimit } : {}) })
    : null;
  // http: pieces from the server, counted as they arrive (PackageCache reports no progress without a swarm).
  const plain: PeerStats = { bytesFromOrigin: 0, bytesFromPeers: 0, bytesUploaded: 0 };
  const stats = (): PeerStats => {
    if (!swarm) return { ...plain };
    const s = swarm.stats();
    return { bytesFromOrigin: s.bytesFromOrigin, bytesFromPeers: s.bytesFromPeers, bytesUploaded: s.bytesUploaded, swarm: { peerBusy: s.peerBusy, peerFailed: s.peerFailed, failures: s.failures, fallbackAsks: s.fallbackAsks, stuckAsks: s.stuckAsks, trackerErrors: s.trackerErrors, endgameAsks: s.endgameAsks, endgameWins: s.endgameWins } };
  };
  const cache = swarm ? null : new PackageCache(cfg.dataDir, async (p) => {
    const r = await fetchFromServer(cfg.serverUrl, host.token, p);
    if (Buffer.isBuffer(r)) plain.bytesFromOrigin += r.length;
    return r;
  });
  let held = 0;
  const report = setInterval(() => emit({ type: "progress", bytes: swarm ? held : plain.bytesFromOrigin, stats: stats() }), 500);
  report.unref();
  const go = async (): Promise<void> => {
    const t0 = performance.now();
    let allPiecesAt = 0;
    const r = swarm
      ? await swarm.fetch(cfg.packageId, (done, total) => {
          held = done;
          if (done === total) allPiecesAt = performance.now();
        })
      : await (cache as PackageCache).fetchPackage(cfg.packageId);
    if ("error" in r) throw new Error(r.error);
    clearInterval(report);
    const end = performance.now();
    emit({ type: "done", ms: end - t0, stats: stats(), ...(allPiecesAt > 0 ? { unpackMs: end - allPiecesAt } : {}) });
    // The swarm keeps serving; its uploads are reported until "stop".
    if (swarm) setInterval(() => emit({ type: "stats", stats: stats() }), 1000).unref();
  };
  obey(
    () => void go().catch((err: unknown) => fail(err)),
    async () => {
      emit({ type: "stats", stats: stats() });
      host.close();
      await swarm?.close();
    },
  );
  emit({ type: "ready" });
}

function fail(err: unknown): void {
  emit({ type: "error", message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}

main().catch(fail);
