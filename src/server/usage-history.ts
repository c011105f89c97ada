// The resource history of each task, in the store, for `GET /v1/tasks/:job/:index/usage` and a later
// recommender. Bounded: one sample per task per minute (the last one of that minute, with the largest
// memory seen in it), kept 24 hours, so at most 1,440 small keys per task:
//   /usage/<job>/<index, 6 digits>/<minute start, epoch ms 13 digits>  ->  UsageSample
// Agents report a sample every 5 s per task, so samples are kept in memory until their minute is over
// and then written in batches (one transaction of at most `maxOps` puts per flush, every minute),
// never one write per report. A server that stops writes what it holds; one that crashes loses at most
// the current minute. Whichever server receives a host's reports writes its tasks' samples (the keys
// are the same on every server, so a host moving to another server overwrites nothing wrongly).
// Expired samples are deleted in the same batches, each task's oldest keys checked every 10 minutes.
import type { Logger } from "pino";
import type { Clock, ResourceUsage, UsageSample } from "../model/index.ts";
import type { Op, Store } from "../state/store.ts";
import { decodeOne, Kinds, Prefix, usageKey, usageTaskPrefix } from "./kinds.ts";

/** One sample, with the attempt it came from (declared in the model). */
export type { UsageSample } from "../model/index.ts";

/** Options of UsageHistory; times in ms. */
export interface UsageHistoryOptions {
  store: Store;
  clock: Clock;
  log: Logger;
  /** One sample per task per this much. @default 60000 */
  bucketMs?: number;
  /** How long samples are kept. @default 86400000 (24 h) */
  keepMs?: number;
  /** How often each task's expired samples are looked for. @default 600000 */
  pruneEveryMs?: number;
  /** Operations per store transaction (etcd's default limit is 128). @default 100 */
  maxOps?: number;
  /** Tasks whose old samples to look for from the start (those of the store; a restarted server did
   * not write them itself). @default none */
  knownTasks?: () => Iterable<{ job: string; index: number }>;
}

interface Pending {
  job: string;
  index: number;
  buckets: Map<number, UsageSample>;
}

/** Per-minute samples of every task, buffered in memory and written to the store in batches. */
export class UsageHistory {
  readonly #o: Required<Omit<UsageHistoryOptions, "store" | "clock" | "log" | "knownTasks">> & Pick<UsageHistoryOptions, "store" | "clock" | "log" | "knownTasks">;
  readonly #pending = new Map<string, Pending>();
  /** When each task's expired samples were last looked for. */
  readonly #pruned = new Map<string, { job: string; index: number; at: number }>();
  #timer: { cancel(): void } | null = null;
  #closed = false;
  #flushing: Promise<void> = Promise.resolve();

  constructor(o: UsageHistoryOptions) {
    this.#o = { bucketMs: 60_000, keepMs: 86_400_000, pruneEveryMs: 600_000, maxOps: 100, ...o };
  }

  /** Keeps a sample for its minute (the newest of the minute wins; agents resend unchanged statuses). */
  add(job: string, index: number, attemptId: string, u: ResourceUsage): void {
    const key = usageTaskPrefix(job, index);
    const p = this.#pending.get(key) ?? { job, index, buckets: new Map<number, UsageSample>() };
    const bucket = this.#bucketOf(u.at);
    const had = p.buckets.get(bucket);
    if (had && had.at >= u.at) return;
    p.buckets.set(bucket, { ...u, attemptId, memoryMaxBytes: Math.max(had?.memoryMaxBytes ?? 0, u.memoryBytes) });
    this.#pending.set(key, p);
  }

  /** The samples of a task of the last `keepMs`, oldest first (stored ones and those of minutes not written yet). */
  async of(job: string, index: number): Promise<UsageSample[]> {
    const prefix = usageTaskPrefix(job, index);
    const { kvs } = await this.#o.store.range(prefix);
    const byBucket = new Map<number, UsageSample>();
    for (const kv of kvs) {
      const s = decodeOne(Kinds.usage, kv, this.#o.log);
      if (s !== null) byBucket.set(Number(kv.key.slice(prefix.length)), s);
    }
    for (const [b, s] of this.#pending.get(prefix)?.buckets ?? []) byBucket.set(b, s);
    const since = this.#o.clock.now() - this.#o.keepMs;
    return [...byBucket.entries()].filter(([b]) => b >= since).sort(([a], [b]) => a - b).map(([, s]) => s);
  }

  /** Writes the samples of finished minutes (`all`: every sample held) and deletes expired ones. */
  flush(all = false): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flush(all));
    return this.#flushing;
  }

