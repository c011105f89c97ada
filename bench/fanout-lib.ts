// The small protocol between bench/fanout.ts and the processes it starts inside the namespaces
// (bench/fanout-peer.ts, bench/webtorrent/peer.ts): the configuration comes in the FANOUT_PEER
// environment variable (JSON), the peer answers with JSON lines on stdout and obeys "go" and
// "stop" lines on stdin. stdio crosses namespaces, so the benchmark needs no network of its own.

import { createInterface } from "node:readline";

/** What the benchmark tells a peer. */
export interface PeerConfig {
  method: "swarm" | "http" | "webtorrent-seed" | "webtorrent";
  /** This peer's address (its namespace's eth0). */
  ip: string;
  /** A fresh directory for what it downloads. */
  dataDir: string;
  /** Tiffin's server, http://IP:PORT (swarm, http). */
  serverUrl: string;
  /** To register as a host (swarm, http). */
  joinToken: string;
  /** The package to fetch (swarm, http). */
  packageId: string;
  /** The origin's address: bytes from it are counted apart. */
  originIp: string;
  /** webtorrent: the tracker's announce URL. */
  announce: string;
  /** webtorrent-seed: the file to seed. webtorrent: the .torrent, base64. */
  torrent: string;
  /** webtorrent: piece selection. */
  strategy: "sequential" | "rarest";
  /** Swarm upload limit per peer, bytes/s (0: none). */
  uploadLimit: number;
}

/** Bytes a peer moved, as it counts them. */
export interface PeerStats {
  bytesFromOrigin: number;
  bytesFromPeers: number;
  bytesUploaded: number;
  /** Swarm only: why the fetch leaned on the origin, if it did (DownloadStats). */
  swarm?: { peerBusy: number; peerFailed: number; failures: Record<string, number>; fallbackAsks: number; stuckAsks: number; trackerErrors: number; endgameAsks?: number; endgameWins?: number };
}

/** A line a peer writes. */
export type PeerMessage =
  | { type: "ready"; torrent?: string; announce?: string }
  | { type: "progress"; bytes: number; stats: PeerStats }
  | { type: "done"; ms: number; stats: PeerStats; unpackMs?: number }
  | { type: "stats"; stats: PeerStats }
  | { type: "error"; message: string };

/** The peer's configuration from its environment. */
export function peerConfig(): PeerConfig {
  const text = process.env["FANOUT_PEER"];
  if (!text) throw new Error("FANOUT_PEER is not set: this process is started by bench/fanout.ts");
  return JSON.parse(text) as PeerConfig;
}

/** Writes one message line. */
export function emit(msg: PeerMessage): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

/** Calls `onGo` on "go"; on "stop" or when stdin closes, calls `onStop` then exits. */
export function obey(onGo: () => void, onStop: () => Promise<void> | void): void {
  const rl = createInterface({ input: process.stdin });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    try {
      await onStop();
    } finally {
      process.exit(0);
    }
  };
  rl.on("line", (line) => {
    if (line === "go") onGo();
    else if (line === "stop") void stop();
  });
  rl.on("close", () => void stop());
}
