// Package endpoints: this server is the origin of package pieces (files under DATA/pieces/, by hash)
// and the registry of manifests and tags (in the store). Pieces are verified on upload and again on
// every read, so a damaged disk never serves bad bytes.

import type { IncomingMessage } from "node:http";
import path from "node:path";
import { Counter } from "prom-client";
import { z } from "zod";
import type { PackageRecord, PackageSummary } from "../../api/types.ts";
import { ErrorCodes, TiffinError } from "../../model/index.ts";
import type { Manifest } from "../../pkg/index.ts";
import { acceptsZstd, decodePiece, isManifest, manifestProblem, manifestText, PackageNamePattern, PackageVersionPattern, packageId, PieceEncoder, PieceSize, PieceStore, piecesOf, Sha256Pattern } from "../../pkg/index.ts";
import type { ServerContext } from "../context.ts";
import { parseBody } from "../http/bodies.ts";
import { readJsonObject, sendJson } from "../http/io.ts";
import type { Router } from "../http/router.ts";
import { decodeAll, decodeOne, Kinds, packageKey, packageTagKey, Prefix } from "../kinds.ts";
import { pinnedBy } from "./package-pins.ts";
import { PeerHeader, PieceReplicator } from "../piece-replication.ts";

/** `POST /v1/packages/missing`. */
export const missingBody = z.object({ pieces: z.array(z.string().regex(Sha256Pattern, { error: "expected a sha256 in lower-case hex" })) });
/** `PUT /v1/packages/:name/tags/:tag`. */
export const tagBody = z.object({ version: z.string() });

