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
//
// A piece may also live INSIDE a file of an unpacked tree (an extent: file, offset, length), so an
// agent writes each byte of a package once. The package cache tells the store where a package's
// pieces go (`expect`); a piece stored while expected is written at those places instead of into a
// piece file, and is read back from there (`get`, `has`) like any other piece. Verification works the
// same way, per extent, against the signature of its file; the store's own writes into a file carry
// the verification of its other extents forward. Extents are remembered in memory only: the package
// cache registers those of its unpacked trees again at start (`addExtents`, unverified).

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
  /** Pieces that live inside tree files, by hash (any one of its places serves). */
  extents: Map<string, Extent[]>;
  /** Places pieces are expected at (`expect`), by hash: a put writes there. */
  expected: Map<string, Place[]>;
  /** Tree files holding extents, by path. */
  files: Map<string, ExtentFile>;
}

/** Where a piece goes or lives: a byte range of a file. */
export interface Place {
  file: string;
  offset: number;
  length: number;
}

/** A file holding extents, and what this process knows of it. */
interface ExtentFile {
  path: string;
  /** The file's signature after the store's last write or verification ("" when unknown). */
  sig: string;
  /** The store's own writes in progress: the file changes under them, and that is no news. */
  writing: number;
  extents: Extent[];
}

interface Extent {
  file: ExtentFile;
  offset: number;
  length: number;
  /** Verified as of file.sig. */
  verified: boolean;
}

/** Most verified files remembered per directory (about 100 bytes each). */
const MaxVerified = 500_000;

const caches = new Map<string, DirCache>();

function cacheOf(dir: string): DirCache {
  const key = path.resolve(dir);
  let c = caches.get(key);
  if (!c) caches.set(key, (c = { verified: new Map(), recent: new Map(), recentBytes: 0, maxRecentBytes: 0, dirs: new Set(), extents: new Map(), expected: new Map(), files: new Map() }));
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

function writeFdAt(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

/** `length` bytes at `offset` of `file` (fewer at its end), and the file's signature taken after the
 * read; null if it cannot be opened or read. `pooled`: the buffer is lent by piecePool. */
async function readRange(file: string, offset: number, length: number, pooled: boolean): Promise<{ data: Buffer; sig: string } | null> {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return null;
  }
  const buf = pooled ? piecePool.take(length) : Buffer.allocUnsafe(length);
  try {
    const n = await readFd(fd, buf, 0, length, offset);
    return { data: n < length ? buf.subarray(0, n) : buf, sig: signature(fs.fstatSync(fd, { bigint: true })) };
  } catch {
    piecePool.give(buf);
    return null;
  } finally {
    closeQuietly(fd);
  }
}

/** Whether `file` is inside directory `dir`. */
function inside(file: string, dir: string): boolean {
  return file.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);
}

