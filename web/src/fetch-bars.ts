// A package fetch's progress bar (the packages page), pure: the shares of the package a host holds
// from peers, from the origin and from neither (pieces it held before the tracker saw its fetch: a
// resumed fetch, or a tracker that restarted), then what is on its way now; and the line under it.

import type { SwarmFetcher } from "../../src/api/index.ts";

/** Shares of the package's pieces, each 0..1, adding up to at most 1. */
export interface FetchBar {
  peers: number;
  origin: number;
  other: number;
  inflight: number;
}

/** The bar of one fetcher of a package of `total` pieces. */
export function fetchBar(f: SwarmFetcher, total: number): FetchBar {
  if (total <= 0) return { peers: 0, origin: 0, other: 0, inflight: 0 };
  const held = Math.min(f.held, total);
  const peers = Math.min(f.fromPeers, held);
  const origin = Math.min(f.fromOrigin, held - peers);
  const inflight = f.complete ? 0 : Math.min(f.inflightPeers + f.inflightOrigin, total - held);
  return { peers: peers / total, origin: origin / total, other: (held - peers - origin) / total, inflight: inflight / total };
}

/** "3/7 pieces (42%): 2 from peers, 1 from the origin; 2 on their way (2 from peers); fetching for 3.1 s". */
export function fetchLine(f: SwarmFetcher, total: number, now: number): string {
  const pct = total > 0 ? Math.floor((100 * Math.min(f.held, total)) / total) : 0;
  const from = [f.fromPeers > 0 ? `${f.fromPeers} from peers` : "", f.fromOrigin > 0 ? `${f.fromOrigin} from the origin` : ""].filter((s) => s !== "").join(", ");
  const inflight = f.inflightPeers + f.inflightOrigin;
  const way = f.complete || inflight === 0 ? "" : `; ${inflight} on their way (${[f.inflightPeers > 0 ? `${f.inflightPeers} from peers` : "", f.inflightOrigin > 0 ? `${f.inflightOrigin} from the origin` : ""].filter((s) => s !== "").join(", ")})`;
  const secs = (ms: number): string => `${(Math.max(0, ms) / 1000).toFixed(1)} s`;
  const state = f.complete ? `done in ${secs((f.finishedAt ?? now) - f.startedAt)}` : `fetching for ${secs(now - f.startedAt)}`;
  return `${f.held}/${total} pieces (${pct}%)${from ? `: ${from}` : ""}${way}; ${state}`;
}
