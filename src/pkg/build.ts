// Building a package from a directory: each regular file is cut into fixed-size pieces on its own
// (pieces never span files), so changing one file changes only that file's pieces and a second push
// uploads just those. Content-defined chunking would also survive insertions inside a large file; it
// is left for when a measurement shows it pays.

import fs from "node:fs";
import path from "node:path";
import type { Manifest, ManifestFile, ManifestSymlink } from "./manifest.ts";
import { manifestProblem, PieceSize, sha256 } from "./manifest.ts";
import { ErrorCodes, TiffinError } from "../model/errors.ts";
import type { PieceStore } from "./pieces.ts";

/** What `buildPackage` needs. */
export interface BuildOptions {
  dir: string;
  name: string;
  /** @default the first 12 hex digits of the content hash (same tree, same version) */
  version?: string;
  store: PieceStore;
  builder: string;
  now?: number;
  /** Relative path of the file `tiffin pkg run` executes (checked by manifestProblem). */
  entrypoint?: string;
  /** Called after each piece with bytes done and total. */
  onProgress?: (done: number, total: number) => void;
}

/** Builds a manifest from `dir`, writing every piece into the store. */
export async function buildPackage(o: BuildOptions): Promise<Manifest> {
  const root = path.resolve(o.dir);
  const dirs: string[] = [];
  const regular: { rel: string; abs: string; mode: number; size: number }[] = [];
  const symlinks: ManifestSymlink[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await fs.promises.readdir(path.join(root, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      const abs = path.join(root, r);
      if (e.isSymbolicLink()) symlinks.push({ path: r, target: await fs.promises.readlink(abs) });
      else if (e.isDirectory()) {
        dirs.push(r);
        await walk(r);
      } else if (e.isFile()) {
        const st = await fs.promises.stat(abs);
        regular.push({ rel: r, abs, mode: st.mode & 0o777, size: st.size });
      }
      // Sockets, fifos and devices have no bytes to ship: skipped.
    }
  };
  await walk("");
  const total = regular.reduce((n, f) => n + f.size, 0);
  let done = 0;
  const files: ManifestFile[] = [];
  const buf = Buffer.allocUnsafe(PieceSize);
  for (const f of regular) {
    const pieces: string[] = [];
    const fh = await fs.promises.open(f.abs, "r");
    try {
      for (let off = 0; off < f.size; off += PieceSize) {
        const want = Math.min(PieceSize, f.size - off);
        let got = 0;
        while (got < want) {
          const { bytesRead } = await fh.read(buf, got, want - got, off + got);
          if (bytesRead === 0) throw new Error(`${f.abs} shrank while it was being packaged`);
          got += bytesRead;
        }
        const r = await o.store.put(buf.subarray(0, want));
        if ("error" in r) throw new Error(r.error);
        pieces.push(r.hash);
        done += want;
        o.onProgress?.(done, total);
      }
    } finally {
      await fh.close();
    }
    files.push({ path: f.rel, mode: f.mode, size: f.size, pieces });
  }
  if (o.entrypoint !== undefined) {
    const e = o.entrypoint;
    const problem = manifestProblem({ format: 1, name: o.name, version: "v", pieceSize: PieceSize, dirs, files, symlinks, totalSize: total, createdAt: 0, builder: "", entrypoint: e });
    if (problem?.startsWith("entrypoint")) throw new TiffinError(ErrorCodes.Usage, `--entrypoint: ${problem}`, { hint: `name an executable file inside ${o.dir}, e.g. bin/tool (chmod +x it)` });
  }
  // The entry point is part of what runs, so it is part of the default version (absent: as before).
  const content = sha256(JSON.stringify({ dirs, files, symlinks, ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}) }));
  return {
    format: 1,
    name: o.name,
    version: o.version ?? content.slice(0, 12),
    pieceSize: PieceSize,
    dirs,
    files,
    symlinks,
    totalSize: total,
    createdAt: o.now ?? Date.now(),
    builder: o.builder,
    ...(o.entrypoint !== undefined ? { entrypoint: o.entrypoint } : {}),
  };
}
