// Sends attempt updates to the server: coalesced (a burst of status changes becomes one POST), the
// latest update per attempt wins, and retried with back-off until the server accepts, because a
// final status the server never hears of would leave its task unaccounted for.

import type { AttemptUpdate } from "../api/types.ts";
import type { CallResult } from "./client.ts";
import { nextBackoff } from "./sse.ts";

/** What the reporter needs from the rest of the agent. */
export interface ReporterDeps {
  /** Sends one batch; null identity means "not registered yet": keep the updates. */
  send(updates: AttemptUpdate[]): Promise<CallResult<unknown>> | null;
  /** Sees every update as it is queued, once (the agent's metrics count from them). @default none */
  observe?: (update: AttemptUpdate) => void;
  /** Called after each failed send (for logs and re-registering on 401). */
  onFailure?(result: { status: number | null; message: string }, pending: number): void;
  /** @default 50 */
  coalesceMs?: number;
  /** @default 250 */
  retryInitialMs?: number;
  /** @default 5000 */
  retryMaxMs?: number;
}

/** Coalescing, retrying reporter of attempt updates. */
export class Reporter {
  readonly #deps: ReporterDeps;
  #pending = new Map<string, { update: AttemptUpdate; accepted: (() => void)[] }>();
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Promise<void> | null = null;
  #delay: number | null = null;
  #closed = false;

  constructor(deps: ReporterDeps) {
    this.#deps = deps;
  }

  /** Queues an update; `onAccepted` runs once the server has accepted it (or a later update of the same attempt). */
  report(update: AttemptUpdate, onAccepted?: () => void): void {
    this.#deps.observe?.(update);
    const prev = this.#pending.get(update.id);
    const accepted = [...(prev?.accepted ?? []), ...(onAccepted ? [onAccepted] : [])];
    this.#pending.set(update.id, { update, accepted });
    this.#schedule(this.#deps.coalesceMs ?? 50);
  }

  /** Number of updates not yet accepted. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Sends what is pending now and keeps trying until it is accepted or `timeoutMs` passes; true when nothing is left. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#pending.size > 0 && Date.now() < deadline) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      await (this.#inFlight ?? this.#sendOnce());
      if (this.#pending.size > 0) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
    }
    return this.#pending.size === 0;
  }

  /** Retries now (e.g. after registering), instead of waiting out the back-off. */
  kick(): void {
    this.#delay = null;
    if (this.#pending.size > 0) this.#schedule(0, true);
  }

  /** Stops sending; what is pending is dropped. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(ms: number, replace = false): void {
    if (this.#closed || this.#inFlight) return;
    if (this.#timer && !replace) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#sendOnce();
    }, ms);
  }

  #sendOnce(): Promise<void> {
    const run = async () => {
      const batch = [...this.#pending.values()];
      if (batch.length === 0) return;
      const call = this.#deps.send(batch.map((b) => b.update));
      const result: CallResult<unknown> = call ? await call : { ok: false, status: null, code: null, message: "not registered yet" };
      if (result.ok) {
        this.#delay = null;
        for (const b of batch) {
          // A newer update of the same attempt arrived meanwhile: it stays pending, callbacks move with it.
          const cur = this.#pending.get(b.update.id);
          if (cur && cur.update === b.update) this.#pending.delete(b.update.id);
          for (const fn of b.accepted) fn();
          if (cur && cur.update !== b.update) cur.accepted = cur.accepted.filter((fn) => !b.accepted.includes(fn));
        }
      } else {
        this.#delay = nextBackoff(this.#delay, this.#deps.retryInitialMs ?? 250, this.#deps.retryMaxMs ?? 5000);
        this.#deps.onFailure?.({ status: result.status, message: result.message }, this.#pending.size);
      }
    };
    const p = run().finally(() => {
      this.#inFlight = null;
      if (this.#pending.size > 0) this.#schedule(this.#delay ?? this.#deps.coalesceMs ?? 50);
    });
    this.#inFlight = p;
    return p;
  }
}