function fileSig(file: string): string {
  try {
    return signature(fs.statSync(file, { bigint: true }));
  } catch {
    return "";
  }
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
    return fs.existsSync(this.pathOf(hash)) || this.#extentsOf(hash).length > 0;
  }

  /** Stores bytes under their hash; if `expected` is given and differs, stores nothing and says why. */
  async put(data: Uint8Array, expected?: string): Promise<{ hash: string } | { error: string }> {
    const hash = sha256(data);
    if (expected !== undefined && hash !== expected) return { error: `piece content hashes to ${hash}, not ${expected}` };
    const places = this.#c.expected.get(hash);
    if (places) {
      await this.#writePlaces(hash, places, data);
      return { hash };
    }
    const dest = this.pathOf(hash);
    if (fs.existsSync(dest) || this.#extentsOf(hash).length > 0) return { hash };
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
    if (c.extents.has(hash)) {
      const inTree = await this.#getExtent(hash, o.pooled === true);
      if (inTree) return inTree;
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

  /** Pieces stored from now on go to these places (a tree being fetched) instead of piece files; a
   * piece already expected elsewhere goes to both. */
  expect(places: ReadonlyMap<string, readonly Place[]>): void {
    for (const [hash, list] of places) this.#c.expected.set(hash, [...(this.#c.expected.get(hash) ?? []), ...list]);
  }

  /** Stops expecting pieces at places under `dir` (a fetch that ended, or gave up). */
  unexpect(dir: string): void {
    for (const [hash, list] of this.#c.expected) {
      const left = list.filter((p) => !inside(p.file, dir));
      if (left.length === 0) this.#c.expected.delete(hash);
      else this.#c.expected.set(hash, left);
    }
  }

  /** Whether a piece is still expected at a place under `dir` (not stored yet). */
  expecting(hash: string, dir: string): boolean {
    return (this.#c.expected.get(hash) ?? []).some((p) => inside(p.file, dir));
  }

  /** Registers pieces that live at these places; `verified`: their bytes were just checked. */
  addExtents(places: ReadonlyMap<string, readonly Place[]>, verified = false): void {
    for (const [hash, list] of places) {
      for (const p of list) {
        const f = this.#fileOf(p.file);
        if (verified && f.sig === "") f.sig = fileSig(p.file);
        const known = f.extents.find((e) => e.offset === p.offset);
        if (known) {
          known.verified ||= verified;
          continue;
        }
        const e: Extent = { file: f, offset: p.offset, length: p.length, verified };
        f.extents.push(e);
        let all = this.#c.extents.get(hash);
        if (!all) this.#c.extents.set(hash, (all = []));
        all.push(e);
      }
    }
  }

  /** The files under `from` moved to `to` (a tree renamed into place): their extents follow. */
  moveExtents(from: string, to: string): void {
    for (const f of [...this.#c.files.values()]) {
      if (!inside(f.path, from)) continue;
      this.#c.files.delete(f.path);
      f.path = path.join(to, path.relative(from, f.path));
      this.#c.files.set(f.path, f);
    }
  }

  /** Reads `length` bytes at `offset` of `file` and checks them against `hash`. */
  async verifyAt(hash: string, p: Place): Promise<boolean> {
    const r = await readRange(p.file, p.offset, p.length, true);
    if (r === null) return false;
    const ok = r.data.length === p.length && sha256(r.data) === hash;
    piecePool.give(r.data);
    return ok;
  }

  /** Live extents of a piece; those whose file is gone (a tree removed) are forgotten. */
  #extentsOf(hash: string): Extent[] {
    const all = this.#c.extents.get(hash);
    if (!all) return [];
    const live = all.filter((e) => this.#c.files.get(e.file.path) === e.file && fs.existsSync(e.file.path));
    if (live.length !== all.length) {
      if (live.length === 0) this.#c.extents.delete(hash);
      else this.#c.extents.set(hash, live);
      for (const e of all) if (!live.includes(e)) this.#dropExtent(e);
    }
    return live;
  }

  #dropExtent(e: Extent): void {
    const f = e.file;
    f.extents = f.extents.filter((x) => x !== e);
    if (f.extents.length === 0 && this.#c.files.get(f.path) === f) this.#c.files.delete(f.path);
  }

  #fileOf(file: string): ExtentFile {
    let f = this.#c.files.get(file);
    if (!f) this.#c.files.set(file, (f = { path: file, sig: "", writing: 0, extents: [] }));
    return f;
  }

  /** Writes a verified piece at each place it is expected, then serves it from there. */
  async #writePlaces(hash: string, places: Place[], data: Uint8Array): Promise<void> {
    const written = new Map<string, Place[]>();
    for (const p of places) {
      const f = this.#fileOf(p.file);
      const fd = fs.openSync(p.file, "r+");
      try {
        // Someone else's change since our last look: what was verified in this file no longer is.
        if (f.writing === 0 && f.sig !== "" && signature(fs.fstatSync(fd, { bigint: true })) !== f.sig) for (const e of f.extents) e.verified = false;
        f.writing++;
        try {
          let off = 0;
          while (off < p.length) off += await writeFdAt(fd, data, off, p.length - off, p.offset + off);
        } finally {
          f.writing--;
        }
        if (f.writing === 0) f.sig = signature(fs.fstatSync(fd, { bigint: true }));
      } finally {
        closeQuietly(fd);
      }
      written.set(hash, [...(written.get(hash) ?? []), p]);
    }
    const left = (this.#c.expected.get(hash) ?? []).filter((p) => !places.includes(p));
    if (left.length === 0) this.#c.expected.delete(hash);
    else this.#c.expected.set(hash, left);
    this.addExtents(written, true);
  }

  /** A piece read from one of its extents, verified (hashed unless known good); null if none holds it. */
  async #getExtent(hash: string, pooled: boolean): Promise<Buffer | null> {
    for (const e of this.#extentsOf(hash)) {
      const r = await readRange(e.file.path, e.offset, e.length, pooled);
      if (r === null) continue;
      const { data, sig } = r;
      // Unchanged since verified, or changing only under the store's own writes (other ranges).
      const trusted = e.verified && (sig === e.file.sig || e.file.writing > 0);
      if (data.length === e.length && (trusted || sha256(data) === hash)) {
        if (!trusted) {
          if (sig !== e.file.sig && e.file.writing === 0) {
            for (const x of e.file.extents) x.verified = false;
            e.file.sig = sig;
          }
          e.verified = true;
        }
        return data;
      }
      piecePool.give(data);
      // Damaged here: this place no longer counts as holding the piece.
      this.#c.extents.set(hash, (this.#c.extents.get(hash) ?? []).filter((x) => x !== e));
      this.#dropExtent(e);
    }
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
      return fs.openSync(file, "w", 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      fs.mkdirSync(dir, { recursive: true });
      return fs.openSync(file, "w", 0o600);
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