  async #flush(all: boolean): Promise<void> {
    const now = this.#o.clock.now();
    const current = this.#bucketOf(now);
    const ops: Op[] = [];
    const taken: [string, number, UsageSample][] = [];
    for (const [key, p] of this.#pending) {
      for (const [b, s] of p.buckets) {
        if (!all && b >= current) continue;
        ops.push({ type: "put", key: usageKey(p.job, p.index, b), value: Kinds.usage.encode(s) });
        taken.push([key, b, s]);
        p.buckets.delete(b);
      }
      if (p.buckets.size === 0) this.#pending.delete(key);
      const pr = this.#pruned.get(key);
      if (!pr) this.#pruned.set(key, { job: p.job, index: p.index, at: 0 });
    }
    // Expired samples: each task's oldest keys, every pruneEveryMs.
    for (const [key, pr] of this.#pruned) {
      if (now - pr.at < this.#o.pruneEveryMs) continue;
      pr.at = now;
      try {
        const { kvs } = await this.#o.store.range(key, { limit: this.#o.maxOps });
        const expired = kvs.filter((kv) => Number(kv.key.slice(key.length)) < now - this.#o.keepMs);
        for (const kv of expired) ops.push({ type: "delete", key: kv.key });
        // A task that wrote nothing for the whole retention has nothing left to prune.
        if (kvs.length === expired.length && !this.#pending.has(key)) this.#pruned.delete(key);
      } catch (err) {
        this.#o.log.warn({ err, key }, "reading old usage samples failed");
      }
    }
    for (let i = 0; i < ops.length; i += this.#o.maxOps) {
      try {
        await this.#o.store.txn({ compare: [], success: ops.slice(i, i + this.#o.maxOps) });
      } catch (err) {
        this.#o.log.warn({ err, ops: ops.length }, "writing usage samples failed; they are kept for the next flush");
        // Put back what was not written (unless a newer sample of that minute arrived meanwhile).
        for (const [key, b, s] of taken) {
          const p = this.#pending.get(key) ?? { job: "", index: 0, buckets: new Map<number, UsageSample>() };
          if (!this.#pending.has(key)) {
            const [job, index] = splitTaskKey(key);
            p.job = job;
            p.index = index;
            this.#pending.set(key, p);
          }
          if (!p.buckets.has(b)) p.buckets.set(b, s);
        }
        return;
      }
    }
  }

  /** Flushes every `bucketMs` until `close`. */
  start(): void {
    for (const t of this.#o.knownTasks?.() ?? []) {
      const key = usageTaskPrefix(t.job, t.index);
      if (!this.#pruned.has(key)) this.#pruned.set(key, { job: t.job, index: t.index, at: 0 });
    }
    const tick = (): void => {
      if (this.#closed) return;
      this.#timer = this.#o.clock.setTimeout(() => {
        void this.flush().finally(tick);
      }, this.#o.bucketMs);
    };
    if (this.#timer === null) tick();
  }

  /** Stops the timer and writes everything held. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
    await this.flush(true);
  }

  /** Forgets a removed job's samples, held and stored. */
  async forgetJob(job: string): Promise<void> {
    for (const [k, p] of this.#pending) if (p.job === job) this.#pending.delete(k);
    for (const [k, p] of this.#pruned) if (p.job === job) this.#pruned.delete(k);
    await this.#o.store.txn({ compare: [], success: [{ type: "deletePrefix", prefix: `${Prefix.usage}${job}/` }] });
  }

  #bucketOf(at: number): number {
    return Math.floor(at / this.#o.bucketMs) * this.#o.bucketMs;
  }
}

function splitTaskKey(key: string): [string, number] {
  const rest = key.slice(Prefix.usage.length, -1);
  const cut = rest.lastIndexOf("/");
  return [rest.slice(0, cut), Number(rest.slice(cut + 1))];
}
