// Leader election over the Store interface, for the loops that must run once (reconcilers, acting on
// hosts that went down). Works on any store: on SQLite the one server wins at once.
//
//   follower ──/leader absent: txn "create /leader if absent" with our lease──> leader
//      ^                                                                          │
//      └── key deleted or taken, lease gone, or no renewal for ttl - margin ──────┘
//
// - The key `/leader` holds `{id, incarnation, url, since}` and is attached to the leader's lease, so
//   a leader that dies (kill -9, partition) loses it after the lease TTL, when the store deletes it.
// - The leader renews its lease every ttl/3. It trusts its leadership only until the send time of its
//   last successful renewal + ttl - margin: the store cannot expire the lease before that, so a leader
//   cut off from the store stops acting before anybody else can be elected. Once that time has run
//   out the term is over (a step-down, onChange(false)), even if a renewal sent before then answers
//   later: isLeader() never turns true again without onChange(true), the loops' cue to catch up on
//   the changes they skipped while it was false.
// - Fencing: every write of the leader's loops carries a compare on `/leader`'s modRevision (the
//   revision of the leader's own put; the key is never rewritten during a term). A deposed leader whose
//   write was delayed (a stalled process, a request stuck in a partitioned member) fails that compare.
//   modRevision rather than createRevision: a server restarted on the same data dir takes its own
//   stale key over with a put (no wait for the old lease), which keeps createRevision but not modRevision.

import type { Logger } from "pino";
import type { Clock } from "../model/index.ts";
import { LeaseNotFoundError } from "../state/store.ts";
import type { Compare, Store, TxnResult, Watch, WatchEvent } from "../state/store.ts";
import { Kinds, LeaderKey } from "./kinds.ts";

/** The key the leader holds (declared with its kind). */
export { LeaderKey };

/** The value of `/leader`. */
export interface LeaderValue {
  /** The server's id (DIR/server.id: stable across restarts of one server). */
  id: string;
  /** Random per process: tells a restarted server's stale key from its own live one. */
  incarnation: string;
  /** Where other servers and clients reach the leader. */
  url: string;
  /** When it was elected (epoch ms, its own clock). */
  since: number;
}

/** Options of `LeaderElection`. */
export interface LeaderOptions {
  store: Store;
  id: string;
  incarnation: string;
  /** Where other servers reach this one (read at each campaign: known once the server listens). */
  url: () => string;
  clock: Clock;
  log: Logger;
  /** Lease TTL of the leader key: how long a dead leader blocks a new election. @default 3000 */
  ttlMs?: number;
}

/** One leadership term of this server, as it lived it (epoch ms, its own clock). */
export interface LeaderTerm {
  /** When it began acting as leader: its campaign's write had returned. */
  start: number;
  /** When it stopped acting as leader (null while leading): the moment it stepped down, or, if its
   * lease's trusted time ran out before it noticed, the end of that time, whichever came first. */
  end: number | null;
}

/** Terms kept by `terms()`. */
const KeptTerms = 16;

/** Outcome counts of fenced transactions (metrics). */
export type FencedResult = "written" | "failed" | "skipped";

/** Elects one leader among the servers sharing a store. */
export class LeaderElection {
  readonly #o: LeaderOptions;
  readonly #ttlMs: number;
  readonly #listeners = new Set<(leading: boolean) => void>();
  /** Our term: the lease and the modRevision of our put, while we lead. */
  #term: { lease: string; rev: number; validUntil: number } | null = null;
  /** `/leader` as last seen (null: absent), with its modRevision. */
  #current: { value: LeaderValue | null; rev: number } = { value: null, rev: 0 };
  #watch: Watch | null = null;
  #timer: { cancel(): void } | null = null;
  #campaigning = false;
  #firstCampaign = true;
  #closed = false;
  /** The highest store revision seen (what a skipped fenced txn reports). */
  #seenRevision = 0;
  /** This server's last terms, oldest first (the one in progress last, with end null). */
  #terms: LeaderTerm[] = [];

  constructor(opts: LeaderOptions) {
    this.#o = opts;
    this.#ttlMs = opts.ttlMs ?? 3000;
  }

  /** Reads the key, watches it, and makes a first campaign; resolves once that campaign is done. */
  async start(): Promise<void> {
    await this.#follow();
    await this.#campaign();
    this.#schedule();
  }

