// Pieces across several servers: a piece pushed to one server is only on its disk, so each server
// records in the store that it holds the pieces of a package it registered (`/pieceholders/<id>/
// <serverId>` = {url}); a server asked for a piece it lacks finds the packages that list it, asks their
// holders (peer servers) with the shared admin token, verifies the bytes by hash, stores and serves them.
// A peer's request is marked so it is never passed on again: no chains, no loops.

import type { Logger } from "pino";
import { isManifest } from "../pkg/index.ts";
import type { PieceStore } from "../pkg/index.ts";
import type { Store } from "../state/store.ts";
import { decodeAll, decodeOne, Kinds, pieceHolderKey, Prefix, secretKey } from "./kinds.ts";

/** The header that marks a request from a peer server (answered from the local disk only). */
export const PeerHeader = "x-tiffin-peer";

/** The value of `/pieceholders/<id>/<serverId>` (declared with its kind). */
export type { PieceHolder } from "./kinds.ts";

/** What the replicator needs from its server. */
export interface ReplicatorOptions {
  store: Store;
  pieces: PieceStore;
  /** This server's id and advertised URL (read at call time: the URL is known once listening). */
  self: () => { id: string; url: string };
  log: Logger;
  /** Per peer request. @default 30000 */
  timeoutMs?: number;
}

/** Records and fetches pieces among the servers sharing one store. */
export class PieceReplicator {
  readonly #o: ReplicatorOptions;
  /** One fetch per piece at a time (agents ask for the same piece together). */
  readonly #inflight = new Map<string, Promise<Buffer | null>>();

  constructor(o: ReplicatorOptions) {
    this.#o = o;
  }

  /** Records that this server holds every piece of package `id`. */
  async recordHolder(id: string): Promise<void> {
    const self = this.#o.self();
    if (self.url === "") return;
    await this.#o.store.txn({ compare: [], success: [{ type: "put", key: pieceHolderKey(id, self.id), value: Kinds.pieceHolder.encode({ url: self.url }) }] });
  }

  /** The piece, fetched from a peer server that holds it, verified and stored here; null when no peer
   * has it (or the request itself came from a peer). */
  fetch(hash: string, fromPeer: boolean): Promise<Buffer | null> {
    if (fromPeer) return Promise.resolve(null);
    let p = this.#inflight.get(hash);
    if (!p) {
      p = this.#fetch(hash).finally(() => this.#inflight.delete(hash));
      this.#inflight.set(hash, p);
    }
    return p;
  }

  /** Peer URLs holding some package that lists `hash`, this server left out. */
  async holdersOf(hash: string): Promise<string[]> {
    const self = this.#o.self();
    const { kvs } = await this.#o.store.range(Prefix.packages);
    const ids = decodeAll(Kinds.package, kvs, this.#o.log).filter((r) => isManifest(r.manifest) && r.manifest.files.some((f) => f.pieces.includes(hash))).map((r) => r.id);
    const urls = new Set<string>();
    for (const id of ids) {
      for (const kv of (await this.#o.store.range(`${Prefix.pieceHolders}${id}/`)).kvs) {
        if (kv.key.endsWith(`/${self.id}`)) continue;
        const url = decodeOne(Kinds.pieceHolder, kv, this.#o.log)?.url;
        if (url !== undefined && url !== self.url) urls.add(url);
      }
    }
    return [...urls];
  }

  async #fetch(hash: string): Promise<Buffer | null> {
    const holders = await this.holdersOf(hash);
    if (holders.length === 0) return null;
    const kv = await this.#o.store.get(secretKey("admin"));
    const token = decodeOne(Kinds.secret, kv, this.#o.log) ?? "";
    for (const url of holders) {
      try {
        const res = await fetch(`${url}/v1/packages/pieces/${hash}`, {
          // Raw bytes: servers talk over the datacenter network, and a body to hash needs no decoding.
          headers: { authorization: `Bearer ${token}`, [PeerHeader]: "1", "accept-encoding": "identity" },
          signal: AbortSignal.timeout(this.#o.timeoutMs ?? 30_000),
        });
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200) {
          this.#o.log.warn({ piece: hash, peer: url, status: res.status }, "peer server did not serve the piece");
          continue;
        }
        const put = await this.#o.pieces.put(body, hash);
        if ("error" in put) {
          this.#o.log.warn({ piece: hash, peer: url, error: put.error }, "peer server sent a corrupt piece");
          continue;
        }
        this.#o.log.info({ piece: hash, peer: url, bytes: body.length }, "piece copied from a peer server");
        return body;
      } catch (err) {
        this.#o.log.warn({ piece: hash, peer: url, err: String(err) }, "peer server unreachable for a piece");
      }
    }
    return null;
  }
}