/** Registers the package routes. */
export function packageRoutes(r: Router, ctx: ServerContext): void {
  // Pieces just pushed or fetched are asked for again soon (every agent of a rollout): kept in memory.
  const pieces = new PieceStore(path.join(ctx.dataDir, "pieces"), { memoryBytes: 64 * 1024 * 1024 });
  const encoder = new PieceEncoder();
  // With several servers, a piece pushed to another one is copied from it on first request.
  const replicas = new PieceReplicator({ store: ctx.store, pieces, self: () => ({ id: ctx.cluster.id, url: ctx.cluster.url }), log: ctx.log });
  // Per piece: the swarm's promise is that the origin sends each piece about once however many agents
  // fetch it, and this is where that can be checked (one series per distinct piece served).
  const sends = new Counter({ name: "tiffin_origin_piece_sends_total", help: "Pieces this server sent whole (as the origin, to agents, the CLI or other servers), by piece hash", labelNames: ["piece"] as const, registers: [ctx.metrics.registry] });

  r.add("POST", "/v1/packages/pieces/:sha256", "admin", async ({ req, res, params }) => {
    const hash = hashParam(params["sha256"]);
    // A compressed upload may be at most a little over the piece size (zstd's frame overhead).
    const data = decodePiece(await readRaw(req, PieceSize + 64 * 1024), req.headers["content-encoding"]);
    if (!Buffer.isBuffer(data)) throw new TiffinError(ErrorCodes.BadRequest, `piece ${hash}: ${data.error}`, { hint: "send the piece raw or with Content-Encoding: zstd" });
    const put = await pieces.put(data, hash);
    if ("error" in put) throw new TiffinError(ErrorCodes.BadRequest, `piece ${hash}: ${put.error}`, { hint: "the upload was damaged; push again" });
    sendJson(res, 200, { hash });
  });

  for (const [prefix, auth] of [["/v1/packages", "admin"], ["/v1/agent/packages", "host"]] as const) {
    r.add("GET", `${prefix}/pieces/:sha256`, auth, async ({ req, res, params }) => {
      const hash = hashParam(params["sha256"]);
      const data = (await pieces.get(hash)) ?? (await replicas.fetch(hash, req.headers[PeerHeader] !== undefined));
      if (!data) throw new TiffinError(ErrorCodes.NotFound, `piece ${hash} not found on this server`, { hint: "push the package that holds it" });
      const { body, encoding } = encoder.encode(hash, data, acceptsZstd(req.headers["accept-encoding"]));
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": body.length, ...(encoding ? { "content-encoding": encoding } : {}) });
      res.end(body);
      sends.inc({ piece: hash });
    });
    r.add("GET", `${prefix}/manifests/:id`, auth, async ({ res, params }) => {
      const id = hashParam(params["id"]);
      const rec = (await records(ctx)).find((p) => p.id === id);
      if (!rec) throw new TiffinError(ErrorCodes.NotFound, `package id ${id} not found`, { hint: "list packages with `tiffin pkg ls`" });
      sendJson(res, 200, rec);
    });
  }

  r.add("POST", "/v1/packages/missing", "admin", async ({ req, res }) => {
    const { pieces: list } = parseBody(missingBody, await readJsonObject(req, "{\"pieces\": [sha256 hex, ...]}"), "body must be {\"pieces\": [sha256 hex, ...]}", "send the hashes of the pieces to upload");
    sendJson(res, 200, { missing: list.filter((h) => !pieces.has(h)) });
  });

  r.add("POST", "/v1/packages", "admin", async ({ req, res }) => {
    const manifest = (await readJsonObject(req, "{\"manifest\": ...} as `tiffin pkg build` writes it"))["manifest"];
    if (!isManifest(manifest)) throw new TiffinError(ErrorCodes.BadRequest, `manifest: ${manifestProblem(manifest) ?? "invalid"}`, { hint: "build the package with `tiffin pkg build`" });
    const m = manifest;
    const missing = piecesOf(m).filter((h) => !pieces.has(h));
    if (missing.length > 0) {
      throw new TiffinError(ErrorCodes.Conflict, `package ${m.name}:${m.version} has ${missing.length} piece(s) the server lacks, e.g. ${missing[0]}`, { hint: "upload them first (`tiffin pkg push` does)" });
    }
    const rec: PackageRecord = { name: m.name, version: m.version, id: packageId(m), manifest: m, totalSize: m.totalSize, pieces: piecesOf(m).length, registeredAt: ctx.clock.now() };
    const key = packageKey(m.name, m.version);
    const r1 = await ctx.store.txn({
      compare: [{ key, target: "version", op: "==", value: 0 }],
      success: [
        { type: "put", key, value: Kinds.package.encode(rec) },
        { type: "put", key: packageTagKey(m.name, "latest"), value: Kinds.packageTag.encode({ version: m.version }) },
      ],
    });
    if (!r1.succeeded) {
      const cur = decodeOne(Kinds.package, await ctx.store.get(key), ctx.log);
      // The same tree pushed again (a new createdAt) is the version already stored, not a conflict.
      if (cur === null || (cur.id !== rec.id && (!isManifest(cur.manifest) || contentOf(cur.manifest) !== contentOf(m)))) {
        throw new TiffinError(ErrorCodes.Conflict, `package ${m.name}:${m.version} already exists with other content (id ${cur?.id ?? "?"})`, { hint: "versions are immutable: build with another --version" });
      }
      await replicas.recordHolder(cur.id);
      sendJson(res, 200, cur);
      return;
    }
    await replicas.recordHolder(rec.id);
    ctx.log.info({ package: `${m.name}:${m.version}`, id: rec.id }, "package registered");
    sendJson(res, 200, rec);
  });

  r.add("GET", "/v1/packages", "admin", async ({ res }) => sendJson(res, 200, await summaries(ctx, null)));

  r.add("GET", "/v1/packages/:name", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    const list = await summaries(ctx, name);
    if (list.length === 0) throw notFound(name);
    sendJson(res, 200, list);
  });

  r.add("PUT", "/v1/packages/:name/tags/:tag", "admin", async ({ req, res, params }) => {
    const name = params["name"] ?? "";
    const tag = params["tag"] ?? "";
    const body = await readJsonObject(req, "{\"version\": string}");
    if (!PackageVersionPattern.test(tag)) throw new TiffinError(ErrorCodes.BadRequest, `tag "${tag}" must match ${PackageVersionPattern}`, { hint: "use letters, digits, '.', '_' or '-'" });
    const { version } = parseBody(tagBody, body, "body must be {\"version\": string}", "name the version the tag should point at");
    const key = packageKey(name, version);
    const r1 = await ctx.store.txn({
      compare: [{ key, target: "version", op: ">", value: 0 }],
      success: [{ type: "put", key: packageTagKey(name, tag), value: Kinds.packageTag.encode({ version }) }],
    });
    if (!r1.succeeded) throw notFound(`${name}:${version}`);
    const s = (await summaries(ctx, name)).find((p) => p.version === version);
    sendJson(res, 200, s);
  });

  r.add("DELETE", "/v1/packages/:name/:version", "admin", async ({ res, params }) => {
    const name = params["name"] ?? "";
    const version = params["version"] ?? "";
    const key = packageKey(name, version);
    const kv = await ctx.store.get(key);
    if (!kv) throw notFound(`${name}:${version}`);
    // A corrupt record (logged) pins nothing and can be removed; its pieces stay on disk as always.
    const rec = decodeOne(Kinds.package, kv, ctx.log);
    const users = rec === null ? [] : pinnedBy(ctx.mirror, rec.id);
    if (users.length > 0) {
      throw new TiffinError(ErrorCodes.Conflict, `package ${name}:${version} is pinned by ${users.join(", ")}`, { hint: "apply versions of those jobs that no longer use it (job versions are kept, so a pin lasts while the job's history holds it)" });
    }
    const tags = await ctx.store.range(`${Prefix.packageTags}${name}/`);
    const stale = tags.kvs.filter((t) => decodeOne(Kinds.packageTag, t, ctx.log)?.version === version);
    await ctx.store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: kv.modRevision }],
      success: [{ type: "delete", key }, ...stale.map((t) => ({ type: "delete" as const, key: t.key })), ...(rec === null ? [] : [{ type: "deletePrefix" as const, prefix: `${Prefix.pieceHolders}${rec.id}/` }])],
    });
    // Pieces stay on disk: other versions share them (a piece collector is later work).
    sendJson(res, 200, { name, version, removed: true });
  });
}

