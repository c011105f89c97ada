// The built-in checks' readings: thin I/O over fs.statfs, a write in the data dir,
// /proc/pressure/memory and a tiny container run. Verdicts are judge.ts's.
import fs from "node:fs";
import path from "node:path";
import type { FsReading } from "./judge.ts";

/** statfs of `dir`, or null when it fails. */
export async function readFs(dir: string): Promise<FsReading | null> {
  try {
    const s = await fs.promises.statfs(dir);
    return { bsize: s.bsize, blocks: s.blocks, bavail: s.bavail, files: s.files, ffree: s.ffree };
  } catch {
    return null;
  }
}

/** Writes, syncs, reads back and removes a small file in `dir`: null when all went well, else the
 * error (its code first: EROFS, ENOSPC, EACCES, EIO). */
export async function probeWrite(dir: string): Promise<{ error: string | null; readOnly: boolean }> {
  const file = path.join(dir, `.machine-check-${process.pid}`);
  const body = `tiffin machine check ${Date.now()}\n`;
  try {
    const fh = await fs.promises.open(file, "w", 0o600);
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const back = await fs.promises.readFile(file, "utf8");
    await fs.promises.rm(file, { force: true });
    return back === body ? { error: null, readOnly: false } : { error: "read back differs from what was written", readOnly: false };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    await fs.promises.rm(file, { force: true }).catch(() => {});
    return { error: e.code ? `${e.code}: ${e.message}` : String(err), readOnly: e.code === "EROFS" };
  }
}

/** The text of /proc/pressure/memory, or null where the kernel has none. */
export async function readPsi(file = "/proc/pressure/memory"): Promise<string | null> {
  try {
    return await fs.promises.readFile(file, "utf8");
  } catch {
    return null;
  }
}
