// Lease deadlines, held in memory only: a restart or a stall of this process gives every lease a
// fresh TTL, so the store never declares a host dead for its own pause.
import type { Clock } from "../model/index.ts";

/** Deadlines of live leases, and the timer that finds the due ones. */
export class LeaseTimers {
  readonly #clock: Clock;
  readonly #checkMs: number;
  /** How late a check may run before we call it a stall of this process. */
  readonly #stallMs: number;
  readonly #onDue: () => void;
  readonly #leases = new Map<string, { ttlMs: number; deadline: number }>();
  #timer: { cancel(): void } | null = null;
  #lastCheck = 0;

  constructor(clock: Clock, checkMs: number, onDue: () => void) {
    this.#clock = clock;
    this.#checkMs = checkMs;
    this.#stallMs = Math.max(1000, 5 * checkMs);
    this.#onDue = onDue;
  }

  /** Starts the periodic check. */
  start(): void {
    this.#lastCheck = this.#clock.now();
    this.#arm();
  }
  stop(): void {
    this.#timer?.cancel();
    this.#timer = null;
  }

  /** Tracks a lease with a fresh deadline (after a grant, or on open). */
  add(id: string, ttlMs: number): void {
    this.#leases.set(id, { ttlMs, deadline: this.#clock.now() + ttlMs });
  }
  forget(id: string): void {
    this.#leases.delete(id);
  }

  /** Restarts a lease's TTL; false if it is unknown or already past its deadline (about to expire). */
  keepAlive(id: string): boolean {
    const now = this.#clock.now();
    this.#detectStall(now);
    const l = this.#leases.get(id);
    if (!l || l.deadline <= now) return false;
    l.deadline = now + l.ttlMs;
    return true;
  }

  /** Leases whose deadline has passed. */
  due(): string[] {
    const now = this.#clock.now();
    const out: string[] = [];
    for (const [id, l] of this.#leases) if (l.deadline <= now) out.push(id);
    return out;
  }

  #arm(): void {
    this.#timer = this.#clock.setTimeout(() => this.#check(), this.#checkMs);
  }

  #check(): void {
    const now = this.#clock.now();
    const stalled = this.#detectStall(now);
    this.#lastCheck = now;
    this.#arm();
    if (stalled) return;
    for (const l of this.#leases.values()) {
      if (l.deadline <= now) {
        this.#onDue();
        return;
      }
    }
  }

  /** If this process was paused (the check ran far later than planned), every lease starts over. */
  #detectStall(now: number): boolean {
    if (now - this.#lastCheck <= this.#checkMs + this.#stallMs) return false;
    for (const l of this.#leases.values()) l.deadline = now + l.ttlMs;
    this.#lastCheck = now;
    return true;
  }
}
