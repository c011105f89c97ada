// Reusable piece-sized buffers. A fresh 4 MiB buffer costs about a thousand page faults the first
// time it is written (the kernel zeroes every page), and as garbage it pushes V8 into full
// collections: reading 256 MiB of pieces from the page cache into a new buffer each took about twice
// the CPU of reading them into one reused buffer (and the fan-out benchmark's agents move gigabytes).
// A buffer is lent by `take` and comes back by `give` from the one place that knows nobody uses it
// any more; a buffer never given back is simply collected. Giving back a buffer twice, or one the pool
// did not lend, does nothing, so a mistake cannot hand one buffer to two users.

import { PieceSize } from "./manifest.ts";

/** A pool of buffers of one size class. */
export class BufferPool {
  readonly slabBytes: number;
  readonly maxFree: number;
  readonly #free: ArrayBuffer[] = [];
  readonly #lent = new WeakSet<ArrayBuffer>();

  #usedAt = 0;
  #trimmer: NodeJS.Timeout | null = null;
  readonly #idleMs: number;

  /** `idleMs`: free slabs are let go once the pool has not lent one for this long. */
  constructor(slabBytes: number, maxFree: number, idleMs = 30_000) {
    this.slabBytes = slabBytes;
    this.maxFree = maxFree;
    this.#idleMs = idleMs;
  }

  /** A buffer of `size` bytes (contents undefined), pooled when it fits a slab. */
  take(size: number): Buffer {
    if (size > this.slabBytes || size === 0) return Buffer.allocUnsafe(size);
    const ab = this.#free.pop() ?? new ArrayBuffer(this.slabBytes);
    this.#lent.add(ab);
    this.#usedAt = Date.now();
    this.#trimmer ??= setInterval(() => this.#trim(), Math.max(1000, this.#idleMs / 2)).unref();
    return Buffer.from(ab, 0, size);
  }

  /** Gives back a buffer from `take`; the caller must not touch it, nor anything holding it, after. */
  give(buf: Buffer): void {
    const ab = buf.buffer;
    if (!(ab instanceof ArrayBuffer) || !this.#lent.has(ab)) return;
    this.#lent.delete(ab);
    if (this.#free.length < this.maxFree) this.#free.push(ab);
  }

  /** Whether `buf` is lent by this pool now (whoever keeps buffers must not keep these). */
  lends(buf: Buffer): boolean {
    return buf.buffer instanceof ArrayBuffer && this.#lent.has(buf.buffer);
  }

  #trim(): void {
    if (Date.now() - this.#usedAt < this.#idleMs) return;
    this.#free.length = 0;
    if (this.#trimmer) clearInterval(this.#trimmer);
    this.#trimmer = null;
  }

  /** Free slabs held (tests). */
  get freeCount(): number {
    return this.#free.length;
  }
}

/** The process's pool of piece buffers (at most 64 MiB kept, all let go after 30 s unused). */
export const piecePool = new BufferPool(PieceSize, 16, 30_000);
