// The metrics of every task, from agents' summaries (`POST /v1/agent/metrics`): for
// `GET /v1/jobs/:name/metrics`, `tiffin top` and the server's Prometheus output. One point per task
// per `bucketMs` (the newest of the bucket wins), kept `keepMs` (`tiffin server --metrics-keep`).
//
// Memory holds only the latest summary of each task and its points of the last two blocks (the open
// block, and the last closed one so a late or failed write loses nothing: at most
// 2 x blockMs/bucketMs + 1 points in one typed array, allocated for one block and grown only when a
// flush is late; task-metrics-ring.ts). Once a block's
// time is over, its points are written to the store as closed blocks (task-metric-blocks.ts): one
// value per block, job and chunk of 64 task indexes, and writer (this server's id and incarnation,
// so two servers, or a restarted one, never overwrite each other's points; readers merge them). A
// restarted server, and every other server of a cluster, answers the same series from the store; only
// the points of the open block are on the receiving server alone (at most `blockMs`, 10 min by default).
// Blocks that ended more than `fullMs` (1 h) ago are downsampled by one server (the leader) to one
// point a task a block (10 minutes; task-metric-rollup.ts), about 3.5x fewer stored bytes.
// Store load, bounded: one write a block per job chunk (1,000 tasks: 16 values of at most ~25 KB each
// every 10 minutes), in transactions of at most 100 operations and 512 KiB; expiry deletes a whole
// block start at once (one deletePrefix) with no scan.
import { pino } from "pino";
import type { Logger } from "pino";
import type { Clock, MetricBlock, TaskMetrics, TaskMetricsPoint } from "../model/index.ts";
import type { Op, Store } from "../state/store.ts";
import { decodeOne, Kinds, metricBlockJobPrefix, metricBlockStartPrefix, Prefix } from "./kinds.ts";
import { blockValuesOf, chunkOf, mergePoints, pointsOfBlock } from "./task-metric-blocks.ts";
import { rollupOf, RollupWriter } from "./task-metric-rollup.ts";
import type { TaskPoints } from "./task-metric-blocks.ts";
import { PointRing } from "./task-metrics-ring.ts";

/** Where a summary came from: the task and the attempt's version and host. */
export interface TaskMetricsOrigin {
  job: string;
  index: number;
  version: number;
  hostId: string;
}

/** The latest summary of a task with where it came from. */
export type LatestTaskMetrics = TaskMetricsOrigin & { metrics: TaskMetrics };

/** Options of TaskMetricsHistory; times in ms. */
export interface TaskMetricsHistoryOptions {
  clock: Clock;
  /** Where closed blocks go. @default none: points are kept for the open block only */
  store?: Store;
  log?: Logger;
  /** This process's name in block keys (server id and incarnation). @default "local" */
  writer?: string;
  /** One point per task per this much. @default 60000 */
  bucketMs?: number;
  /** How long points are kept (in the store). @default 86400000 (24 h) */
  keepMs?: number;
  /** The span of a block: what memory holds and how often blocks are written (a multiple of bucketMs). @default 600000 */
  blockMs?: number;
  /** Operations and bytes per store transaction (etcd allows 128 ops and 1.5 MiB a request). @default 100, 524288 */
  maxOps?: number;
  maxTxnBytes?: number;
  /** Blocks whose time ended longer ago than this are downsampled to one point a task a block
   * (task-metric-rollup.ts; `tiffin server --metrics-full`). @default 3600000 (1 h) */
  fullMs?: number;
  /** Whether this process downsamples (one server of a cluster does: the leader). @default always */
  rollupActive?: () => boolean;
}

interface Series {
  latest: LatestTaskMetrics;
  points: PointRing;
  /** Points before this time are in the store. */
  writtenUntil: number;
}

/** The store's key of one closed block of a job chunk. */
interface BlockTarget {
  start: number;
  job: string;
  chunk: number;
  tasks: TaskPoints[];
}

/** Per-task metric series: the open block in memory, closed blocks in the store. */
export class TaskMetricsHistory {
  readonly #o: TaskMetricsHistoryOptions & { bucketMs: number; keepMs: number; blockMs: number; maxOps: number; maxTxnBytes: number; writer: string; fullMs: number };
  /** Block starts before this are downsampled (null: not known yet, found from the oldest stored). */
  #rolledUntil: number | null = null;
  readonly #byJob = new Map<string, Map<number, Series>>();
  #timer: { cancel(): void } | null = null;
  #closed = false;
  #flushing: Promise<void> = Promise.resolve();