  /** True while this server leads and its lease surely has not expired. */
  isLeader(): boolean {
    const t = this.#term;
    if (!t || this.#o.clock.now() >= t.validUntil) return false;
    // The watch may already show that someone else holds the key (our lease expired).
    return this.#current.rev === 0 || this.#current.rev === t.rev;
  }

  /** The leader as last seen (possibly this server), or null. */
  leader(): LeaderValue | null {
    return this.#current.value;
  }

  /** The compare that fences a write to this leadership term, or null when not leading. */
  fence(): Compare | null {
    if (!this.isLeader() || !this.#term) return null;
    return { key: LeaderKey, target: "modRevision", op: "==", value: this.#term.rev };
  }

  /** This server's last 16 leadership terms, oldest first: when each began and ended, as recorded at
   * the transitions (so an order between servers can be checked, not sampled). */
  terms(): LeaderTerm[] {
    return this.#terms.map((t) => ({ ...t }));
  }

  /** Calls `fn` whenever leadership is gained (true) or lost (false). */
  onChange(fn: (leading: boolean) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Stops campaigning; a leader resigns (revokes its lease, so another server takes over at once). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    this.#watch?.cancel();
    const t = this.#term;
    this.#term = null;
    if (t) {
      this.#ended(t);
      this.#emit(false);
      await this.#o.store.revokeLease(t.lease).catch(() => undefined);
    }
  }

  /** Reads `/leader` and watches it from the revision after. */
  async #follow(): Promise<void> {
    this.#watch?.cancel();
    // An empty store (revision 0) has nothing to range over (as in mirror.ts).
    const { kvs, revision } = (await this.#o.store.revision()) === 0 ? { kvs: [], revision: 0 } : await this.#o.store.range(LeaderKey);
    this.#saw(revision);
    const kv = kvs.find((k) => k.key === LeaderKey);
    this.#set(kv ? parseValue(kv.value) : null, kv?.modRevision ?? 0);
    this.#watch = this.#o.store.watch(LeaderKey, revision + 1, (evs) => this.#onEvents(evs), (err) => {
      if (this.#closed) return;
      this.#o.log.warn({ err }, "leader watch failed; following again");
      this.#watch = null;
    });
  }

  #onEvents(evs: WatchEvent[]): void {
    for (const ev of evs) {
      this.#saw(ev.revision);
      if (ev.kv.key !== LeaderKey) continue;
      this.#set(ev.type === "put" ? parseValue(ev.kv.value) : null, ev.type === "put" ? ev.kv.modRevision : 0);
    }
    // A vacancy is filled at once rather than at the next tick.
    if (this.#current.value === null && !this.#term) void this.#campaign();
  }

  #set(value: LeaderValue | null, rev: number): void {
    this.#current = { value, rev };
    const t = this.#term;
    if (t && rev !== t.rev && rev !== 0 && !this.#campaigning) this.#lose("another server holds the leader key");
    else if (t && rev === 0 && !this.#campaigning) this.#lose("the leader key was deleted (lease expired)");
  }

  /** One tick: renew while leading, step down when renewals stopped working, campaign when vacant. */
  #schedule(): void {
    if (this.#closed) return;
    this.#timer = this.#o.clock.setTimeout(() => {
      void this.#tick().finally(() => this.#schedule());
    }, Math.max(100, Math.floor(this.#ttlMs / 3)));
  }

  async #tick(): Promise<void> {
    if (this.#closed) return;
    if (!this.#watch) await this.#follow().catch((err: unknown) => this.#o.log.warn({ err }, "reading the leader key failed"));
    const t = this.#term;
    if (t) {
      if (this.#o.clock.now() >= t.validUntil) return this.#lose("no lease renewal got through in time");
      this.#renew(t);
      return;
    }
    await this.#campaign();
  }

  /** Renews without waiting: a renewal stuck in a partition must not hold up the deadline check. */
  #renew(t: { lease: string; rev: number; validUntil: number }): void {
    const sent = this.#o.clock.now();
    this.#o.store.keepAlive(t.lease).then(
      () => {
        if (this.#term !== t) return;
        // Past its trusted time the term is over, whatever answers later: isLeader() has been false,
        // and the loops dropped what they were asked meanwhile. Moving the deadline on here brought
        // leadership back with no onChange(true) to make them catch up (an endpoint stayed missing
        // after an etcd leader change); stepping down makes the return a new, announced term.
        if (this.#o.clock.now() >= t.validUntil) this.#lose("a lease renewal got through only after the term's trusted time");
        else t.validUntil = Math.max(t.validUntil, this.#deadlineFrom(sent));
      },
      (err: unknown) => {
        if (this.#term !== t) return;
        if (err instanceof LeaseNotFoundError) this.#lose("the leader lease expired");
        else this.#o.log.warn({ err }, "leader lease renewal failed");
      },
    );
  }

  /** How long a renewal sent at `sent` keeps us leading: the TTL less a margin for clock rates and
   * the store's own timer granularity. */
  #deadlineFrom(sent: number): number {
    return sent + this.#ttlMs - Math.max(250, Math.floor(this.#ttlMs / 6));
  }

  async #campaign(): Promise<void> {
    if (this.#closed || this.#term || this.#campaigning) return;
    const cur = this.#current;
    // Our own key: from our previous process (a restart: take it over now, no need to wait for its
    // lease) or from this process after a step-down that did not reach the store (take it back).
    const own = cur.value !== null && cur.value.id === this.#o.id && (cur.value.incarnation === this.#o.incarnation || this.#firstCampaign);
    this.#firstCampaign = false;
    if (cur.value !== null && !own) return;
    this.#campaigning = true;
    let lease: string | null = null;
    try {
      const sent = this.#o.clock.now();
      lease = await this.#o.store.grantLease(this.#ttlMs);
      const value: LeaderValue = { id: this.#o.id, incarnation: this.#o.incarnation, url: this.#o.url(), since: this.#o.clock.now() };
      const compare: Compare = own ? { key: LeaderKey, target: "modRevision", op: "==", value: cur.rev } : { key: LeaderKey, target: "createRevision", op: "==", value: 0 };
      const r: TxnResult = await this.#o.store.txn({ compare: [compare], success: [{ type: "put", key: LeaderKey, value: Kinds.leader.encode(value), lease }] });
      this.#saw(r.revision);
      if (!r.succeeded || this.#closed) {
        void this.#o.store.revokeLease(lease).catch(() => undefined);
        return;
      }
      this.#term = { lease, rev: r.revision, validUntil: this.#deadlineFrom(sent) };
      this.#terms.push({ start: this.#o.clock.now(), end: null });
      if (this.#terms.length > KeptTerms) this.#terms.shift();
      if (this.#current.rev < r.revision) this.#current = { value, rev: r.revision };
      this.#o.log.info({ id: this.#o.id, url: value.url, revision: r.revision }, "elected leader");
      this.#emit(true);
    } catch (err) {
      this.#o.log.warn({ err }, "leader campaign failed");
      if (lease !== null && !this.#term) void this.#o.store.revokeLease(lease).catch(() => undefined);
    } finally {
      this.#campaigning = false;
    }
  }

  #lose(why: string): void {
    const t = this.#term;
    if (!t) return;
    this.#term = null;
    this.#ended(t);
    this.#o.log.warn({ id: this.#o.id, why }, "no longer the leader");
    // Best effort: if the store is reachable, another server need not wait for the lease to expire.
    void this.#o.store.revokeLease(t.lease).catch(() => undefined);
    this.#emit(false);
  }

  /** Closes the term in progress: isLeader() was false from its trusted time on, even if this
   * server only noticed at a later tick. */
  #ended(t: { validUntil: number }): void {
    const last = this.#terms.at(-1);
    if (last && last.end === null) last.end = Math.min(this.#o.clock.now(), t.validUntil);
  }

  #emit(leading: boolean): void {
    for (const fn of this.#listeners) {
      try {
        fn(leading);
      } catch (err) {
        this.#o.log.error({ err }, "leadership listener failed");
      }
    }
  }

  #saw(revision: number): void {
    if (revision > this.#seenRevision) this.#seenRevision = revision;
  }

  /** The highest store revision this election has seen. */
  get seenRevision(): number {
    return this.#seenRevision;
  }
}

/**
 * The store as the leader's loops see it: every txn carries the fence of the current term, and none is
 * sent while not leading (it "fails" without writing, like a txn whose compares did not hold).
 * Everything else goes to `store` unchanged.
 */
export function fencedStore(store: Store, election: LeaderElection, count: (r: FencedResult) => void = () => undefined): Store {
  return {
    revision: () => store.revision(),
    get: (key) => store.get(key),
    range: (prefix, opts) => store.range(prefix, opts),
    put: (key, value, opts) => store.put(key, value, opts),
    delete: (key) => store.delete(key),
    watch: (prefix, from, onEvents, onError) => store.watch(prefix, from, onEvents, onError),
    grantLease: (ttlMs) => store.grantLease(ttlMs),
    keepAlive: (lease) => store.keepAlive(lease),
    revokeLease: (lease) => store.revokeLease(lease),
    close: () => store.close(),
    async txn(req) {
      const fence = election.fence();
      if (!fence) {
        count("skipped");
        return { succeeded: false, revision: election.seenRevision };
      }
      const r = await store.txn({ ...req, compare: [...req.compare, fence] });
      count(r.succeeded ? "written" : "failed");
      return r;
    },
  };
}

/** The leader a stored value names; one that does not decode is held by an unknown server. */
function parseValue(text: string): LeaderValue | null {
  const d = Kinds.leader.decode(LeaderKey, text);
  if (d.ok) return { id: d.value.id, incarnation: d.value.incarnation ?? "", url: d.value.url, since: d.value.since ?? 0 };
  return { id: "?", incarnation: "", url: "", since: 0 };
}
