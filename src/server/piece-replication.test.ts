// Pieces across servers: two servers on one real etcd; a package pushed to one is served by the other
// (copied on first request, verified, stored); a peer that sends bad bytes is not believed; a piece
// no server has is a plain 404 (no chain of peers asking each other).
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { ApiClient } from "../api/client.ts";
import { TiffinError } from "../model/errors.ts";
import { PieceSize, PieceStore, sha256 } from "../pkg/index.ts";
import type { Manifest } from "../pkg/index.ts";
import { etcdAvailable, startEtcd } from "../state/etcd-testing.ts";
import { pieceHolderKey } from "./keys.ts";
import { openStore, startServer } from "./main.ts";
import { tempDir } from "./testing/harness.ts";

const skip = etcdAvailable() ? false : "etcd is not installed (apt-get install etcd-server)";

/** A manifest of one file per buffer. */
function manifestOf(name: string, files: Buffer[]): Manifest {
  return {
    format: 1,
    name,
    version: "1",
    pieceSize: PieceSize,
    dirs: [],
    files: files.map((b, i) => ({ path: `f${i}`, mode: 0o644, size: b.length, pieces: [sha256(b)] })),
    symlinks: [],
    totalSize: files.reduce((n, b) => n + b.length, 0),
    createdAt: 1,
    builder: "test",
  };
}

async function status(p: Promise<unknown>): Promise<string> {
  const err = await p.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TiffinError, `expected a TiffinError, got ${String(err)}`);
  return err.code;
}

void test("a piece pushed to one server is served by another on the same store", { skip }, async (t) => {
  const undo: (() => unknown)[] = [];
  t.after(async () => {
    for (const fn of undo.reverse()) await fn();
  });
  const etcd = await startEtcd();
  undo.push(() => etcd.stop());
  const prefix = "/tiffin-pieces";
  const start = async () => {
    const dir = tempDir();
    undo.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const store = await openStore({ kind: "etcd", endpoints: etcd.endpoints, prefix });
    undo.push(() => store.close());
    const server = await startServer({ dataDir: dir, listen: "127.0.0.1:0", store, log: process.env["TIFFIN_TEST_LOG"] ?? "silent" });
    undo.push(() => server.close());
    return { server, store, pieces: new PieceStore(path.join(dir, "pieces")), api: new ApiClient({ addr: server.url, token: server.adminToken }) };
  };
  const a = await start();
  const b = await start();

  const one = Buffer.from("piece one\n".repeat(1000));
  const two = Buffer.from("piece two\n".repeat(1000));
  for (const p of [one, two]) await a.api.uploadPiece(sha256(p), p);
  const rec = await a.api.registerPackage(manifestOf("app", [one, two]));
  assert.equal(b.pieces.has(sha256(one)), false, "pushed to A only");

  assert.deepEqual(Buffer.from(await b.api.piece(sha256(one))), one, "B serves A's piece");
  assert.ok(b.pieces.has(sha256(one)), "and keeps it on its own disk");
  assert.deepEqual((await b.api.missingPieces([sha256(one), sha256(two)])).missing, [sha256(two)]);

  // A peer that lies: B tries it and A (which lost the piece), stores nothing, answers 404.
  const liar = http.createServer((_req, res) => res.end("evil bytes"));
  await new Promise<void>((r) => liar.listen(0, "127.0.0.1", r));
  undo.push(() => new Promise((r) => liar.close(r)));
  await a.store.txn({ compare: [], success: [{ type: "put", key: pieceHolderKey(rec.id, "liar"), value: JSON.stringify({ url: `http://127.0.0.1:${(liar.address() as AddressInfo).port}` }) }] });
  // B listed as a holder too: were peer requests passed on, A would ask B back and the two would wait on each other.
  await a.store.txn({ compare: [], success: [{ type: "put", key: pieceHolderKey(rec.id, b.server.id), value: JSON.stringify({ url: b.server.url }) }] });
  fs.rmSync(a.pieces.pathOf(sha256(two)));
  assert.equal(await status(b.api.piece(sha256(two))), "TIFFIN_NOT_FOUND");
  assert.equal(b.pieces.has(sha256(two)), false, "the liar's bytes were not stored");
  assert.equal(a.pieces.has(sha256(two)), false, "A did not ask B back for it (no chains)");

  // Once A has it again, B copies it.
  await a.api.uploadPiece(sha256(two), two);
  assert.deepEqual(Buffer.from(await b.api.piece(sha256(two))), two);
  assert.equal(await status(b.api.piece("c".repeat(64))), "TIFFIN_NOT_FOUND", "a piece no package lists");
});
