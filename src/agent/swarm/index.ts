// Peer-to-peer package distribution, agent side: SwarmPeer (serve + fetch, used by the real agent on
// its existing endpoint), and startSwarmPeer, the same code on a listener of its own for benchmarks
// and tests. See README.md in this folder's parent.

import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import type { Logger } from "pino";
import type { z } from "zod";
import { checkAnswer, heartbeatResponseSchema, registerResponseSchema } from "../../api/agent-wire.ts";
import { advertiseAddress, parseListen } from "../inventory.ts";
import { fetchFromServer, PackageCache } from "../packages.ts";
import type { SwarmStats } from "./peer.ts";
import { SwarmPeer } from "./peer.ts";

export { SwarmPeer } from "./peer.ts";
export type { SwarmPeerOptions, SwarmStats } from "./peer.ts";
export { TokenBucket } from "./rate.ts";

/** Options of startSwarmPeer. */
export interface StartSwarmPeerOptions {
  serverUrl: string;
  /** A host token, from registering with the join token (registerSwarmHost). */
  token: string;
  dataDir: string;
  /** "IP:0" (or IP:PORT) to serve pieces on; the IP is what peers are told. */
  listen: string;
  /** @default none */
  uploadLimitBytesPerSec?: number;
  /** @default 4 */
  maxUploads?: number;
  /** @default none */
  downloadLimitBytesPerSec?: number;
  /** Pieces fetched at once. @default 6 */
  parallel?: number;
  /** See SwarmPeerOptions. */
  endgameAfterMs?: number;
  log?: Logger;
}

/** A running swarm peer. */
export interface SwarmPeerHandle {
  /** host:port peers fetch from. */
  address: string;
  /** Fetches (or finds in the cache) a package and unpacks it; `onProgress` gets bytes of distinct pieces held and their total. */
  fetch(packageId: string, onProgress?: (done: number, total: number) => void): Promise<{ path: string } | { error: string }>;
  /** bytesFromOrigin / bytesFromPeers / bytesUploaded count bytes on the wire (zstd when it paid). */
  stats(): SwarmStats;
  close(): Promise<void>;
}

/** Starts a swarm peer on its own listener: the agent's fetch and serve code without the agent. */
export async function startSwarmPeer(opts: StartSwarmPeerOptions): Promise<SwarmPeerHandle> {
  const serverUrl = opts.serverUrl.replace(/\/+$/, "");
  const { host, port } = parseListen(opts.listen);
  let address = "";
  const peer = new SwarmPeer({
    serverUrl: () => serverUrl,
    token: () => opts.token,
    dataDir: opts.dataDir,
    address: () => address,
    ...(opts.uploadLimitBytesPerSec !== undefined ? { uploadLimitBytesPerSec: opts.uploadLimitBytesPerSec } : {}),
    ...(opts.downloadLimitBytesPerSec !== undefined ? { downloadLimitBytesPerSec: opts.downloadLimitBytesPerSec } : {}),
    ...(opts.maxUploads !== undefined ? { maxUploads: opts.maxUploads } : {}),
    ...(opts.parallel !== undefined ? { parallel: opts.parallel } : {}),
    ...(opts.endgameAfterMs !== undefined ? { endgameAfterMs: opts.endgameAfterMs } : {}),
    log: opts.log ?? null,
  });
  const server = http.createServer((req, res) => {
    if (!peer.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  address = advertiseAddress(host, (server.address() as AddressInfo).port, os.networkInterfaces());
  const cache = new PackageCache(opts.dataDir, (p) => fetchFromServer(serverUrl, opts.token, p), peer);
  await peer.start();
  return {
    address,
    fetch: (id, onProgress) => cache.fetchPackage(id, onProgress),
    stats: () => peer.stats(),
    close: async () => {
      peer.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

/** A host registered for a swarm peer outside a real agent (benchmarks, tests). */
export interface SwarmHost {
  hostId: string;
  /** The host token: pass it to startSwarmPeer. */
  token: string;
  /** Stops heartbeating (the host then goes down, and the tracker forgets it). */
  close(): void;
}

/** Registers a made-up host with the join token and heartbeats for it, so the tracker counts it up. */
export async function registerSwarmHost(o: { serverUrl: string; joinToken: string; name: string; address?: string }): Promise<SwarmHost> {
  const base = o.serverUrl.replace(/\/+$/, "");
  const inventory = {
    name: o.name,
    address: o.address ?? "127.0.0.1:9",
    cores: 1,
    memoryMiB: 1024,
    diskMiB: 1024,
    os: { id: "linux", version: "0" },
    kernel: os.release(),
    runtime: "none",
    labels: { role: "swarm-peer" },
  };
  const post = async <T>(path: string, token: string, body: unknown, schema: z.ZodType<T>): Promise<T> => {
    const res = await fetch(`${base}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${text.slice(0, 200)}`);
    const checked = checkAnswer(schema, JSON.parse(text));
    if (!checked.ok) throw new Error(`${path}: an answer of another shape (${checked.problem})`);
    return checked.value;
  };
  const reg = await post("/v1/agent/register", o.joinToken, { inventory }, registerResponseSchema);
  let stopped = false;
  const beat = (): void => {
    if (stopped) return;
    post("/v1/agent/heartbeat", reg.hostToken, { hostId: reg.hostId }, heartbeatResponseSchema)
      .then((r) => (r.reregister ? post("/v1/agent/register", o.joinToken, { inventory, hostToken: reg.hostToken }, registerResponseSchema) : null))
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) setTimeout(beat, reg.heartbeatMs).unref();
      });
  };
  setTimeout(beat, reg.heartbeatMs).unref();
  return { hostId: reg.hostId, token: reg.hostToken, close: () => void (stopped = true) };
}
