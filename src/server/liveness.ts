// Host liveness. A heartbeat is one store.keepAlive on the host's lease (in memory for SQLite: no
// write), plus a timestamp here. "suspect" is in memory only (every host starts fresh when the server
// starts); "down" is the store's word: the lease expired and took /alive/<id> with it.

import type { Logger } from "pino";
import type { Clock, HostStatus } from "../model/index.ts";
import { LeaseNotFoundError } from "../state/store.ts";
import type { Store } from "../state/store.ts";
import { aliveKey } from "./keys.ts";
import type { AliveValue } from "./keys.ts";
import type { Mirror } from "./mirror.ts";
import type { HostState } from "./reconcile/types.ts";

/** Liveness timing, all in milliseconds. */
export interface Timing {
  /** How often agents heartbeat. @default 1000 */
  heartbeatMs: number;
  /** Suspect after this long without a heartbeat. @default 3000 */
  suspectMs: number;
  /** Down (lease TTL) after this long without a heartbeat. @default 5000 */
  downMs: number;
  /** Helpers stop their task after this long without their agent. @default 3000 */
  fenceMs: number;
  /**
   * The most heartbeats per second the server asks for. Past `maxHeartbeatsPerSecond * heartbeatMs /
   * 1000` hosts, every agent is told to heartbeat less often and the suspect and down timeouts stretch
   * by the same factor (as Nomad's max_heartbeats_per_second does), so a big fleet cannot drown the
   * server in heartbeats. Fencing stays at fenceMs: still shorter than the (longer) down timeout.
   * @default 2000
   */
  maxHeartbeatsPerSecond: number;
}

/** The defaults of `Timing`. */
export const DefaultTiming: Timing = { heartbeatMs: 1000, suspectMs: 3000, downMs: 5000, fenceMs: 3000, maxHeartbeatsPerSecond: 2000 };

/** Timing stretched for a fleet of `hosts` (see Timing.maxHeartbeatsPerSecond). */
export function effectiveTiming(t: Timing, hosts: number): Timing {
  const wanted = (hosts * 1000) / t.heartbeatMs;
  const factor = Math.max(1, wanted / t.maxHeartbeatsPerSecond);
  if (factor === 1) return t;
  return { ...t, heartbeatMs: Math.ceil(t.heartbeatMs * factor), suspectMs: Math.ceil(t.suspectMs * factor), downMs: Math.ceil(t.downMs * factor) };
}

/** Tracks heartbeats and leases, and answers "what is this host's status". */
export class Liveness {
  readonly #store: Store;
  readonly #mirror: Mirror;
  readonly #clock: Clock;
  readonly #timing: Timing;
  readonly #log: Logger;
  readonly #startedAt: number;
  readonly #lastHeartbeat = new Map<string, number>();
  /** Leases this server granted or renewed, by host (the mirror's /alive lease is the fallback). */
  readonly #leases = new Map<string, { lease: string; upgradeUntil: number | null }>();
  readonly #slow = new Map<string, Promise<void>>();

  constructor(opts: { store: Store; mirror: Mirror; clock: Clock; timing: Timing; log: Logger }) {
    this.#store = opts.store;
    this.#mirror = opts.mirror;
    this.#clock = opts.clock;
    this.#timing = opts.timing;
    this.#log = opts.log;
    this.#startedAt = opts.clock.now();
  }

