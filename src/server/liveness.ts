// Host liveness. A heartbeat is one store.keepAlive on the host's lease (in memory for SQLite: no
// write), plus a timestamp here. "suspect" is in memory only (every host starts fresh when the server
// starts, or becomes the leader); "down" is the store's word: the lease expired and took /alive/<id>
// with it. With several servers, agents heartbeat to any of them: followers pass the hosts they heard
// from to the leader (`takeRelayed` / `noteContacts`, see peers.ts), and only the leader says
// "suspect" (a follower sees a fraction of the heartbeats, so it judges by the lease alone).

import type { Logger } from "pino";
import type { Clock, HostStatus } from "../model/index.ts";
import { MaxMaintenanceOverrunMs, windowClosesAt, windowCovers, windowEnd } from "../model/index.ts";
import { LeaseNotFoundError } from "../state/store.ts";
import type { Store } from "../state/store.ts";
import { aliveKey, Kinds } from "./kinds.ts";
import type { AliveValue } from "./kinds.ts";
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

/** How long hostStates() may hand out the same answer (statuses are seconds apart anyway). */
export const HostStatesReuseMs = 50;

/** The defaults of `Timing`. */
export const DefaultTiming: Timing = { heartbeatMs: 1000, suspectMs: 3000, downMs: 5000, fenceMs: 3000, maxHeartbeatsPerSecond: 2000 };

/** Timing stretched for a fleet of `hosts` (see Timing.maxHeartbeatsPerSecond). */
export function effectiveTiming(t: Timing, hosts: number): Timing {
  const wanted = (hosts * 1000) / t.heartbeatMs;
  const factor = Math.max(1, wanted / t.maxHeartbeatsPerSecond);
  if (factor === 1) return t;
  return { ...t, heartbeatMs: Math.ceil(t.heartbeatMs * factor), suspectMs: Math.ceil(t.suspectMs * factor), downMs: Math.ceil(t.downMs * factor) };
}

/**
 * When a host's status changes by the clock alone, if no heartbeat or store write comes first: the end
 * of its upgrade window, or (the leader judging) the moment it turns suspect. Infinity when only a
 * heartbeat or a store write can change it (down, suspect, or not judged by this server). Pure; what
 * lets the endpoint controller's status ticks look at no host until one of them is due.
 */
export function statusChangeAt(s: { alive: boolean; upgradeUntil: number | null; leading: boolean; lastContactAt: number; suspectMs: number }, now: number): number {
  if (!s.alive) return Number.POSITIVE_INFINITY;
  if (s.upgradeUntil !== null && s.upgradeUntil > now) return s.upgradeUntil;
  if (!s.leading) return Number.POSITIVE_INFINITY;
  const suspectAt = s.lastContactAt + s.suspectMs;
  return now - s.lastContactAt > s.suspectMs ? Number.POSITIVE_INFINITY : suspectAt;
}

/** Tracks heartbeats and leases, and answers "what is this host's status". */
export class Liveness {
  readonly #store: Store;
  readonly #mirror: Mirror;
  readonly #clock: Clock;
  readonly #timing: Timing;
  readonly #log: Logger;
  #startedAt: number;
  readonly #lastHeartbeat = new Map<string, number>();
  /** Leases this server granted or renewed, by host (the mirror's /alive lease is the fallback). */
  readonly #leases = new Map<string, { lease: string; upgradeUntil: number | null }>();
  readonly #slow = new Map<string, Promise<void>>();
  /** Whether this server leads (judges suspicion). A lone server always does. */
  #leading = true;
  /** Hosts heard from since the last relay to the leader, with when (followers only). */
  #relay = new Map<string, number>();
  #statesCache: { at: number; stamp: number; leading: boolean; startedAt: number; states: Map<string, HostState> } | null = null;
  /** effectiveTiming for the fleet size it was computed for (asked on every heartbeat and status). */
  #timingFor: { hosts: number; timing: Timing } | null = null;
  /** Contacts that ended a host's suspicion (see revivals()). */
  #revivals = 0;

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
    const hosts = this.#mirror.hosts.size;
    if (this.#timingFor?.hosts !== hosts) this.#timingFor = { hosts, timing: effectiveTiming(this.#timing, hosts) };
    return this.#timingFor.timing;
  }

