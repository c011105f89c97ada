// Second push of a large tree with one changed file: builds a tree of random files (a mix of sizes,
// 1 GiB by default) in a temp dir, pushes it to a real server (in this process, real HTTP, SQLite),
// changes 100 bytes inside one large file, pushes again. Prints pieces and bytes uploaded and the times
// of both pushes (each push re-hashes the whole tree: that is the build step, timed apart).
//
//   node bench/pkg-push.ts [--mib 1024]

import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { ApiClient } from "../src/api/client.ts";
import { pkgBuildHandler, pkgPushHandler } from "../src/cli/commands/pkg.ts";
import { PieceStore, removeTree } from "../src/pkg/index.ts";
import { startServer } from "../src/server/main.ts";

const { values } = parseArgs({ options: { mib: { type: "string", default: "1024" } } });
const MiB = 1024 * 1024;
const total = Number(values.mib) * MiB;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-bench-push-"));
const tree = path.join(root, "tree");

// The mix: 40% in two large files, 40% in eight medium ones, 18% in 2 MiB files, the rest in ~24 KiB ones.
function layout(): { file: string; size: number }[] {
  const out: { file: string; size: number }[] = [];
  const add = (dir: string, n: number, size: number) => {
    for (let i = 0; i < n; i++) out.push({ file: path.join(dir, `f${i}.bin`), size: Math.max(1, Math.floor(size)) });
  };
  add("large", 2, (total * 0.4) / 2);
  add("medium", 8, (total * 0.4) / 8);
  add("small", Math.round((total * 0.18) / (2 * MiB)), 2 * MiB);
  add("tiny", Math.round((total * 0.02) / (24 * 1024)), 24 * 1024);
  return out;
}

const files = layout();
const t0 = performance.now();
for (const f of files) {
  fs.mkdirSync(path.join(tree, path.dirname(f.file)), { recursive: true });
  const fd = fs.openSync(path.join(tree, f.file), "w");
  for (let off = 0; off < f.size; off += 16 * MiB) fs.writeSync(fd, randomBytes(Math.min(16 * MiB, f.size - off)));
  fs.closeSync(fd);
}
const bytes = files.reduce((n, f) => n + f.size, 0);
console.log(`tree: ${files.length} files, ${(bytes / MiB).toFixed(0)} MiB of random bytes, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
const api = new ApiClient({ addr: server.url, token: server.adminToken, timeoutMs: 120_000 });
const store = new PieceStore(path.join(root, "local"));
try {
  const rows: string[][] = [];
  const push = async (label: string, version: string) => {
    const b0 = performance.now();
    await pkgBuildHandler({ dir: tree, name: "big", version, store });
    const buildS = (performance.now() - b0) / 1000;
    const p0 = performance.now();
    const r = await pkgPushHandler(api, { dir: tree, name: "big", version, store });
    const pushS = (performance.now() - p0) / 1000;
    rows.push([label, `${r.piecesUploaded} of ${r.piecesTotal}`, `${(r.bytesUploaded / MiB).toFixed(1)} MiB`, `${(r.bytesOnWire / MiB).toFixed(1)} MiB`, `${buildS.toFixed(1)} s`, `${pushS.toFixed(1)} s`]);
  };
  await push("first push", "1");
  // 100 bytes in the middle of the first large file: one piece of that file changes.
  const fd = fs.openSync(path.join(tree, files[0]!.file), "r+");
  fs.writeSync(fd, randomBytes(100), 0, 100, Math.floor(files[0]!.size / 2));
  fs.closeSync(fd);
  await push("second push (one file changed)", "2");
  console.log(`\n| push | pieces uploaded | bytes uploaded | on the wire | build (hash the tree) | push (build + upload + register) |`);
  console.log(`| --- | --- | --- | --- | --- | --- |`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  console.log(`\nmachine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? "?"}, Node ${process.version}; rerun: node bench/pkg-push.ts --mib ${values.mib}`);
} finally {
  await server.close();
  await removeTree(root);
}
