// A task's held metric points in one Float32Array, six numbers a point (at as ms after the ring's
// `base`, up, scrape errors, clients, errors/s, latency; a null is NaN): one typed array a task rather
// than one per column or an object per point, since with a block or two held per task the arrays' own
// overhead is what the server's memory budget pays for (bench/task-metrics.ts). Float32 keeps 7
// digits (enough for rates and seconds; stored blocks keep 6) and times exact to the ms within
// 2^24 ms (4.6 h) of `base`: a point further away rebases the ring. A ring that starts at
// `initial` slots and grows by doubling up to its capacity only when the points are not written out
// in time (a late or failed flush).
import type { TaskMetricsPoint } from "../model/index.ts";

const Stride = 6;
/** Times are exact in a Float32 up to 2^24. */
const MaxOffset = 2 ** 24;
const toF = (v: number | null): number => (v === null ? NaN : v);
const fromF = (v: number | undefined): number | null => (v === undefined || Number.isNaN(v) ? null : v);

/** A bounded ring of TaskMetricsPoints, oldest first. */
export class PointRing {
  readonly #capacity: number;
  readonly #initial: number;
  #buf = new Float32Array(0);
  #base = 0;
  #start = 0;
  #length = 0;

  /** `capacity` points at most; `initial` slots allocated at the first point (@default 16). */
  constructor(capacity: number, initial = 16) {
    this.#capacity = Math.max(1, capacity);
    this.#initial = Math.max(1, Math.min(this.#capacity, initial));
  }

  /** Points held. */
  get length(): number {
    return this.#length;
  }

  /** The newest point's time, or null. */
  lastAt(): number | null {
    return this.#length === 0 ? null : this.#base + (this.#buf[this.#slot(this.#length - 1) * Stride] ?? 0);
  }

  /** Adds a point (dropping the oldest when full), or replaces the newest with `replaceLast`. */
  push(p: TaskMetricsPoint, replaceLast = false): void {
    if (this.#length === 0) this.#base = p.at;
    else if (p.at < this.#base || p.at - this.#base >= MaxOffset) this.#rebase(p.at);
    if (replaceLast && this.#length > 0) return this.#write(this.#slot(this.#length - 1), p);
    if (this.#length === this.#slots() && this.#slots() < this.#capacity) this.#grow();
    if (this.#length === this.#slots()) {
      this.#start = (this.#start + 1) % this.#slots();
      this.#length--;
    }
    this.#length++;
    this.#write(this.#slot(this.#length - 1), p);
  }

  /** Drops points older than `at`. */
  dropBefore(at: number): void {
    while (this.#length > 0 && this.#base + (this.#buf[this.#start * Stride] ?? Infinity) < at) {
      this.#start = (this.#start + 1) % this.#slots();
      this.#length--;
    }
  }

  /** The points, oldest first. */
  toArray(): TaskMetricsPoint[] {
    const out: TaskMetricsPoint[] = [];
    const b = this.#buf;
    for (let i = 0; i < this.#length; i++) {
      const o = this.#slot(i) * Stride;
      out.push({
        at: this.#base + (b[o] ?? 0),
        up: b[o + 1] === 1,
        scrapeErrors: b[o + 2] ?? 0,
        clients: fromF(b[o + 3]),
        errorsPerSec: fromF(b[o + 4]),
        latencySeconds: fromF(b[o + 5]),
      });
    }
    return out;
  }

  #slots(): number {
    return this.#buf.length / Stride;
  }

  #slot(i: number): number {
    return (this.#start + i) % this.#slots();
  }

  #write(s: number, p: TaskMetricsPoint): void {
    const o = s * Stride;
    const b = this.#buf;
    b[o] = p.at - this.#base;
    b[o + 1] = p.up ? 1 : 0;
    b[o + 2] = p.scrapeErrors;
    b[o + 3] = toF(p.clients);
    b[o + 4] = toF(p.errorsPerSec);
    b[o + 5] = toF(p.latencySeconds);
  }

  /** Allocates `initial` slots, or doubles them (up to the capacity), unrolling the ring to start at 0. */
  #grow(): void {
    const size = this.#slots() === 0 ? this.#initial : Math.min(this.#capacity, this.#slots() * 2);
    const points = this.toArray();
    this.#buf = new Float32Array(size * Stride);
    this.#start = 0;
    points.forEach((p, i) => this.#write(i, p));
  }

  /** Moves `base` so that both the held points and `at` are within reach (dropping held points that cannot be). */
  #rebase(at: number): void {
    const points = this.toArray().filter((p) => Math.abs(at - p.at) < MaxOffset);
    this.#base = Math.min(at, points[0]?.at ?? at);
    this.#start = 0;
    this.#length = points.length;
    points.forEach((p, i) => this.#write(i, p));
  }
}
