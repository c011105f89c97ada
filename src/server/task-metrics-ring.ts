// A task's kept metric points, stored by column in typed arrays (a ring that grows by doubling up to
// its capacity): about 26 bytes a point instead of about 115 for an object per point (bench/task-
// metrics.ts), so 24 h of points for 1,000 tasks fit in about 36 MiB. Values are Float32 (7 digits:
// enough for rates and seconds); a null is stored as NaN.
import type { TaskMetricsPoint } from "../model/index.ts";

const toF = (v: number | null): number => (v === null ? NaN : v);
const fromF = (v: number | undefined): number | null => (v === undefined || Number.isNaN(v) ? null : v);

/** A bounded ring of TaskMetricsPoints, oldest first. */
export class PointRing {
  readonly #capacity: number;
  #at = new Float64Array(0);
  #scrapeErrors = new Uint32Array(0);
  #up = new Uint8Array(0);
  #clients = new Float32Array(0);
  #errors = new Float32Array(0);
  #latency = new Float32Array(0);
  #start = 0;
  #length = 0;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** Points held. */
  get length(): number {
    return this.#length;
  }

  /** The newest point's time, or null. */
  lastAt(): number | null {
    return this.#length === 0 ? null : (this.#at[this.#slot(this.#length - 1)] ?? null);
  }

  /** Adds a point (dropping the oldest when full), or replaces the newest with `replaceLast`. */
  push(p: TaskMetricsPoint, replaceLast = false): void {
    if (replaceLast && this.#length > 0) return this.#write(this.#slot(this.#length - 1), p);
    if (this.#length === this.#at.length && this.#at.length < this.#capacity) this.#grow();
    if (this.#length === this.#at.length) {
      this.#start = (this.#start + 1) % this.#at.length;
      this.#length--;
    }
    this.#length++;
    this.#write(this.#slot(this.#length - 1), p);
  }

  /** Drops points older than `at`. */
  dropBefore(at: number): void {
    while (this.#length > 0 && (this.#at[this.#start] ?? at) < at) {
      this.#start = (this.#start + 1) % this.#at.length;
      this.#length--;
    }
  }

  /** The points, oldest first. */
  toArray(): TaskMetricsPoint[] {
    const out: TaskMetricsPoint[] = [];
    for (let i = 0; i < this.#length; i++) {
      const s = this.#slot(i);
      out.push({
        at: this.#at[s] ?? 0,
        up: this.#up[s] === 1,
        scrapeErrors: this.#scrapeErrors[s] ?? 0,
        clients: fromF(this.#clients[s]),
        errorsPerSec: fromF(this.#errors[s]),
        latencySeconds: fromF(this.#latency[s]),
      });
    }
    return out;
  }

  #slot(i: number): number {
    return (this.#start + i) % this.#at.length;
  }

  #write(s: number, p: TaskMetricsPoint): void {
    this.#at[s] = p.at;
    this.#up[s] = p.up ? 1 : 0;
    this.#scrapeErrors[s] = Math.min(p.scrapeErrors, 0xffffffff);
    this.#clients[s] = toF(p.clients);
    this.#errors[s] = toF(p.errorsPerSec);
    this.#latency[s] = toF(p.latencySeconds);
  }

  /** Doubles the arrays (up to the capacity), unrolling the ring to start at 0. */
  #grow(): void {
    const size = Math.min(this.#capacity, Math.max(16, this.#at.length * 2));
    const points = this.toArray();
    this.#at = new Float64Array(size);
    this.#scrapeErrors = new Uint32Array(size);
    this.#up = new Uint8Array(size);
    this.#clients = new Float32Array(size);
    this.#errors = new Float32Array(size);
    this.#latency = new Float32Array(size);
    this.#start = 0;
    points.forEach((p, i) => this.#write(i, p));
  }
}
