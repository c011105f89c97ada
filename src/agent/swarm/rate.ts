// A token bucket over bytes, for the agent's upload and download rate limits. Takers go into debt and
// sleep it off, so concurrent transfers share the rate without a queue and a burst stays short.

/** Limits a byte rate shared by every transfer that takes from it. */
export class TokenBucket {
  readonly bytesPerSec: number;
  readonly #burst: number;
  #tokens: number;
  #last = performance.now();

  /** `burst`: bytes that may go at once after a pause. @default a tenth of a second's worth, at least 64 KiB */
  constructor(bytesPerSec: number, burst?: number) {
    if (!(bytesPerSec > 0)) throw new Error(`rate must be positive, got ${bytesPerSec}`);
    this.bytesPerSec = bytesPerSec;
    this.#burst = burst ?? Math.max(64 * 1024, bytesPerSec / 10);
    this.#tokens = this.#burst;
  }

  /** Resolves when `n` bytes may be sent (or have been received) within the rate. */
  async take(n: number): Promise<void> {
    const now = performance.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.bytesPerSec);
    this.#last = now;
    this.#tokens -= n;
    if (this.#tokens < 0) await new Promise((r) => setTimeout(r, (-this.#tokens / this.bytesPerSec) * 1000));
  }
}

/** A bucket for a limit, or null when there is none (undefined, null or 0). */
export function bucketOf(bytesPerSec: number | null | undefined): TokenBucket | null {
  return bytesPerSec !== undefined && bytesPerSec !== null && bytesPerSec > 0 ? new TokenBucket(bytesPerSec) : null;
}