  /**
   * How many contacts (heartbeats, relayed ones, registrations) came from a host that had gone past
   * the suspect timeout without one, plus leadership gains: the status changes that neither the clock
   * (statusChangesAt) nor a store write shows. Only grows.
   */
  revivals(): number {
    return this.#revivals;
  }

  /** When the host's status changes by the clock alone (statusChangeAt over this server's view). */
  statusChangesAt(hostId: string, now = this.#clock.now()): number {
    const alive = this.#mirror.alive.get(hostId)?.value;
    return statusChangeAt({ alive: alive !== undefined, upgradeUntil: alive?.upgradeUntil ?? null, leading: this.#leading, lastContactAt: this.lastContactAt(hostId), suspectMs: this.timing().suspectMs }, now);
  }

  /** Records a contact from the host at `at` (counting a revival when it was past the suspect timeout;
   * by its last heartbeat alone, one lookup on every heartbeat: an upgrade window that made it look
   * alive meanwhile only counts a revival too many, which costs one look at every host). */
  #contact(hostId: string, at: number, now: number): void {
    if (now - (this.#lastHeartbeat.get(hostId) ?? this.#startedAt) > this.timing().suspectMs) this.#revivals++;
    this.#lastHeartbeat.set(hostId, at);
  }

  /** Records a heartbeat and renews the host's lease; `upgradeMs` opens an upgrade window. */
  async heartbeat(hostId: string, upgradeMs?: number): Promise<void> {
    const now = this.#clock.now();
    const downMs = this.timing().downMs;
    this.#contact(hostId, now, now);
    if (!this.#leading) this.#relay.set(hostId, now);
    if (upgradeMs !== undefined && upgradeMs > 0) return this.#serialized(hostId, () => this.#grant(hostId, upgradeMs + downMs, now + upgradeMs));
    const known = this.#leaseOf(hostId);
    // A lease granted when the fleet was smaller (shorter TTL) is replaced once the TTL is 20% off.
    const ttl = this.#mirror.alive.get(hostId)?.value.ttlMs ?? downMs;
    const ttlOff = Math.abs(ttl - downMs) > downMs / 5;
    if (known && (known.upgradeUntil === null || known.upgradeUntil <= now)) {
      try {
        await this.#store.keepAlive(known.lease);
        if (known.upgradeUntil === null && !ttlOff) return;
        if (known.upgradeUntil === null) {
          // The old lease is renewed, so the host is alive meanwhile: the new one is written in the
          // background instead of holding up the heartbeat behind the store's queue (a fleet that
          // grows by thousands re-grants thousands of leases while placements are being written).
          this.#serialized(hostId, () => this.#grant(hostId, downMs, null)).catch((err: unknown) => this.#log.warn({ err, hostId }, "lease re-grant failed; the next heartbeat retries"));
          return;
        }
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
    const now = this.#clock.now();
    this.#contact(hostId, now, now);
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
    if (!this.#leading) return "up";
    return now - this.lastContactAt(hostId) > this.timing().suspectMs ? "suspect" : "up";
  }

  /**
   * Leadership changed. A new leader gives every host a fresh grace period: it has not seen the
   * heartbeats that went to other servers, and agents of a failed server need time to move to
   * another; so every host counts as heard from now, and every /alive lease is renewed once.
   */
  async setLeading(leading: boolean): Promise<void> {
    this.#leading = leading;
    this.#relay.clear();
    this.#revivals++;
    if (!leading) return;
    this.#startedAt = this.#clock.now();
    const leases = [...new Set([...this.#mirror.alive.values()].map((e) => e.lease).filter((l): l is string => l !== null))];
    let renewed = 0;
    // A few hundred at a time: thousands of hosts must not queue thousands of calls at once.
    for (let i = 0; i < leases.length; i += 500) {
      const results = await Promise.allSettled(leases.slice(i, i + 500).map((l) => this.#store.keepAlive(l)));
      renewed += results.filter((r) => r.status === "fulfilled").length;
    }
    this.#log.info({ hosts: this.#mirror.alive.size, renewed }, "leading: every host gets a fresh grace period");
  }

  /** Hosts heard from since the last call, with how long ago (ms), for the leader. Empties the list. */
  takeRelayed(now = this.#clock.now()): [hostId: string, ageMs: number][] {
    const out: [string, number][] = [];
    for (const [id, at] of this.#relay) out.push([id, Math.max(0, now - at)]);
    this.#relay.clear();
    return out;
  }

  /** Heartbeats another server received (ages in ms, as sent by `takeRelayed`). */
  noteContacts(contacts: [hostId: string, ageMs: number][], now = this.#clock.now()): void {
    for (const [id, age] of contacts) {
      const at = now - Math.max(0, age);
      if ((this.#lastHeartbeat.get(id) ?? 0) < at) this.#contact(id, at, now);
    }
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

  /** Every known host as the reconcile decisions see it. Reused for up to HostStatesReuseMs while no
   * host or /alive record changed: reconcile passes ask several times a second, and at 10,000 hosts
   * each answer is 10,000 objects. */
  hostStates(now = this.#clock.now()): Map<string, HostState> {
    const c = this.#statesCache;
    if (c && c.stamp === this.#mirror.hostsStamp && c.startedAt === this.#startedAt && c.leading === this.#leading && now >= c.at && now - c.at < HostStatesReuseMs) return c.states;
    const states = this.#hostStates(now);
    this.#statesCache = { at: now, stamp: this.#mirror.hostsStamp, leading: this.#leading, startedAt: this.#startedAt, states };
    return states;
  }

  #hostStates(now: number): Map<string, HostState> {
    const out = new Map<string, HostState>();
    const all = [...this.#mirror.maintenance.values()].map((e) => e.value).filter((w) => w.cancelledAt === null);
    const windows = all.filter((w) => now < windowEnd(w));
    const ended = all.filter((w) => now >= windowEnd(w) && now < windowEnd(w) + MaxMaintenanceOverrunMs);
    for (const [id, { value: h }] of this.#mirror.hosts) {
      const mine = windows.filter((w) => windowCovers(w, h));
      const status = this.status(id, now);
      const overrun = status === "up" ? [] : ended.filter((w) => windowCovers(w, h));
      out.set(id, {
        id,
        status,
        draining: h.draining,
        ...(h.drain ? { drain: h.drain } : {}),
        ...(mine.length > 0 ? { windows: mine, closed: mine.some((w) => now >= windowClosesAt(w)) } : {}),
        ...(overrun.length > 0 ? { overrun } : {}),
        lastContactAt: this.lastContactAt(id),
        capacity: { cpu: h.cores, memoryMiB: h.memoryMiB, diskMiB: h.diskMiB },
      });
    }
    return out;
  }

  #leaseOf(hostId: string): { lease: string; upgradeUntil: number | null } | null {
    // The store's /alive lease first: another server may have granted a newer one than ours.
    const alive = this.#mirror.alive.get(hostId);
    if (alive?.lease) return { lease: alive.lease, upgradeUntil: alive.value.upgradeUntil };
    return this.#leases.get(hostId) ?? null;
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
    const rev = await this.#store.put(aliveKey(hostId), Kinds.alive.encode(value), { lease });
    this.#leases.set(hostId, { lease, upgradeUntil });
    this.#log.info({ hostId, ttlMs, upgradeUntil }, "host lease granted");
    await this.#mirror.waitFor(rev);
  }
}
