import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { buildPackage, manifestProblem, packageId, PieceSize, PieceStore, piecesOf, removeTree, unpackPackage, parsePackageRef, packageEnvVar } from "./index.ts";
import type { Manifest } from "./index.ts";

function tmp(t: TestContext): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-pkg-"));
  t.after(() => removeTree(d));
  return d;
}

/** A tree with a 2.5-piece file, a small executable, an empty dir and a symlink. */
function tree(root: string, small = "hello\n"): string {
  const dir = path.join(root, "src");
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  fs.mkdirSync(path.join(dir, "empty"));
  const big = Buffer.alloc(PieceSize * 2 + PieceSize / 2);
  for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) % 251;
  fs.writeFileSync(path.join(dir, "big.bin"), big);
  fs.writeFileSync(path.join(dir, "bin", "run"), "#!/bin/sh\necho run\n", { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "hello.txt"), small);
  fs.symlinkSync("hello.txt", path.join(dir, "link"));
  return dir;
}

void test("build cuts files into pieces, and unpack makes the same tree read-only", async (t) => {
  const root = tmp(t);
  const dir = tree(root);
  const store = new PieceStore(path.join(root, "pieces"));
  const m = await buildPackage({ dir, name: "app", store, builder: "test", now: 1 });
  assert.equal(manifestProblem(m), null);
  const big = m.files.find((f) => f.path === "big.bin")!;
  assert.equal(big.pieces.length, 3);
  assert.equal(m.totalSize, PieceSize * 2.5 + 6 + 19);
  assert.deepEqual(m.symlinks, [{ path: "link", target: "hello.txt" }]);
  assert.deepEqual(m.dirs, ["bin", "empty"]);
  const id = packageId(m);
  const out = await unpackPackage(m, id, store, path.join(root, "trees"));
  assert.ok("path" in out, JSON.stringify(out));
  assert.deepEqual(fs.readFileSync(path.join(out.path, "big.bin")), fs.readFileSync(path.join(dir, "big.bin")));
  assert.equal(fs.readFileSync(path.join(out.path, "link"), "utf8"), "hello\n");
  assert.equal(fs.statSync(path.join(out.path, "bin", "run")).mode & 0o777, 0o555);
  assert.equal(fs.statSync(path.join(out.path, "hello.txt")).mode & 0o222, 0, "files are read-only");
  assert.ok(fs.statSync(path.join(out.path, "empty")).isDirectory());
  assert.equal(fs.statSync(out.path).mode & 0o222, 0, "directories are read-only (root ignores modes, the sandbox mounts it ro)");
});

void test("a changed file changes only its own pieces, and the same tree gives the same version", async (t) => {
  const root = tmp(t);
  const store = new PieceStore(path.join(root, "pieces"));
  const a = await buildPackage({ dir: tree(path.join(root, "a")), name: "app", store, builder: "test" });
  const b = await buildPackage({ dir: tree(path.join(root, "b"), "hello, world\n"), name: "app", store, builder: "test" });
  const c = await buildPackage({ dir: tree(path.join(root, "c")), name: "app", store, builder: "test" });
  const newPieces = piecesOf(b).filter((h) => !piecesOf(a).includes(h));
  assert.equal(newPieces.length, 1);
  assert.notEqual(a.version, b.version);
  assert.equal(a.version, c.version, "default version is a content hash");
});

void test("a corrupt piece is never used: the store drops it and unpack refuses", async (t) => {
  const root = tmp(t);
  const store = new PieceStore(path.join(root, "pieces"));
  const m = await buildPackage({ dir: tree(root), name: "app", store, builder: "test" });
  const h = m.files.find((f) => f.path === "hello.txt")!.pieces[0]!;
  assert.deepEqual(await store.put(Buffer.from("evil"), h), { error: `piece content hashes to ${(await import("./manifest.ts")).sha256("evil")}, not ${h}` });
  fs.writeFileSync(store.pathOf(h), "tampered");
  const out = await unpackPackage(m, packageId(m), store, path.join(root, "trees"));
  assert.ok("error" in out && out.error.includes(h), JSON.stringify(out));
  assert.equal(store.has(h), false, "the corrupt piece was removed");
  assert.equal(fs.existsSync(path.join(root, "trees", packageId(m))), false, "no partial tree under the id");
});

