// The BitTorrent baseline of bench/fanout.ts: webtorrent 2.8.5 and bittorrent-tracker 11, from this
// folder's own node_modules (installed by fanout.ts on first use; not dependencies of Tiffin).
//   - webtorrent-seed (origin namespace): an HTTP tracker (announce every 3 s, as Kraken does) and a
//     seeder of the package's file; "ready" carries the .torrent.
//   - webtorrent (a host namespace): a client that downloads the .torrent's file on "go" and keeps
//     seeding until "stop". Piece selection is webtorrent's default, sequential, unless told
//     "rarest": on this machine rarest-first costs webtorrent about 4x the CPU and was slower.
// TCP only: no DHT, no local discovery, no uTP (8.5 s vs 0.75 s for 50 MB on loopback here, see
// docs/operations.md, "Machine notes"), no WebRTC (stubbed out in package.json), no web seeds.

import path from "node:path";
import { emit, obey, peerConfig } from "../fanout-lib.ts";
import type { PeerStats } from "../fanout-lib.ts";

/** What this file uses of webtorrent's API (it ships no types). */
interface Wire {
  remoteAddress: string;
  on(ev: "download" | "upload", fn: (n: number) => void): void;
}
interface Torrent {
  torrentFile: Uint8Array;
  downloaded: number;
  uploaded: number;
  done: boolean;
  on(ev: "done", fn: () => void): void;
  on(ev: "wire", fn: (w: Wire) => void): void;
  on(ev: "error" | "warning", fn: (e: unknown) => void): void;
}
interface Client {
  seed(input: string, opts: object, cb: (t: Torrent) => void): void;
  add(input: Uint8Array, opts: object, cb?: (t: Torrent) => void): Torrent;
  on(ev: "error", fn: (e: unknown) => void): void;
  destroy(cb?: () => void): void;
}
type ClientCtor = new (opts: object) => Client;
interface TrackerServer {
  listen(port: number, host: string, cb: () => void): void;
  http: { address(): { port: number } };
  on(ev: "error" | "warning", fn: (e: unknown) => void): void;
  close(cb?: () => void): void;
}
type ServerCtor = new (opts: object) => TrackerServer;

const cfg = peerConfig();
const modules = path.join(import.meta.dirname, "node_modules");
const WebTorrent = ((await import(path.join(modules, "webtorrent", "index.js"))) as { default: ClientCtor }).default;
const clientOpts = { dht: false, lsd: false, utp: false, natUpnp: false, natPmp: false, webSeeds: false, tracker: {} };

if (cfg.method === "webtorrent-seed") {
  const { Server } = (await import(path.join(modules, "bittorrent-tracker", "index.js"))) as { Server: ServerCtor };
  const tracker = new Server({ udp: false, http: true, ws: false, stats: false, intervalMs: 3000 });
  tracker.on("error", (e) => emit({ type: "error", message: `tracker: ${String(e)}` }));
  tracker.on("warning", () => undefined);
  await new Promise<void>((resolve) => tracker.listen(0, cfg.ip, resolve));
  const announce = `http://${cfg.ip}:${tracker.http.address().port}/announce`;
  const client = new WebTorrent(clientOpts);
  client.on("error", (e) => emit({ type: "error", message: `seeder: ${String(e)}` }));
  // Hashing the file (sha1 per piece) happens here, before the clock starts.
  const torrent = await new Promise<Torrent>((resolve) => client.seed(cfg.torrent, { announce: [announce], name: path.basename(cfg.torrent) }, resolve));
  const stats: PeerStats = { bytesFromOrigin: 0, bytesFromPeers: 0, bytesUploaded: 0 };
  torrent.on("wire", (w) => w.on("upload", (n) => (stats.bytesUploaded += n)));
  obey(() => undefined, () => {
    emit({ type: "stats", stats });
    tracker.close();
  });
  emit({ type: "ready", torrent: Buffer.from(torrent.torrentFile).toString("base64"), announce });
} else {
  const client = new WebTorrent(clientOpts);
  client.on("error", (e) => emit({ type: "error", message: String(e) }));
  const stats: PeerStats = { bytesFromOrigin: 0, bytesFromPeers: 0, bytesUploaded: 0 };
  const go = (): void => {
    const t0 = performance.now();
    const torrent = client.add(Buffer.from(cfg.torrent, "base64"), { path: cfg.dataDir, announce: [cfg.announce], strategy: cfg.strategy });
    torrent.on("wire", (w) => {
      const fromOrigin = w.remoteAddress === cfg.originIp || w.remoteAddress === `::ffff:${cfg.originIp}`;
      w.on("download", (n) => (fromOrigin ? (stats.bytesFromOrigin += n) : (stats.bytesFromPeers += n)));
      w.on("upload", (n) => (stats.bytesUploaded += n));
    });
    torrent.on("error", (e) => emit({ type: "error", message: String(e) }));
    torrent.on("warning", () => undefined);
    const timer = setInterval(() => emit({ type: "progress", bytes: torrent.downloaded, stats }), 500);
    torrent.on("done", () => {
      clearInterval(timer);
      emit({ type: "done", ms: performance.now() - t0, stats: { ...stats } });
      setInterval(() => emit({ type: "stats", stats }), 1000).unref();
    });
  };
  obey(go, () => emit({ type: "stats", stats }));
  emit({ type: "ready" });
}
