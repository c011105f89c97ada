// The peer token agents require of each other (GET /v1/pieces), rotated with an overlap. The store
// keeps the current token and the previous one (`/secrets/peer`); agents serve callers bearing either
// and fetch with the one the tracker names first. Right after a rotation that is still the previous
// token: agents learn of a new token only at their next call to the tracker (at most one announce
// interval away), so for `settleMs` the new token is accepted everywhere before anyone fetches with it.
// Two rotations make the oldest token worthless (an admin who fears a token leaked rotates twice).

import type { Clock } from "../../model/index.ts";
import type { Store } from "../../state/store.ts";
import { Kinds, secretKey } from "../kinds.ts";
import { newToken } from "../tokens.ts";

/** The value of `/secrets/peer` (older servers stored the bare token as a JSON string). */
export interface PeerTokenRecord {
  current: string;
  previous: string | null;
  /** Epoch ms of the last rotation (0: unknown, a record from before rotation existed). */
  rotatedAt: number;
}

/** The store key of the peer tokens. */
export const PeerTokenKey = secretKey("peer");

/** Parses a stored record (or a bare token string); null when it is neither. */
export function parsePeerTokens(value: string): PeerTokenRecord | null {
  const d = Kinds.peerTokens.decode(PeerTokenKey, value);
  if (!d.ok) return null;
  const v = d.value;
  if (typeof v === "string") return { current: v, previous: null, rotatedAt: 0 };
  return { current: v.current, previous: v.previous === "" ? null : v.previous, rotatedAt: v.rotatedAt };
}

/** The tokens an answer carries, the one to fetch with first: the previous token while the current
 * one is younger than `settleMs` (not every agent accepts it yet), the current one after. */
export function tokensToHand(r: PeerTokenRecord, now: number, settleMs: number): string[] {
  if (r.previous === null) return [r.current];
  return now - r.rotatedAt < settleMs ? [r.previous, r.current] : [r.current, r.previous];
}

/** What PeerTokens needs. */
export interface PeerTokensOptions {
  store: Store;
  clock: Clock;
  /** How long a read stays fresh: the tracker answers every agent call with the tokens. @default 1000 */
  cacheMs?: number;
}

/** Reads (cached), creates and rotates the peer tokens in the store. */
export class PeerTokens {
  readonly #o: PeerTokensOptions;
  #cached: { at: number; value: Promise<PeerTokenRecord> } | null = null;

  constructor(o: PeerTokensOptions) {
    this.#o = o;
  }

  /** The record, read at most once per `cacheMs` (created with a create-if-absent txn when missing). */
  get(): Promise<PeerTokenRecord> {
    const now = this.#o.clock.now();
    if (this.#cached && now - this.#cached.at < (this.#o.cacheMs ?? 1000)) return this.#cached.value;
    const value = this.#read().then((r) => r.record);
    value.catch(() => (this.#cached = null));
    this.#cached = { at: now, value };
    return value;
  }

  /**
   * Rotates: a new current token, the current one becomes the previous one, the previous one is
   * dropped. With `olderThanMs`, only if the last rotation is at least that old (the leader's timer);
   * returns whether it rotated. A compare on the key's modRevision makes concurrent rotations (two
   * servers, an admin and the timer) each rotate once at most.
   */
  async rotate(o: { olderThanMs?: number } = {}): Promise<{ rotated: boolean; record: PeerTokenRecord }> {
    for (let i = 0; i < 5; i++) {
      const { record, modRevision } = await this.#read();
      const now = this.#o.clock.now();
      if (o.olderThanMs !== undefined && now - record.rotatedAt < o.olderThanMs) return { rotated: false, record };
      const next: PeerTokenRecord = { current: newToken(), previous: record.current, rotatedAt: now };
      const r = await this.#o.store.txn({ compare: [{ key: PeerTokenKey, target: "modRevision", op: "==", value: modRevision }], success: [{ type: "put", key: PeerTokenKey, value: Kinds.peerTokens.encode(next) }] });
      if (r.succeeded) {
        this.#cached = { at: now, value: Promise.resolve(next) };
        return { rotated: true, record: next };
      }
      // Someone else rotated in between: read again (the timer then finds it fresh; a forced
      // rotation rotates after theirs).
    }
    throw new Error(`${PeerTokenKey} kept changing during 5 attempts to rotate it`);
  }

  async #read(): Promise<{ record: PeerTokenRecord; modRevision: number }> {
    for (let i = 0; i < 5; i++) {
      const kv = await this.#o.store.get(PeerTokenKey);
      if (kv) {
        const record = parsePeerTokens(kv.value);
        if (!record) throw new Error(`${PeerTokenKey} in the store is not a peer token record`);
        return { record, modRevision: kv.modRevision };
      }
      const record: PeerTokenRecord = { current: newToken(), previous: null, rotatedAt: this.#o.clock.now() };
      const r = await this.#o.store.txn({ compare: [{ key: PeerTokenKey, target: "createRevision", op: "==", value: 0 }], success: [{ type: "put", key: PeerTokenKey, value: Kinds.peerTokens.encode(record) }] });
      if (r.succeeded) return { record, modRevision: r.revision };
    }
    throw new Error(`${PeerTokenKey} could not be read or created`);
  }
}
