// At most `limit` helper starts at a time. Starting a helper (spawn, then Node booting it until it
// answers on its socket) costs the agent's event loop and the machine's CPU; 200 at once starved the
// loop, pings to helpers already running came late and those helpers fenced their tasks. Starts wait
// here, first come first served; pings have no gate to wait on.

/** A counting gate for helper starts: `acquire` resolves with a release function once a slot is free. */
export class StartGate {
  readonly #limit: number;
  #busy = 0;
  readonly #waiting: (() => void)[] = [];

  /** `limit`: starts at once (at least 1). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`StartGate limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** Starts running now. */
  get busy(): number {
    return this.#busy;
  }

  /** Starts waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Waits for a slot; the returned function frees it (calling it again does nothing). */
  async acquire(): Promise<() => void> {
    if (this.#busy >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#busy++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next start (busy unchanged), so none can jump the queue.
      if (next) next();
      else this.#busy--;
    };
  }
}
