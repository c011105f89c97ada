// The machine checks of each host in the store (`/checks/<hostId>`): what a heartbeat brings is merged
// into the host's record (a status change is appended to that check's history, the last
// MaxCheckHistory kept) with a compare on the key, so heartbeats landing on two servers do not lose
// each other's changes. Only changes come (the agent sends a check when its status changes), so this
// is a write per change, not per heartbeat.
import type { Logger } from "pino";
import { MaxCheckHistory, MaxChecksPerHost } from "../../model/index.ts";
import type { HostChecks, MachineCheckResult } from "../../model/index.ts";
import type { HostView } from "../../api/types.ts";
import type { Store } from "../../state/store.ts";
import { decodeOne, Kinds } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";

/** `prev` with `results` merged in (pure). Times are the server's (`now`): one clock for every host, so
 * a host whose clock is wrong (the clock check) still has a true history. `complete`: the results are
 * every check the agent runs, and checks it no longer runs (a script removed while it was down, an
 * agent started with another --checks-dir) are forgotten rather than left failing. */
export function mergeChecks(prev: HostChecks | null, hostId: string, results: readonly MachineCheckResult[], now: number, complete = false): HostChecks {
  const names = new Set(results.map((r) => r.name));
  const checks = Object.fromEntries(Object.entries(prev?.checks ?? {}).filter(([name]) => !complete || names.has(name)));
  for (const r of results) {
    const old = checks[r.name];
    if (old === undefined && Object.keys(checks).length >= MaxChecksPerHost) continue;
    const entry = { name: r.name, status: r.status, message: r.message, at: now };
    const changed = old === undefined || old.status !== r.status;
    checks[r.name] = {
      ...entry,
      since: changed ? now : old.since,
      history: changed ? [...(old?.history ?? []), entry].slice(-MaxCheckHistory) : old.history,
    };
  }
  return { hostId, checks };
}

/** Merges `results` into the host's record; retries a lost compare a few times. */
export async function recordChecks(store: Store, hostId: string, results: readonly MachineCheckResult[], now: number, log: Logger, complete = false): Promise<void> {
  const key = Kinds.hostChecks.key(hostId);
  for (let i = 0; i < 5; i++) {
    const kv = await store.get(key);
    const prev = decodeOne(Kinds.hostChecks, kv, log);
    const next = mergeChecks(prev, hostId, results, now, complete);
    const r = await store.txn({
      compare: [kv === null ? { key, target: "createRevision", op: "==", value: 0 } : { key, target: "modRevision", op: "==", value: kv.modRevision }],
      success: [{ type: "put", key, value: Kinds.hostChecks.encode(next) }],
    });
    if (r.succeeded) return;
  }
  log.warn({ hostId }, "machine checks not recorded: the record kept changing");
}

/** Every host's checks (a range read: the mirror does not hold them); ChecksCache reads only what changed. */
export async function readAllChecks(store: Store, log: Logger): Promise<HostChecks[]> {
  const { kvs } = await store.range(Kinds.hostChecks.prefix);
  const out: HostChecks[] = [];
  for (const kv of kvs) {
    const v = decodeOne(Kinds.hostChecks, kv, log);
    if (v !== null) out.push(v);
  }
  return out;
}

/** The failing checks of each host (hosts with none are absent). */
export function failingChecksByHost(all: readonly HostChecks[]): Map<string, MachineCheckResult[]> {
  const out = new Map<string, MachineCheckResult[]>();
  for (const hc of all) {
    const failing = Object.values(hc.checks).filter((c) => c.status === "fail").map((c) => ({ name: c.name, status: c.status, message: c.message, at: c.since }));
    if (failing.length > 0) out.set(hc.hostId, failing);
  }
  return out;
}

/** A host view with its failing checks, when it has any. */
export function withChecks(view: HostView, failing: MachineCheckResult[] | undefined): HostView {
  return failing === undefined ? view : { ...view, failingChecks: failing };
}

/**
 * Every host's checks, read from the store only where they changed: the mirror knows each
 * `/checks/<host>` key's modRevision (it keeps the revisions of keys it does not decode), so a pass
 * over 10,000 hosts whose checks did not change reads nothing. One per server: the controller and
 * `GET /v1/hosts` share it.
 */
export class ChecksCache {
  readonly #store: Pick<Store, "get">;
  readonly #mirror: Mirror;
  readonly #log: Logger;
  readonly #cache = new Map<string, { rev: number; value: HostChecks | null }>();

  constructor(store: Pick<Store, "get">, mirror: Mirror, log: Logger) {
    this.#store = store;
    this.#mirror = mirror;
    this.#log = log;
  }

  /** The checks of every host the mirror holds. */
  async all(): Promise<HostChecks[]> {
    const out: HostChecks[] = [];
    const stale: string[] = [];
    const seen = new Set<string>();
    for (const id of this.#mirror.hosts.keys()) {
      seen.add(id);
      const rev = this.#mirror.modRevision(Kinds.hostChecks.key(id));
      if (rev === 0) continue;
      const c = this.#cache.get(id);
      if (c !== undefined && c.rev === rev) {
        if (c.value !== null) out.push(c.value);
      } else stale.push(id);
    }
    for (const id of this.#cache.keys()) if (!seen.has(id)) this.#cache.delete(id);
    for (let i = 0; i < stale.length; i += 64) {
      const kvs = await Promise.all(stale.slice(i, i + 64).map((id) => this.#store.get(Kinds.hostChecks.key(id))));
      kvs.forEach((kv, j) => {
        const id = stale[i + j]!;
        const value = decodeOne(Kinds.hostChecks, kv, this.#log);
        this.#cache.set(id, { rev: kv?.modRevision ?? 0, value });
        if (value !== null) out.push(value);
      });
    }
    return out;
  }
}
