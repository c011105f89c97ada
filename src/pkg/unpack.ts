// Unpacking a verified manifest into a read-only tree at `<root>/<id>`. The tree is assembled in a
// temp directory and renamed into place, so a tree under its id is always complete; tasks share it.

import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import type { Manifest } from "./manifest.ts";
import { manifestProblem, packageId } from "./manifest.ts";
import { piecePool } from "./buffer-pool.ts";
import type { PieceStore } from "./pieces.ts";

/** Unpacks `m` (whose id must be `id`) from pieces already in `store`; resolves with the tree's path,
 * or an error value naming the first piece missing or corrupt. Idempotent. */
export async function unpackPackage(m: Manifest, id: string, store: PieceStore, root: string): Promise<{ path: string } | { error: string }> {
  if (packageId(m) !== id) return { error: `manifest does not hash to package id ${id}` };
  const problem = manifestProblem(m);
  if (problem !== null) return { error: `manifest of ${id}: ${problem}` };
  const dest = path.join(root, id);
  if (fs.existsSync(dest)) return { path: dest };
  await fs.promises.mkdir(root, { recursive: true });
  const tmp = path.join(root, `.${id}.${randomBytes(6).toString("hex")}.tmp`);
  await fs.promises.mkdir(tmp);
  try {
    for (const d of m.dirs) await fs.promises.mkdir(path.join(tmp, d), { recursive: true });
    for (const f of m.files) {
      const out = path.join(tmp, f.path);
      await fs.promises.mkdir(path.dirname(out), { recursive: true });
      const fh = await fs.promises.open(out, "w", 0o600);
      try {
        for (const h of f.pieces) {
          const data = await store.get(h, { pooled: true }); // verified: a piece damaged on disk is never used
          if (!data) return { error: `piece ${h} of ${f.path} is missing or corrupt` };
          try {
            await fh.write(data);
          } finally {
            piecePool.give(data);
          }
        }
      } finally {
        await fh.close();
      }
      await fs.promises.chmod(out, f.mode & 0o555);
    }
    for (const s of m.symlinks) {
      await fs.promises.mkdir(path.dirname(path.join(tmp, s.path)), { recursive: true });
      await fs.promises.symlink(s.target, path.join(tmp, s.path));
    }
    // Directories last and deepest first: read-only from here on.
    for (const d of [...m.dirs].sort((a, b) => b.length - a.length)) await fs.promises.chmod(path.join(tmp, d), 0o555);
    await fs.promises.chmod(tmp, 0o555);
    await fs.promises.rename(tmp, dest);
    return { path: dest };
  } finally {
    if (fs.existsSync(tmp)) await removeTree(tmp);
  }
}

/** Removes a tree made read-only by unpackPackage. */
export async function removeTree(dir: string): Promise<void> {
  const makeWritable = async (p: string): Promise<void> => {
    const st = await fs.promises.lstat(p);
    if (!st.isDirectory()) return;
    await fs.promises.chmod(p, 0o755);
    for (const e of await fs.promises.readdir(p)) await makeWritable(path.join(p, e));
  };
  await makeWritable(dir).catch(() => undefined);
  await fs.promises.rm(dir, { recursive: true, force: true });
}
