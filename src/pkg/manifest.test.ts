// manifestProblem by table: the shape (by schema) and the rules across fields; never a throw, whatever
// the value (a manifest arrives from clients and from the server's store).
import assert from "node:assert/strict";
import { test } from "node:test";
import { manifestProblem, PieceSize } from "./manifest.ts";

const sha = "b".repeat(64);
const good = {
  format: 1, name: "tool", version: "1.0", pieceSize: PieceSize, dirs: ["bin"],
  files: [{ path: "bin/run", mode: 0o755, size: 3, pieces: [sha] }], symlinks: [{ path: "run", target: "bin/run" }],
  totalSize: 3, createdAt: 1, builder: "test", entrypoint: "bin/run",
};

const { entrypoint: _e, ...withoutEntrypoint } = good;

void test("manifestProblem: entries that are not objects are a problem, not a TypeError", () => {
  for (const [name, v] of [["a file that is null", { ...good, files: [null] }], ["a symlink that is a string", { ...good, symlinks: ["run"] }], ["a file without pieces", { ...good, files: [{ path: "bin/run", mode: 0o755, size: 3 }] }]] as const) {
    assert.doesNotThrow(() => manifestProblem(v), name);
    assert.notEqual(manifestProblem(v), null, name);
  }
});

void test("manifestProblem: every case answers with a problem or null, none throws", () => {
  const cases: [string, unknown, RegExp | null][] = [
    ["a good manifest", good, null],
    ["without an entrypoint", withoutEntrypoint, null],
    ["null", null, /manifest/],
    ["format 2", { ...good, format: 2 }, /^format:/],
    ["a file that is null", { ...good, files: [null] }, /^files\[0\]/],
    ["a symlink that is a string", { ...good, symlinks: ["run"] }, /^symlinks\[0\]/],
    ["a size given as text", { ...good, files: [{ ...good.files[0], size: "3" }] }, /^files\[0\]\.size/],
    ["a piece that is not a sha256", { ...good, files: [{ ...good.files[0], pieces: ["x"] }] }, /^files\[0\]\.pieces\[0\]/],
    ["a path out of the tree", { ...good, dirs: ["../etc"] }, /must be relative/],
    ["a path twice", { ...good, dirs: ["bin", "bin"] }, /appears twice/],
    ["too few pieces", { ...good, files: [{ ...good.files[0], size: PieceSize + 1 }], totalSize: PieceSize + 1 }, /needs 2 sha256 pieces/],
    ["a wrong total", { ...good, totalSize: 4 }, /not the sum/],
    ["an entrypoint not in the package", { ...good, entrypoint: "nope" }, /not a file of the package/],
    ["an entrypoint not executable", { ...good, files: [{ ...good.files[0], mode: 0o644 }] }, /not executable/],
  ];
  for (const [name, v, want] of cases) {
    let got: string | null;
    try {
      got = manifestProblem(v);
    } catch (err) {
      assert.fail(`${name}: threw ${String(err)}`);
    }
    if (want === null) assert.equal(got, null, name);
    else assert.match(got ?? "(null)", want, name);
  }
});