/** Every registered package version. */
export async function records(ctx: ServerContext): Promise<PackageRecord[]> {
  const { kvs } = await ctx.store.range(Prefix.packages);
  return decodeAll(Kinds.package, kvs, ctx.log);
}

async function summaries(ctx: ServerContext, name: string | null): Promise<PackageSummary[]> {
  const recs = (await records(ctx)).filter((p) => name === null || p.name === name);
  const tags = (await ctx.store.range(Prefix.packageTags)).kvs.flatMap((kv) => {
    const [pkg = "", tag = ""] = kv.key.slice(Prefix.packageTags.length).split("/");
    const version = decodeOne(Kinds.packageTag, kv, ctx.log)?.version;
    return version === undefined ? [] : [{ pkg, tag, version }];
  });
  return recs
    .sort((a, b) => (a.name === b.name ? a.registeredAt - b.registeredAt : a.name < b.name ? -1 : 1))
    .map((p) => ({
      name: p.name,
      version: p.version,
      id: p.id,
      totalSize: p.totalSize,
      pieces: p.pieces,
      registeredAt: p.registeredAt,
      tags: tags.filter((t) => t.pkg === p.name && t.version === p.version).map((t) => t.tag),
      pinnedBy: pinnedBy(ctx.mirror, p.id),
    }));
}

/** A manifest's content without when and by what it was built. */
function contentOf(m: Manifest): string {
  return manifestText({ ...m, createdAt: 0, builder: "" });
}

function notFound(what: string): TiffinError {
  const name = what.split(":")[0] ?? what;
  return new TiffinError(ErrorCodes.NotFound, `package ${what} not found`, { hint: PackageNamePattern.test(name) ? `list its versions with \`tiffin pkg history ${name}\`` : "list packages with `tiffin pkg ls`" });
}

function hashParam(v: string | undefined): string {
  if (v === undefined || !Sha256Pattern.test(v)) throw new TiffinError(ErrorCodes.BadRequest, `"${v ?? ""}" is not a sha256 in lower-case hex`, { hint: "pieces and packages are named by sha256" });
  return v;
}

/** Reads a raw body of at most `max` bytes. */
async function readRaw(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      req.destroy();
      throw new TiffinError(ErrorCodes.TooLarge, `a piece is at most ${max} bytes`, { hint: "pieces are cut by `tiffin pkg build`" });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
