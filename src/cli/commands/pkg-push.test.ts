// A second push of a 40 MiB tree after one byte changed inside one large file sends that file's one
// changed piece and nothing else (bench/pkg-push.ts measures the same at 1 GiB).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { ApiClient } from "../../api/client.ts";
import { PieceSize, PieceStore, removeTree } from "../../pkg/index.ts";
import { startServer } from "../../server/main.ts";
import { pkgPushHandler } from "./pkg.ts";

void test("a second push of a 40 MiB tree with one changed file uploads only that file's changed piece", async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-pkg-push-"));
  const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
  t.after(async () => {
    await server.close();
    await removeTree(root);
  });
  const api = new ApiClient({ addr: server.url, token: server.adminToken, timeoutMs: 60_000 });
  const dir = path.join(root, "tree");
  fs.mkdirSync(path.join(dir, "lib"), { recursive: true });
  // Random bytes: nothing shared between files by accident.
  fs.writeFileSync(path.join(dir, "lib", "big.bin"), randomBytes(6 * PieceSize));
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(dir, "lib", `mid${i}.bin`), randomBytes(PieceSize - 1000));
  for (let i = 0; i < 100; i++) fs.writeFileSync(path.join(dir, `small${i}.txt`), randomBytes(20_000));
  const store = new PieceStore(path.join(root, "local"));

  const first = await pkgPushHandler(api, { dir, name: "tree", version: "1", store });
  assert.equal(first.piecesTotal, 6 + 4 + 100);
  assert.equal(first.piecesUploaded, first.piecesTotal);

  const fd = fs.openSync(path.join(dir, "lib", "big.bin"), "r+");
  fs.writeSync(fd, Buffer.from([0xff ^ fs.readFileSync(path.join(dir, "lib", "big.bin"))[3 * PieceSize + 7]!]), 0, 1, 3 * PieceSize + 7);
  fs.closeSync(fd);
  const second = await pkgPushHandler(api, { dir, name: "tree", version: "2", store });
  assert.equal(second.piecesUploaded, 1);
  assert.equal(second.bytesUploaded, PieceSize, "one full piece, not the file or the tree");
  const big = (m: unknown) => (m as { files: { path: string; pieces: string[] }[] }).files.find((f) => f.path === "lib/big.bin")!.pieces;
  const before = big(first.package.manifest);
  const after = big(second.package.manifest);
  assert.deepEqual(after.map((h, i) => h === before[i]), [true, true, true, false, true, true], "only the piece holding the changed byte differs");
});
