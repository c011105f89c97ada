// A piece store on disk: one file per piece, named by its sha256, so pieces are stored once however
// many packages or versions share them. Writes go to a temp file and are renamed in, so a crash never
// leaves a partial piece under a valid name; every read is re-hashed before use.

import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Sha256Pattern, sha256 } from "./manifest.ts";

/** Pieces by hash under one directory (`<dir>/<first 2 hex>/<hash>`). */
export class PieceStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  /** Where a piece lives (whether or not it exists). */
  pathOf(hash: string): string {
    if (!Sha256Pattern.test(hash)) throw new Error(`not a sha256: ${hash}`);
    return path.join(this.dir, hash.slice(0, 2), hash);
  }

  /** Whether the piece is present (not re-verified: `get` does that). */
  has(hash: string): boolean {
    return fs.existsSync(this.pathOf(hash));
  }

  /** Stores bytes under their hash; if `expected` is given and differs, stores nothing and says why. */
  async put(data: Uint8Array, expected?: string): Promise<{ hash: string } | { error: string }> {
    const hash = sha256(data);
    if (expected !== undefined && hash !== expected) return { error: `piece content hashes to ${hash}, not ${expected}` };
    const dest = this.pathOf(hash);
    if (fs.existsSync(dest)) return { hash };
    await fs.promises.mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.${randomBytes(6).toString("hex")}.tmp`;
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, dest);
    return { hash };
  }

  /** The piece's bytes if present and intact; a corrupt piece is removed (so it is fetched again). */
  async get(hash: string): Promise<Buffer | null> {
    let data: Buffer;
    try {
      data = await fs.promises.readFile(this.pathOf(hash));
    } catch {
      return null;
    }
    if (sha256(data) === hash) return data;
    await fs.promises.rm(this.pathOf(hash), { force: true });
    return null;
  }
}