  constructor(o: TaskMetricsHistoryOptions) {
    const bucketMs = o.bucketMs ?? 60_000;
    const blockMs = Math.max(bucketMs, Math.round((o.blockMs ?? 600_000) / bucketMs) * bucketMs);
    this.#o = { keepMs: 86_400_000, maxOps: 100, maxTxnBytes: 512 * 1024, writer: "local", fullMs: 3_600_000, ...o, bucketMs, blockMs };
  }

  /** How long points are kept. */
  get keepMs(): number {
    return this.#o.keepMs;
  }

  /** Keeps a summary (a summary of another attempt of the task replaces the latest, and joins its series). */
  add(origin: TaskMetricsOrigin, m: TaskMetrics): void {
    let byIndex = this.#byJob.get(origin.job);
    if (!byIndex) this.#byJob.set(origin.job, (byIndex = new Map()));
    const s = byIndex.get(origin.index) ?? { latest: { ...origin, metrics: m }, points: new PointRing((2 * this.#o.blockMs) / this.#o.bucketMs + 1, this.#o.blockMs / this.#o.bucketMs + 1), writtenUntil: 0 };
    if (m.at < s.latest.metrics.at || m.at < s.writtenUntil) return;
    s.latest = { ...origin, metrics: m };
    const point: TaskMetricsPoint = { at: m.at, up: m.up, scrapeErrors: m.scrapeErrors, clients: m.clients, errorsPerSec: m.errorsPerSec, latencySeconds: m.latencySeconds };
    const lastAt = s.points.lastAt();
    s.points.push(point, lastAt !== null && Math.floor(lastAt / this.#o.bucketMs) === Math.floor(m.at / this.#o.bucketMs));
    byIndex.set(origin.index, s);
  }

  /** The latest summary of each task of `job` that has one, by index. */
  latestOf(job: string): LatestTaskMetrics[] {
    return [...(this.#byJob.get(job)?.values() ?? [])].map((s) => s.latest).sort((a, b) => a.index - b.index);
  }

  /** A task's points held in memory, oldest first: at least the last `blockMs` (10 minutes) of them
   * on the server that receives its reports. Synchronous and cheap, for checks on recent values. */
  seriesOf(job: string, index: number): TaskMetricsPoint[] {
    return this.#byJob.get(job)?.get(index)?.points.toArray() ?? [];
  }

  /** A task's points of the last `keepMs`, oldest first: the store's closed blocks (every writer's) and those held. */
  async readSeries(job: string, index: number): Promise<TaskMetricsPoint[]> {
    return (await this.#read(job, index)).get(index) ?? [];
  }

  /** The points of the last `keepMs` of every task of `job` with any, by index. */
  readJobSeries(job: string): Promise<Map<number, TaskMetricsPoint[]>> {
    return this.#read(job);
  }

  /** The latest summary of every task (the Prometheus output). */
  *all(): Iterable<LatestTaskMetrics> {
    for (const byIndex of this.#byJob.values()) for (const s of byIndex.values()) yield s.latest;
  }

  /** Drops a job's held series (the job was removed) or one task's; stored blocks expire with `keepMs`. */
  forget(job: string, index?: number): void {
    if (index === undefined) this.#byJob.delete(job);
    else this.#byJob.get(job)?.delete(index);
  }

  /** Writes the points of closed blocks (`all`: every point held, at close), deletes expired blocks,
   * and forgets tasks unheard of for a block whose points are written. */
  flush(all = false): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flush(all));
    return this.#flushing;
  }

  /** Flushes once a block (at `blockMs` boundaries) until `close`. */
  start(): void {
    const tick = (): void => {
      if (this.#closed) return;
      const now = this.#o.clock.now();
      // Just after the boundary, so the block's last reports (every 10 s) are in.
      const wait = this.#blockOf(now) + this.#o.blockMs - now + Math.min(5_000, this.#o.bucketMs / 4);
      this.#timer = this.#o.clock.setTimeout(() => void this.flush().finally(tick), wait);
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

  async #flush(all: boolean): Promise<void> {
    const { store, log } = this.#o;
    const now = this.#o.clock.now();
    if (!store) return this.#forgetSilent(now);
    const until = all ? now + 1 : this.#blockOf(now);
    const targets = new Map<string, BlockTarget>();
    const written: [Series, number][] = [];
    for (const [job, byIndex] of this.#byJob) {
      for (const [index, s] of byIndex) {
        const pts = s.points.toArray().filter((p) => p.at >= s.writtenUntil && p.at < until);
        if (pts.length === 0) continue;
        written.push([s, all ? Math.max(until, (pts.at(-1)?.at ?? 0) + 1) : until]);
        for (const p of pts) {
          const start = this.#blockOf(p.at);
          const id = `${start}/${job}/${chunkOf(index)}`;
          let t = targets.get(id);
          if (!t) targets.set(id, (t = { start, job, chunk: chunkOf(index), tasks: [] }));
          const last = t.tasks.at(-1);
          if (last?.index === index) last.points.push(p);
          else t.tasks.push({ index, points: [p] });
        }
      }
    }
    const ops: Op[] = [...targets.values()].map((t) => ({
      type: "put",
      key: Kinds.metricBlock.key(t.start, t.job, t.chunk, this.#o.writer),
      value: Kinds.metricBlock.encode(blockValuesOf(t.start, this.#o.blockMs, t.tasks)),
    }));
    try {
      for (const batch of batches(ops, this.#o.maxOps, this.#o.maxTxnBytes)) await store.txn({ compare: [], success: batch });
      for (const [s, w] of written) s.writtenUntil = w;
    } catch (err) {
      // Kept for the next flush (the same keys: a retry overwrites with the same or more points).
      log?.warn({ err, blocks: ops.length }, "writing task metric blocks failed; they are kept for the next flush");
    }
    await this.#expire(now).catch((err: unknown) => log?.warn({ err }, "deleting expired task metric blocks failed"));
    await this.#rollup(now).catch((err: unknown) => log?.warn({ err }, "downsampling task metric blocks failed; tried again at the next flush"));
    this.#forgetSilent(now);
  }

  /** Replaces the stored blocks that ended more than `fullMs` ago, one block start at a time, by one
   * value a job chunk with one point a task (task-metric-rollup.ts): the rollup is written before the
   * fine values are deleted, so a failure in between leaves both (reads merge them) and nothing lost. */
  async #rollup(now: number): Promise<void> {
    const store = this.#o.store;
    if (!store || !(this.#o.rollupActive?.() ?? true)) {
      this.#rolledUntil = null; // another server may roll up meanwhile: look again when active
      return;
    }
    const { blockMs, bucketMs, log } = this.#o;
    if (this.#rolledUntil === null) {
      const oldest = (await store.range(Prefix.metricBlocks, { limit: 1 })).kvs[0];
      this.#rolledUntil = (oldest ? Kinds.metricBlock.parseKey(oldest.key)?.[0] : undefined) ?? this.#blockOf(now);
    }
    for (let start = this.#rolledUntil; start + blockMs <= now - this.#o.fullMs; start += blockMs) {
      const groups = new Map<string, { job: string; chunk: number; keys: string[]; blocks: MetricBlock[]; fine: boolean }>();
      for (const kv of (await store.range(metricBlockStartPrefix(start))).kvs) {
        const parts = Kinds.metricBlock.parseKey(kv.key);
        const block = parts ? decodeOne(Kinds.metricBlock, kv, log ?? silentLog) : null;
        if (!parts || !block) continue;
        const [, job, chunk, writer] = parts;
        const id = `${job}/${chunk}`;
        let g = groups.get(id);
        if (!g) groups.set(id, (g = { job, chunk, keys: [], blocks: [], fine: false }));
        g.blocks.push(block);
        if (writer !== RollupWriter) {
          g.keys.push(kv.key);
          g.fine = true;
        }
      }
      const puts: Op[] = [];
      const deletes: Op[] = [];
      for (const g of groups.values()) {
        if (!g.fine) continue;
        puts.push({ type: "put", key: Kinds.metricBlock.key(start, g.job, g.chunk, RollupWriter), value: Kinds.metricBlock.encode(rollupOf(start, blockMs, g.blocks, bucketMs)) });
        for (const key of g.keys) deletes.push({ type: "delete", key });
      }
      for (const batch of batches(puts, this.#o.maxOps, this.#o.maxTxnBytes)) await store.txn({ compare: [], success: batch });
      for (const batch of batches(deletes, this.#o.maxOps, this.#o.maxTxnBytes)) await store.txn({ compare: [], success: batch });
      this.#rolledUntil = start + blockMs;
    }
  }

  /** Deletes whole block starts older than `keepMs`, oldest first: one small range and one delete each. */
  async #expire(now: number): Promise<void> {
    const store = this.#o.store;
    if (!store) return;
    for (let i = 0; i < 1_000; i++) {
      const { kvs } = await store.range(Prefix.metricBlocks, { limit: 1 });
      const parts = kvs[0] ? Kinds.metricBlock.parseKey(kvs[0].key) : null;
      if (!parts || parts[0] + this.#o.blockMs > now - this.#o.keepMs) return;
      await store.txn({ compare: [], success: [{ type: "deletePrefix", prefix: metricBlockStartPrefix(parts[0]) }] });
    }
  }

  /** Forgets tasks not heard of for a block whose points are all written (or, without a store, for `keepMs`). */
  #forgetSilent(now: number): void {
    const quietMs = this.#o.store ? this.#o.blockMs : this.#o.keepMs;
    for (const [job, byIndex] of this.#byJob) {
      for (const [index, s] of byIndex) {
        const heard = s.latest.metrics.at;
        if (heard < now - quietMs && (!this.#o.store || s.writtenUntil > heard)) byIndex.delete(index);
      }
      if (byIndex.size === 0) this.#byJob.delete(job);
    }
  }

  /** Every stored and held point of the last `keepMs` of a job (or one task's chunk), by index. */
  async #read(job: string, index?: number): Promise<Map<number, TaskMetricsPoint[]>> {
    const now = this.#o.clock.now();
    const since = now - this.#o.keepMs;
    const sources: Map<number, TaskMetricsPoint[]>[] = [];
    const store = this.#o.store;
    if (store) {
      // One small range a block start, from the oldest stored one (a long keep on a young store reads
      // little), at most 32 at a time (a 30-day keep is 4,320 block starts).
      const oldest = (await store.range(Prefix.metricBlocks, { limit: 1 })).kvs[0];
      const first = Math.max(this.#blockOf(since), oldest ? (Kinds.metricBlock.parseKey(oldest.key)?.[0] ?? now) : now + 1);
      const starts: number[] = [];
      for (let s = first; s <= now; s += this.#o.blockMs) starts.push(s);
      const reads: { kvs: { key: string; value: string }[] }[] = [];
      for (let i = 0; i < starts.length; i += 32) {
        reads.push(...(await Promise.all(starts.slice(i, i + 32).map((s) => store.range(metricBlockJobPrefix(s, job, index === undefined ? undefined : chunkOf(index)))))));
      }
      for (const { kvs } of reads) {
        for (const kv of kvs) {
          const parts = Kinds.metricBlock.parseKey(kv.key);
          const block = parts && parts[1] === job ? decodeOne(Kinds.metricBlock, kv, this.#o.log ?? silentLog) : null;
          if (block) sources.push(pointsOfBlock(block, index));
        }
      }
    }
    const held = new Map<number, TaskMetricsPoint[]>();
    for (const [i, s] of this.#byJob.get(job) ?? []) if (index === undefined || i === index) held.set(i, s.points.toArray());
    sources.push(held);
    return mergePoints(sources, since, this.#o.bucketMs);
  }

  #blockOf(at: number): number {
    return Math.floor(at / this.#o.blockMs) * this.#o.blockMs;
  }
}

/** `ops` in transactions of at most `maxOps` operations and about `maxBytes` of keys and values (one op always fits). */
export function batches(ops: readonly Op[], maxOps: number, maxBytes: number): Op[][] {
  const out: Op[][] = [];
  let cur: Op[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = op.type === "put" ? op.key.length + op.value.length : 100;
    if (cur.length > 0 && (cur.length >= maxOps || bytes + size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(op);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Without a logger, a corrupt block is left out quietly. */
const silentLog: Logger = pino({ level: "silent" });