  /** The timing in force now, for the fleet's current size. */
  timing(): Timing {
    return effectiveTiming(this.#timing, this.#mirror.hosts.size);
  }

  /** Records a heartbeat and renews the host's lease; `upgradeMs` opens an upgrade window. */
  async heartbeat(hostId: string, upgradeMs?: number): Promise<void> {
    const now = this.#clock.now();
    const downMs = this.timing().downMs;
    this.#lastHeartbeat.set(hostId, now);
    if (upgradeMs !== undefined && upgradeMs > 0) return this.#serialized(hostId, () => this.#grant(hostId, upgradeMs + downMs, now + upgradeMs));
    const known = this.#leaseOf(hostId);
    // A lease granted when the fleet was smaller (shorter TTL) is replaced once the TTL is 20% off.
    const ttl = this.#mirror.alive.get(hostId)?.value.ttlMs ?? downMs;
    if (known && (known.upgradeUntil === null || known.upgradeUntil <= now) && Math.abs(ttl - downMs) <= downMs / 5) {
      try {
        await this.#store.keepAlive(known.lease);
        if (known.upgradeUntil === null) return;
      } catch (err) {
        if (!(err instanceof LeaseNotFoundError)) throw err;
      }
    }
    // No lease, an expired one (the host was down and is back), the end of an upgrade window, or a TTL
    // from another fleet size.
    await this.#serialized(hostId, () => this.#grant(hostId, downMs, null));
  }

  /** Makes sure the host has a live lease (register); keeps a live one, else grants a new one. */
  async ensureAlive(hostId: string): Promise<void> {
    this.#lastHeartbeat.set(hostId, this.#clock.now());
    const known = this.#leaseOf(hostId);
    if (known && known.upgradeUntil === null) {
      try {
        await this.#store.keepAlive(known.lease);
        if (this.#mirror.alive.has(hostId)) return;
      } catch (err) {
        if (!(err instanceof LeaseNotFoundError)) throw err;
      }
    }
    await this.#serialized(hostId, () => this.#grant(hostId, this.timing().downMs, null));
  }

  /** The host's status now. */
  status(hostId: string, now = this.#clock.now()): HostStatus {
    const alive = this.#mirror.alive.get(hostId)?.value;
    if (!alive) return "down";
    if (alive.upgradeUntil !== null && alive.upgradeUntil > now) return "upgrading";
    return now - this.lastContactAt(hostId) > this.timing().suspectMs ? "suspect" : "up";
  }

  /** The last heartbeat this server saw from the host, or null. */
  lastHeartbeatAt(hostId: string): number | null {
    return this.#lastHeartbeat.get(hostId) ?? null;
  }

  /** The last sign of life: heartbeat, end of an announced upgrade, or this server's start. */
  lastContactAt(hostId: string): number {
    const upgradeUntil = this.#mirror.alive.get(hostId)?.value.upgradeUntil ?? 0;
    return Math.max(this.#lastHeartbeat.get(hostId) ?? this.#startedAt, upgradeUntil);
  }

  /** Every known host as the reconcile decisions see it. */
  hostStates(now = this.#clock.now()): Map<string, HostState> {
    const out = new Map<string, HostState>();
    for (const [id, { value: h }] of this.#mirror.hosts) {
      out.set(id, {
        id,
        status: this.status(id, now),
        draining: h.draining,
        lastContactAt: this.lastContactAt(id),
        capacity: { cpu: h.cores, memoryMiB: h.memoryMiB, diskMiB: h.diskMiB },
      });
    }
    return out;
  }

  #leaseOf(hostId: string): { lease: string; upgradeUntil: number | null } | null {
    const mine = this.#leases.get(hostId);
    if (mine) return mine;
    const alive = this.#mirror.alive.get(hostId);
    return alive?.lease ? { lease: alive.lease, upgradeUntil: alive.value.upgradeUntil } : null;
  }

  /** Runs lease changes of one host one at a time, so concurrent heartbeats grant one lease. */
  async #serialized(hostId: string, fn: () => Promise<void>): Promise<void> {
    const running = this.#slow.get(hostId);
    if (running) return running;
    const p = fn().finally(() => this.#slow.delete(hostId));
    this.#slow.set(hostId, p);
    return p;
  }

  async #grant(hostId: string, ttlMs: number, upgradeUntil: number | null): Promise<void> {
    const lease = await this.#store.grantLease(ttlMs);
    const value: AliveValue = { ttlMs, upgradeUntil };
    const rev = await this.#store.put(aliveKey(hostId), JSON.stringify(value), { lease });
    this.#leases.set(hostId, { lease, upgradeUntil });
    this.#log.info({ hostId, ttlMs, upgradeUntil }, "host lease granted");
    await this.#mirror.waitFor(rev);
  }
}
