// A piece store on disk: one file per piece, named by its sha256, so pieces are stored once however
// many packages or versions share them. Writes go to a temp file and are renamed in, so a crash never
// leaves a partial piece under a valid name.
//
// Every piece is verified before use, but not re-hashed on every read: this process remembers the
// files it verified (their inode, size and mtime, taken after the read), and re-hashes a file that
// changed since or that it never verified (written by another process, or before a restart). Recently
// stored or read pieces are also kept in memory, within a byte budget, because the piece a swarm agent
// just fetched is the one its peers ask for next. Both are shared by every PieceStore of one directory
// in the process (an agent's package cache and its swarm peer use the same pieces).

import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { piecePool } from "./buffer-pool.ts";
import { Sha256Pattern, sha256 } from "./manifest.ts";

/** What this process knows of one store directory. */
interface DirCache {
  /** Files it verified, by piece hash: "ino:size:mtimeNs" when verified. */
  verified: Map<string, string>;
  recent: Map<string, Buffer>;
  recentBytes: number;
  maxRecentBytes: number;
  /** Subdirectories known to exist (made once, not on every put). */
  dirs: Set<string>;
}

/** Most verified files remembered per directory (about 100 bytes each). */
const MaxVerified = 500_000;

const caches = new Map<string, DirCache>();

function cacheOf(dir: string): DirCache {
  const key = path.resolve(dir);
  let c = caches.get(key);
  if (!c) caches.set(key, (c = { verified: new Map(), recent: new Map(), recentBytes: 0, maxRecentBytes: 0, dirs: new Set() }));
  return c;
}

/** The whole file in one read where it can (FileHandle.readFile reads 512 KiB at a time). */
async function readAll(fd: number, pooled: boolean): Promise<Buffer> {
  const size = Number(fs.fstatSync(fd).size);
  const buf = pooled ? piecePool.take(size) : Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = await readFd(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  // A file that grew or shrank meanwhile no longer matches its signature, so these bytes get hashed.
  return off < size ? buf.subarray(0, off) : buf;
}

function readFd(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

function writeFd(fd: number, buf: Uint8Array, off: number, len: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, buf, off, len, null, (err, n) => (err ? reject(err) : resolve(n))));
}

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // closed already
  }
}

function signature(st: fs.BigIntStats): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}`;
}

/** Options of a PieceStore. */
export interface PieceStoreOptions {
  /** Bytes of recent pieces kept in memory for this directory (the largest budget asked for wins). @default 0 */
  memoryBytes?: number;
}

/** Pieces by hash under one directory (`<dir>/<first 2 hex>/<hash>`). */
export class PieceStore {
  readonly dir: string;
  readonly #c: DirCache;

  constructor(dir: string, o: PieceStoreOptions = {}) {
    this.dir = dir;
    this.#c = cacheOf(dir);
    this.#c.maxRecentBytes = Math.max(this.#c.maxRecentBytes, o.memoryBytes ?? 0);
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
    const tmp = `${dest}.${randomBytes(6).toString("hex")}.tmp`;
    // The bytes go through the thread pool in one write; open, fstat, close and rename are done in
    // place (microseconds on a local disk, where each trip through the thread pool costs two context
    // switches: with many agents per core, those showed in the fan-out profiles).
    const fd = this.#create(tmp);
    let st: fs.BigIntStats;
    try {
      let off = 0;
      while (off < data.length) off += await writeFd(fd, data, off, data.length - off);
      st = fs.fstatSync(fd, { bigint: true });
      fs.closeSync(fd);
      fs.renameSync(tmp, dest);
    } catch (err) {
      closeQuietly(fd);
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    this.#verified(hash, signature(st));
    this.#remember(hash, Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    return { hash };
  }

  /** The piece's bytes if present and intact; a corrupt piece is removed (so it is fetched again).
   * The buffer may be shared with other callers: never modify it. `pooled`: a buffer read from disk
   * is lent by `piecePool`, and the caller gives it back (`piecePool.give`) once done with it (one
   * from memory is not the pool's, and giving it back does nothing). */
  async get(hash: string, o: { pooled?: boolean } = {}): Promise<Buffer | null> {
    const c = this.#c;
    const file = this.pathOf(hash);
    const kept = c.recent.get(hash);
    if (kept) {
      c.recent.delete(hash);
      c.recentBytes -= kept.length;
      // Served from memory only while the file is still there, unchanged (removed by GC: gone here too).
      const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
      if (st && c.verified.get(hash) === signature(st)) {
        c.recent.set(hash, kept);
        c.recentBytes += kept.length;
        return kept;
      }
    }
    let data: Buffer;
    let sig: string;
    let fd: number;
    try {
      fd = fs.openSync(file, "r");
    } catch {
      return null;
    }
    try {
      data = await readAll(fd, o.pooled === true);
      // Taken after the read: a file changed during it no longer matches what was verified.
      sig = signature(fs.fstatSync(fd, { bigint: true }));
    } catch {
      return null;
    } finally {
      closeQuietly(fd);
    }
    if (c.verified.get(hash) === sig || sha256(data) === hash) {
      this.#verified(hash, sig);
      if (o.pooled !== true) this.#remember(hash, data);
      return data;
    }
    piecePool.give(data);
    c.verified.delete(hash);
    await fs.promises.rm(file, { force: true });
    return null;
  }

  /** Opens a new file for writing, making its directory the first time (or again if removed). */
  #create(file: string): number {
    const dir = path.dirname(file);
    if (!this.#c.dirs.has(dir)) {
      fs.mkdirSync(dir, { recursive: true });
      this.#c.dirs.add(dir);
    }
    try {
      return fs.openSync(file, "w");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      fs.mkdirSync(dir, { recursive: true });
      return fs.openSync(file, "w");
    }
  }

  #verified(hash: string, sig: string): void {
    const v = this.#c.verified;
    if (v.size >= MaxVerified) v.clear();
    v.set(hash, sig);
  }

  #remember(hash: string, data: Buffer): void {
    const c = this.#c;
    // A pooled buffer goes back to its pool and is reused: never kept here.
    if (data.length > c.maxRecentBytes || c.recent.has(hash) || piecePool.lends(data)) return;
    c.recent.set(hash, data);
    c.recentBytes += data.length;
    for (const [h, b] of c.recent) {
      if (c.recentBytes <= c.maxRecentBytes) break;
      c.recent.delete(h);
      c.recentBytes -= b.length;
    }
  }
}
