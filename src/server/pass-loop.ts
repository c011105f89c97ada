// The loop of a leader's controller (the endpoint registry, remediation): a pass when the mirror
// shows a change the controller cares about, and on a tick (for what changes by time alone), the
// asks coalesced on the next turn of the event loop and run by SerialPasses (one pass at a time, one
// more after it however many were asked), only while `active()` (leading) and not stopped.
import type { Clock } from "../model/index.ts";
import type { Change, Mirror } from "./mirror.ts";
import { SerialPasses } from "./serial-passes.ts";

/** What a PassLoop runs, and when. */
export interface PassLoopOptions {
  /** Where changes come from (only its change listeners are used). */
  mirror: Pick<Mirror, "onChange">;
  clock: Clock;
  /** One pass. A throw is handed to `onError` and the loop goes on. */
  pass: () => Promise<void>;
  onError: (err: unknown) => void;
  /** True while the controller may pass (this server leads). */
  active: () => boolean;
  /** Whether a batch of the mirror's changes asks for a pass. */
  wants: (changes: readonly Change[]) => boolean;
  /** How often `onTick` is asked. */
  tickMs: number;
  /** Whether a tick asks for a pass. @default every tick does */
  onTick?: () => boolean;
}

/** A controller's start/tick/trigger loop (see the file comment). */
export class PassLoop {
  readonly #o: PassLoopOptions;
  readonly #passes: SerialPasses;
  #unsubscribe: (() => void) | null = null;
  #tick: { cancel(): void } | null = null;
  #scheduled = false;
  #stopped = false;

  constructor(o: PassLoopOptions) {
    this.#o = o;
    this.#passes = new SerialPasses({ pass: o.pass, onError: o.onError, go: () => o.active() && !this.#stopped });
  }

  /** Starts following the mirror and ticking (the first tick at once). */
  start(): void {
    this.#unsubscribe = this.#o.mirror.onChange((changes) => {
      if (this.#o.wants(changes)) this.trigger();
    });
    const tick = (): void => {
      if (this.#stopped) return;
      if (this.#o.onTick?.() ?? true) this.trigger();
      this.#tick = this.#o.clock.setTimeout(tick, this.#o.tickMs);
    };
    tick();
  }

  /** Asks for a pass on the next turn (coalesced with one already asked for). */
  trigger(): void {
    if (this.#stopped || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#passes.run();
    });
  }

  /** Runs a pass now (or one more after the current one); resolves when the passes are done. */
  run(): Promise<void> {
    return this.#passes.run();
  }

  /** Asks for one more pass after the current one (from inside a pass whose writes lost a race). */
  again(): void {
    this.#passes.again();
  }

  /** Stops; resolves once a running pass is done. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#tick?.cancel();
    await this.#passes.idle();
  }
}
