// Fetching a task's pinned packages before it starts: the manifest comes from the server, the pieces
// from a PieceSource (the swarm: peers first, the server as origin last; see swarm/), or without one
// from the server one after another; each is verified by hash before it is stored. Pieces live once
// under DATA/packages/pieces (shared between versions) and each package is unpacked once into a
// read-only tree by id. A tree already unpacked needs no server at all, so tasks restart from the
// cache while the server is down.

import fs from "node:fs";
import path from "node:path";
import type { PackageRecord } from "../api/types.ts";
import type { PackagePin } from "../model/index.ts";
import type { Manifest } from "../pkg/index.ts";
import { packageId, PieceStore, piecesOf, unpackPackage } from "../pkg/index.ts";

/** Fetches bytes of a server path (`/v1/agent/packages/...`) with the host token, or says why not. */
export type FetchBytes = (urlPath: string) => Promise<Buffer | { error: string }>;

/** Where missing pieces come from (the swarm); it stores each verified piece in DATA/packages/pieces. */
export interface PieceSource {
  fetchPieces(id: string, m: Manifest, onProgress?: (done: number, total: number) => void): Promise<{ ok: true } | { error: string }>;
}

/** The agent's package cache. */
export class PackageCache {
  readonly #root: string;
  readonly #pieces: PieceStore;
  readonly #fetch: FetchBytes;
  readonly #source: PieceSource | null;
  /** One preparation per package id at a time (tasks of one job start together). */
  readonly #inflight = new Map<string, Promise<{ path: string } | { error: string }>>();

  /** `source`: where pieces come from. @default null (each from the server through `fetchBytes`) */
  constructor(dataDir: string, fetchBytes: FetchBytes, source: PieceSource | null = null) {
    this.#root = path.join(dataDir, "packages");
    this.#pieces = new PieceStore(path.join(this.#root, "pieces"));
    this.#fetch = fetchBytes;
    this.#source = source;
  }

  /** Host paths of the unpacked trees by package name, or why one could not be prepared. */
  async prepare(pins: PackagePin[]): Promise<{ paths: Record<string, string> } | { error: string }> {
    const paths: Record<string, string> = {};
    for (const pin of pins) {
      const r = await this.fetchPackage(pin.id);
      if ("error" in r) return { error: `package ${pin.name}:${pin.version} (${pin.id.slice(0, 12)}): ${r.error}` };
      paths[pin.name] = r.path;
    }
    return { paths };
  }

  /** The unpacked tree of package `id`, fetched first if needed; one fetch per id at a time. */
  fetchPackage(id: string, onProgress?: (done: number, total: number) => void): Promise<{ path: string } | { error: string }> {
    let p = this.#inflight.get(id);
    if (!p) {
      p = this.#one(id, onProgress).finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, p);
    }
    return p;
  }

  async #one(id: string, onProgress?: (done: number, total: number) => void): Promise<{ path: string } | { error: string }> {
    const tree = path.join(this.#root, "trees", id);
    if (fs.existsSync(tree)) return { path: tree };
    const manifest = await this.#manifest(id);
    if ("error" in manifest) return manifest;
    // A piece found on disk but damaged is removed when unpacking reads it: fetch it once more.
    for (let round = 0; ; round++) {
      const fetched = await this.#fetchPieces(id, manifest, onProgress);
      if ("error" in fetched) return fetched;
      const r = await unpackPackage(manifest, id, this.#pieces, path.join(this.#root, "trees"));
      if ("path" in r || round > 0 || !/missing or corrupt/.test(r.error)) return r;
    }
  }

  async #fetchPieces(id: string, manifest: Manifest, onProgress?: (done: number, total: number) => void): Promise<{ ok: true } | { error: string }> {
    if (this.#source) return this.#source.fetchPieces(id, manifest, onProgress);
    for (const h of piecesOf(manifest)) {
      if (this.#pieces.has(h)) continue;
      const data = await this.#fetch(`/v1/agent/packages/pieces/${h}`);
      if (!Buffer.isBuffer(data)) return { error: `fetching piece ${h}: ${data.error}` };
      const put = await this.#pieces.put(data, h);
      if ("error" in put) return { error: `the server sent a corrupt piece: ${put.error}` };
    }
    return { ok: true };
  }

  async #manifest(id: string): Promise<Manifest | { error: string }> {
    const file = path.join(this.#root, "manifests", `${id}.json`);
    const cached = await fs.promises.readFile(file, "utf8").catch(() => null);
    if (cached !== null) {
      const m = JSON.parse(cached) as Manifest;
      if (packageId(m) === id) return m;
    }
    const data = await this.#fetch(`/v1/agent/packages/manifests/${id}`);
    if (!Buffer.isBuffer(data)) return { error: `fetching its manifest: ${data.error}` };
    const m = (JSON.parse(data.toString("utf8")) as PackageRecord).manifest as Manifest;
    if (packageId(m) !== id) return { error: "the server sent a manifest that does not hash to the pinned id" };
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(file, JSON.stringify(m));
    return m;
  }
}

/** GETs a server path with the host token; errors (no identity yet, server down, non-200) are values. */
export async function fetchFromServer(baseUrl: string, token: string | null, urlPath: string, timeoutMs = 60_000): Promise<Buffer | { error: string }> {
  if (token === null) return { error: "the agent is not registered yet" };
  try {
    const res = await fetch(`${baseUrl}${urlPath}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(timeoutMs) });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return { error: `${baseUrl} answered ${res.status}: ${body.toString("utf8").slice(0, 200)}` };
    return body;
  } catch (err) {
    return { error: `${baseUrl}: ${err instanceof Error ? err.message : String(err)}` };
  }
}