void test("unpack refuses a manifest that does not hash to the id", async (t) => {
  const root = tmp(t);
  const store = new PieceStore(path.join(root, "pieces"));
  const m = await buildPackage({ dir: tree(root), name: "app", store, builder: "test" });
  const out = await unpackPackage({ ...m, version: "other" }, packageId(m), store, path.join(root, "trees"));
  assert.ok("error" in out);
});

void test("manifestProblem rejects paths that leave the tree and inconsistent sizes", () => {
  const base: Manifest = { format: 1, name: "app", version: "1", pieceSize: PieceSize, dirs: [], files: [], symlinks: [], totalSize: 0, createdAt: 1, builder: "t" };
  const h = "a".repeat(64);
  const cases: [string, Manifest, RegExp | null][] = [
    ["empty is fine", base, null],
    ["absolute path", { ...base, dirs: ["/etc"] }, /inside the package/],
    ["dot-dot", { ...base, symlinks: [{ path: "a/../../x", target: "y" }] }, /inside the package/],
    ["piece count", { ...base, files: [{ path: "f", mode: 0o644, size: PieceSize + 1, pieces: [h] }], totalSize: PieceSize + 1 }, /needs 2/],
    ["total size", { ...base, files: [{ path: "f", mode: 0o644, size: 1, pieces: [h] }], totalSize: 2 }, /totalSize/],
    ["duplicate", { ...base, dirs: ["d", "d"] }, /twice/],
    ["bad name", { ...base, name: "App!" }, /name/],
  ];
  for (const [name, m, want] of cases) {
    const p = manifestProblem(m);
    if (want === null) assert.equal(p, null, name);
    else assert.match(p ?? "", want, name);
  }
});

void test("package references and env names", () => {
  assert.deepEqual(parsePackageRef("web:stable"), { name: "web", ref: "stable" });
  assert.deepEqual(parsePackageRef("web"), { name: "web", ref: "latest" });
  assert.ok("error" in parsePackageRef("Web:1"));
  assert.equal(packageEnvVar("my-tool.x"), "TIFFIN_PKG_MY_TOOL_X");
});

void test("entrypoint: optional, checked, and a manifest without it keeps its id", async (t) => {
  const old: Manifest = { format: 1, name: "app", version: "1.0.0", pieceSize: PieceSize, dirs: ["bin"], files: [{ path: "bin/run", mode: 0o755, size: 3, pieces: ["a".repeat(64)] }], symlinks: [{ path: "run", target: "bin/run" }], totalSize: 3, createdAt: 1700000000000, builder: "test" };
  // Computed by the manifest code from before entry points existed.
  assert.equal(packageId(old), "68e609d296916f833374a5ec1c651a1fd5c1b8a2dd4c49f0f4d9ad8163bc55b2");
  assert.notEqual(packageId({ ...old, entrypoint: "bin/run" }), packageId(old));
  const cases: [string, string, RegExp | null][] = [
    ["an executable file", "bin/run", null],
    ["a symlink", "run", null],
    ["not in the package", "bin/nope", /not a file of the package/],
    ["a directory", "bin", /not a file of the package/],
  ];
  for (const [name, entrypoint, want] of cases) {
    const p = manifestProblem({ ...old, entrypoint });
    if (want === null) assert.equal(p, null, name);
    else assert.match(p ?? "", want, name);
  }
  assert.match(manifestProblem({ ...old, files: [{ ...old.files[0]!, mode: 0o644 }], entrypoint: "bin/run" }) ?? "", /not executable/);

  const root = tmp(t);
  const store = new PieceStore(path.join(root, "pieces"));
  const dir = tree(root);
  const plain = await buildPackage({ dir, name: "app", store, builder: "test", now: 1 });
  const withEntry = await buildPackage({ dir, name: "app", store, builder: "test", now: 1, entrypoint: "bin/run" });
  assert.equal("entrypoint" in plain, false);
  assert.equal(withEntry.entrypoint, "bin/run");
  assert.notEqual(withEntry.version, plain.version, "the default version covers the entry point");
});
