// One pass of a controller at a time (the reconcile loop, the endpoint controller): a run asked for
// while a pass is going makes exactly one more pass after it, however many were asked, so a burst of
// changes costs two passes rather than one each, and no two passes ever overlap.

/** What SerialPasses runs. */
export interface SerialPassesOptions {
  /** One pass. A throw is handed to `onError` and the loop goes on. */
  pass: () => Promise<void>;
  onError: (err: unknown) => void;
  /** Checked before every pass: false (stopped, not the leader) ends the run. */
  go: () => boolean;
}

/** Serialized, coalescing passes. */
export class SerialPasses {
  readonly #o: SerialPassesOptions;
  #running: Promise<void> | null = null;
  #again = false;

  constructor(o: SerialPassesOptions) {
    this.#o = o;
  }

  /** Runs a pass now, or one more after the current one; resolves when the passes are done. */
  run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      do {
        this.#again = false;
        if (!this.#o.go()) break;
        try {
          await this.#o.pass();
        } catch (err) {
          this.#o.onError(err);
        }
      } while (this.#again);
    })().finally(() => (this.#running = null));
    return this.#running;
  }

  /** Asks for one more pass after the current one (a pass whose writes lost a race calls it). */
  again(): void {
    this.#again = true;
  }

  /** Resolves once no pass runs. */
  async idle(): Promise<void> {
    await this.#running;
  }
}
