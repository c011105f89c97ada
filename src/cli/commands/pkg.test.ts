// Packages end to end against the real server (in process, real SQLite, real HTTP): push, dedup on the
// second push, tags, pinning at apply, plan's resolution, rm refused while pinned.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { ApiClient } from "../../api/client.ts";
import { TiffinError } from "../../model/errors.ts";
import { PieceSize, PieceStore, removeTree, sha256 } from "../../pkg/index.ts";
import { startServer } from "../../server/main.ts";
import { spec } from "../testdata.ts";
import { pkgPushHandler, renderPackages, splitRef } from "./pkg.ts";

async function setup(t: TestContext): Promise<{ api: ApiClient; root: string; store: PieceStore; tree(name: string, hello: string): string }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-pkg-cli-"));
  const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
  t.after(async () => {
    await server.close();
    await removeTree(root);
  });
  const big = Buffer.alloc(PieceSize * 2 + 1000, 7);
  return {
    api: new ApiClient({ addr: server.url, token: server.adminToken }),
    root,
    store: new PieceStore(path.join(root, "local")),
    tree(name, hello) {
      const dir = path.join(root, name);
      fs.mkdirSync(path.join(dir, "lib"), { recursive: true });
      fs.writeFileSync(path.join(dir, "lib", "big.bin"), big);
      fs.writeFileSync(path.join(dir, "hello.txt"), hello);
      return dir;
    },
  };
}

async function rejects(p: Promise<unknown>, status: string, match: RegExp): Promise<TiffinError> {
  const err = await p.then(() => null, (e: unknown) => e);
  assert.ok(err instanceof TiffinError, `expected a TiffinError, got ${String(err)}`);
  assert.equal(err.code, status);
  assert.match(`${err.message} ${JSON.stringify(err.problems)}`, match);
  return err;
}

void test("push uploads only the pieces the server lacks; tags, ls and history", async (t) => {
  const { api, store, tree } = await setup(t);
  const lines: string[] = [];
  const first = await pkgPushHandler(api, { dir: tree("v1", "one\n"), name: "app", version: "1", store, progress: (l) => lines.push(l) });
  assert.equal(first.piecesTotal, 3, "the big file's two equal full pieces count once");
  assert.equal(first.piecesUploaded, 3);
  assert.ok(lines.some((l) => l.startsWith("pushing app:1: 3/3 pieces")), lines.join("\n"));
  const second = await pkgPushHandler(api, { dir: tree("v2", "two\n"), name: "app", version: "2", store });
  assert.equal(second.piecesUploaded, 1, "only the changed file's piece");
  assert.equal(second.bytesUploaded, 4);
  const again = await pkgPushHandler(api, { dir: tree("v2b", "two\n"), name: "app", version: "2", store });
  assert.equal(again.piecesUploaded, 0);
  assert.equal(again.package.id, second.package.id, "same version, same content: idempotent");
  await rejects(pkgPushHandler(api, { dir: tree("v2c", "three\n"), name: "app", version: "2", store }), "TIFFIN_CONFLICT", /immutable|other content/);

  await api.tagPackage("app", "stable", "1");
  const hist = await api.packages("app");
  assert.deepEqual(hist.map((p) => [p.version, p.tags.sort()]), [["1", ["stable"]], ["2", ["latest"]]]);
  assert.match(renderPackages(await api.packages()), /app\s+1\s+[0-9a-f]{12}/);
  await rejects(api.tagPackage("app", "x", "9"), "TIFFIN_NOT_FOUND", /app:9/);
  assert.throws(() => splitRef("app", "NAME:VERSION"), /NAME:VERSION/);
});

void test("a piece whose bytes do not match its hash is refused, and so is a manifest with missing pieces", async (t) => {
  const { api } = await setup(t);
  const good = Buffer.from("good bytes");
  await rejects(api.uploadPiece(sha256(good), Buffer.from("bad bytes")), "TIFFIN_BAD_REQUEST", /hashes to/);
  assert.deepEqual((await api.missingPieces([sha256(good)])).missing, [sha256(good)]);
  await api.uploadPiece(sha256(good), good);
  assert.deepEqual((await api.missingPieces([sha256(good)])).missing, []);
  assert.deepEqual(Buffer.from(await api.piece(sha256(good))), good);
  const manifest = { format: 1, name: "x", version: "1", pieceSize: PieceSize, dirs: [], files: [{ path: "f", mode: 0o644, size: 3, pieces: ["b".repeat(64)] }], symlinks: [], totalSize: 3, createdAt: 1, builder: "t" };
  await rejects(api.registerPackage(manifest), "TIFFIN_CONFLICT", /lacks/);
});

void test("apply pins exact ids; a moved tag does not change the stored version; rm is refused while pinned", async (t) => {
  const { api, store, tree } = await setup(t);
  const v1 = await pkgPushHandler(api, { dir: tree("v1", "one\n"), name: "app", version: "1", store });
  const v2 = await pkgPushHandler(api, { dir: tree("v2", "two\n"), name: "app", version: "2", store });
  await api.tagPackage("app", "stable", "1");
  const job = spec({ name: "pinned", replicas: 0, health: null, ports: [], packages: ["app:stable"] });

  const plan = await api.plan(job);
  assert.deepEqual(plan.packages, [{ ref: "app:stable", name: "app", version: "1", id: v1.package.id }]);
  const applied = await api.apply(job);
  const ver = await api.version("pinned", applied.version);
  assert.deepEqual(ver.spec.pinned, [{ ref: "app:stable", name: "app", version: "1", id: v1.package.id }]);

  await api.tagPackage("app", "stable", "2");
  const still = await api.version("pinned", applied.version);
  assert.equal(still.spec.pinned?.[0]?.id, v1.package.id, "the stored version keeps its bytes");
  const reapplied = await api.apply(job);
  assert.equal(reapplied.changed, true, "re-applying after the tag moved is a new version (a rollout)");
  assert.equal((await api.version("pinned", reapplied.version)).spec.pinned?.[0]?.id, v2.package.id);

  await rejects(api.removePackage("app", "1"), "TIFFIN_CONFLICT", /pinned@1/);
  const unknown = await rejects(api.apply({ ...job, packages: ["app:stable", "nope:1"] }), "TIFFIN_SPEC_INVALID", /nope/);
  assert.equal(unknown.problems[0]?.path, "packages[1]");

  await rejects(api.removePackage("app", "2"), "TIFFIN_CONFLICT", /pinned@2/);
  await pkgPushHandler(api, { dir: tree("v3", "three\n"), name: "app", version: "3", store });
  assert.equal((await api.removePackage("app", "3")).removed, true, "an unpinned version can go");
  assert.deepEqual((await api.packages("app")).map((p) => p.version), ["1", "2"]);
});
