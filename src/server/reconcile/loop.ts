// The reconcile loop: runs on relevant changes (debounced) and every second. One pass decides every
// job (decide.ts) and writes the changes, waits for the mirror to see them, then places what needs a
// host (place.ts). Passes never overlap; a trigger during a pass runs one more pass after it.

import type { Logger } from "pino";
import type { Clock } from "../../model/index.ts";
import type { Store } from "../../state/store.ts";
import type { Liveness } from "../liveness.ts";
import type { Metrics } from "../metrics.ts";
import { changeAs } from "../mirror.ts";
import type { Change, Mirror } from "../mirror.ts";
import { isLiveRollout, isTerminal } from "../../model/index.ts";
import type { Task } from "../../model/index.ts";
import { Prefix } from "../keys.ts";
import { appendWrites, buildTxn, emptyWriteSet, isEmpty, usageByHost, weightOf } from "./commit.ts";
import type { AllocOverlay, WriteSet } from "./commit.ts";
import { decideJob } from "./decide.ts";
import { jobInput } from "./inputs.ts";
import type { Approval, JobInput } from "./types.ts";
import { placeJob } from "./place.ts";
import { LiveIndex } from "./live-index.ts";
import { advanceRollout } from "./rollout-advance.ts";
import type { JudgeSources } from "./rollout-advance.ts";
import { SerialPasses } from "../serial-passes.ts";
import { batchWrites } from "./batch-pass.ts";
import { wantedOf } from "./every-host-input.ts";

/** How long changes are collected before a pass. */
export const DebounceMs = 20;
/** The longest stretch a pass runs without letting other work (heartbeats, API calls) in. */
export const SliceMs = 20;
/** The placement phase plans for up to this long between transactions (its commits yield too). */
export const PlaceSliceMs = 50;
/** Writes of several jobs share a transaction up to about this many task and attempt writes (then
 * one more job's): a limit for stores with a per-transaction op cap (etcd's --max-txn-ops). */
export const DefaultBatchOps = 4000;
/** A pass runs at least this often (time-based decisions: back-off, fencing, failure reset). */
export const TickMs = 1000;
/** The longest rest after a slow pass (see passGapMs). */
export const MaxPassGapMs = 200;

/** How long after a pass that took `tookMs` the next one may start. A pass no longer than the
 * debounce is followed at once; a slower one (a 10,000-task job mid-rollout: every batch of agent
 * reports started one more, back to back) by a rest as long as itself, at most MaxPassGapMs: the
 * reports, heartbeats and API calls get at least half the CPU, and each pass takes in the changes
 * of its rest at once instead of one pass per batch. Pure. */
export function passGapMs(tookMs: number): number {
  return tookMs <= DebounceMs ? 0 : Math.min(MaxPassGapMs, tookMs);
}

/** Runs the reconcilers. */
export class Reconciler {
  readonly #store: Store;
  readonly #mirror: Mirror;
  readonly #liveness: Liveness;
  readonly #clock: Clock;
  readonly #fenceMs: number;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  #debounce: NodeJS.Timeout | null = null;
  #tick: { cancel(): void } | null = null;
  #stopped = false;
  readonly #passes = new SerialPasses({
    pass: () => this.#pass(),
    onError: (err) => this.#log.error({ err }, "reconcile pass failed"),
    go: () => !this.#stopped,
  });
  #unsubscribe: (() => void) | null = null;
  /** Revisions of this reconciler's own writes not yet seen by the mirror. */
  readonly #ownWrites = new Set<number>();
  /** Jobs whose state changed since their last pass; a full pass looks at every job. */
  readonly #dirty = new Set<string>();
  /** Per dirty job, the task indexes whose task or attempts changed ("all": the job, its versions, its
   * rollout or a host of it changed): an incremental decision walks only these (decide.ts decideFocus). */
  readonly #touched = new Map<string, Set<number> | "all">();
  #full = true;
  /** A full pass runs every TickMs, or less often when full passes are slow (see #pass). */
  #nextFullAt = 0;
  /** Jobs found at rest by their last decision, with the stamps they had (see atRest). */
  readonly #quiet = new Map<string, { job: number; hosts: number }>();
  /** performance.now() before which the next pass waits (passGapMs). */
  #notBefore = 0;
  /** The scheduler index, built on the first placement phase and then kept current. */
  #index: LiveIndex | null = null;
  /** False while another server leads: passes do nothing (see ../leader.ts). */
  readonly #active: () => boolean;
  readonly #batchOps: number;
  /** What the rollout judge reads: per-task metric points (TaskMetricsHistory), custom checks' verdicts. */
  readonly #judge: JudgeSources;
  /** Applications' answers to disruptions (../approvals.ts), by job. */
  readonly #approvals: ((job: string) => ReadonlyMap<number, Approval> | undefined) | undefined;

  constructor(opts: { store: Store; mirror: Mirror; liveness: Liveness; clock: Clock; fenceMs: number; metrics: Metrics; log: Logger; active?: () => boolean; batchOps?: number; judge?: JudgeSources; approvals?: (job: string) => ReadonlyMap<number, Approval> | undefined }) {
    this.#judge = opts.judge ?? {};
    this.#approvals = opts.approvals;
    this.#batchOps = opts.batchOps ?? DefaultBatchOps;
    this.#store = opts.store;
    this.#mirror = opts.mirror;
    this.#liveness = opts.liveness;
    this.#clock = opts.clock;
    this.#fenceMs = opts.fenceMs;
    this.#metrics = opts.metrics;
    this.#log = opts.log;
    this.#active = opts.active ?? (() => true);
  }

  /** Starts reacting to state changes and ticking. */
  start(): void {
    this.#unsubscribe = this.#mirror.onChange((changes) => {
      // Our own /alloc rewrites and host tokens never need a pass of their own.
      let relevant = false;
      for (const c of changes) relevant = this.#markDirty(c) || relevant;
      if (relevant) this.trigger();
    });
    const tick = (): void => {
      if (this.#stopped) return;
      if (this.#clock.now() >= this.#nextFullAt) this.#full = true;
      this.trigger();
      this.#tick = this.#clock.setTimeout(tick, TickMs);
    };
    this.#tick = this.#clock.setTimeout(tick, TickMs);
    this.trigger();
  }

  /** Records which jobs a change concerns; true when it needs a pass at all. */
  #markDirty(c: Change): boolean {
    const k = c.key;
    const m = this.#mirror;
    const nameAfter = (prefix: string): string => {
      const rest = k.slice(prefix.length);
      const slash = rest.indexOf("/");
      return slash < 0 ? rest : rest.slice(0, slash);
    };
    // Endpoints follow tasks (endpoints/controller.ts): they never change what a task should do.
    if (k.startsWith(Prefix.alloc) || k.startsWith(Prefix.hostTokens) || k.startsWith(Prefix.endpoints)) return false;
    // Records no decision reads: an audit entry per API call, usage and metric history blocks, API
    // tokens. Each used to force a full pass over every job (1,000 agents: hundreds during a rollout).
    if (k.startsWith(Prefix.audit) || k.startsWith(Prefix.usage) || k.startsWith(Prefix.metricBlocks) || k.startsWith(Prefix.tokens)) return false;
    // A job's own reconcile write needs no second look: its placement runs in the same pass, and what
    // comes next is triggered by agents' reports (or the next full pass). This halves the decisions.
    if (c.revision !== 0 && this.#ownWrites.has(c.revision)) return false;
    const all = (job: string): void => {
      this.#dirty.add(job);
      this.#touched.set(job, "all");
    };
    const one = (job: string, index: number): void => {
      this.#dirty.add(job);
      const t = this.#touched.get(job);
      if (t === undefined) this.#touched.set(job, new Set([index]));
      else if (t !== "all") t.add(index);
    };
    if (k.startsWith(Prefix.jobs)) all(k.slice(Prefix.jobs.length));
    else if (k.startsWith(Prefix.versions)) all(nameAfter(Prefix.versions));
    else if (k.startsWith(Prefix.tasks)) {
      const ch = changeAs(c, "task");
      const t = ch?.next ?? ch?.prev;
      if (t) one(t.job, t.index);
      else all(nameAfter(Prefix.tasks));
    } else if (k.startsWith(Prefix.rollouts)) all(nameAfter(Prefix.rollouts));
    else if (k.startsWith(Prefix.runs)) all(nameAfter(Prefix.runs));
    else if (k.startsWith(Prefix.runItems)) all(nameAfter(Prefix.runItems));
    else if (k.startsWith(Prefix.attempts)) {
      const ch = changeAs(c, "attempt");
      const a = ch?.next ?? ch?.prev;
      if (a) one(a.job, a.index);
    } else if (k.startsWith(Prefix.alive)) {
      // A host came or went: the jobs with tasks or attempts there.
      const hostId = k.slice(Prefix.alive.length);
      for (const id of m.tasksByHost.get(hostId) ?? []) all(id.slice(0, id.lastIndexOf("/")));
      for (const id of m.attemptsByHost.get(hostId) ?? []) {
        const a = m.attempts.get(id)?.value;
        if (a) all(a.job);
      }
    } else this.#full = true; // a host record (register, drain, undrain) or something unknown: look at everything
    return true;
  }
  /** Asks for a pass soon (coalesced). */
  trigger(): void {
    if (this.#stopped || this.#debounce) return;
    this.#debounce = setTimeout(() => {
      this.#debounce = null;
      void this.run();
    }, DebounceMs);
  }

  /** Runs a pass now (or one more after the current one); resolves when it is done. */
  run(): Promise<void> {
    return this.#passes.run();
  }

  /** Stops ticking and waits for a running pass. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe?.();
    this.#index?.close();
    this.#tick?.cancel();
    if (this.#debounce) clearTimeout(this.#debounce);
    this.#debounce = null;
    await this.#passes.idle();
  }

  async #pass(): Promise<void> {
    if (!this.#active()) {
      // Not leading: the first pass of a later term looks at everything, with a fresh index.
      this.#full = true;
      this.#dirty.clear();
      this.#touched.clear();
      this.#index?.close();
      this.#index = null;
      this.#quiet.clear();
      return;
    }
    const rest = this.#notBefore - performance.now();
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
    // Leadership may have moved during the rest: the next pass (not leading) resets the state.
    if (this.#stopped || !this.#active()) return;
    const passStarted = performance.now();
    try {
      await this.#passNow();
    } finally {
      this.#notBefore = performance.now() + passGapMs(performance.now() - passStarted);
    }
  }

  async #passNow(): Promise<void> {
    const m = this.#mirror;
    const now = this.#clock.now();
    const hosts = this.#liveness.hostStates(now);
    const usage = usageByHost(m);
    const ctx = { hosts, usage, now, fenceMs: this.#fenceMs, heartbeatMs: this.#liveness.timing().heartbeatMs, ...(this.#approvals ? { approvals: this.#approvals } : {}) };

    const endDecide = this.#metrics.reconcileDuration.startTimer({ phase: "decide" });
    // Only jobs whose state changed, except in a full pass (every TickMs, for time-based decisions:
    // back-off, failure reset, fencing waits). A full pass over a million tasks takes a while, so full
    // passes are spaced to at least 10x their own duration: time-based decisions get coarser at that
    // scale, changes are still handled at once.
    const full = this.#full;
    const started = performance.now();
    this.#full = false;
    const names = full ? [...m.jobs.keys()].sort() : [...this.#dirty].sort();
    // What changed per job since its last decision; a full pass decides every task of every job.
    const touched = new Map(this.#touched);
    this.#dirty.clear();
    this.#touched.clear();
    let lastRev = 0;
    let slice = performance.now();
    // Brand-new tasks (a new job, more replicas) are not written here but by the placement phase
    // below, placed: one write per task instead of two, and no wait for the mirror in between.
    const fresh = new Map<string, Map<number, Task>>();
    /** The jobs not skipped as at rest: the placement phase looks at these (and at what changed since). */
    const considered: string[] = [];
    // Decisions of several jobs go into one transaction (one commit, one rewrite per touched /alloc
    // record), built before any await so its compares are the revisions the decisions read.
    let pending: { names: string[]; ws: WriteSet } = { names: [], ws: emptyWriteSet() };
    const flushDecided = async (): Promise<void> => {
      if (pending.names.length === 0) return;
      const { names: batchNames, ws } = pending;
      pending = { names: [], ws: emptyWriteSet() };
      const r = await this.#store.txn(buildTxn(m, ws));
      if (r.succeeded) {
        lastRev = r.revision;
        if (r.revision > m.revision) this.#ownWrites.add(r.revision);
      } else {
        // Someone wrote in between: decide again, everything, once the mirror has their write.
        this.#passes.again();
        this.#full = true;
        for (const n of batchNames) fresh.delete(n);
        lastRev = Math.max(lastRev, r.revision);
      }
      this.#log.debug({ jobs: batchNames.length, ok: r.succeeded, tasks: ws.tasks.length, attempts: ws.attempts.length }, "reconciled jobs");
    };
    for (const name of names) {
      if (this.#stopped) return;
      // A pass over a million tasks must not hold the event loop for seconds: heartbeats and API
      // calls get a turn every SliceMs. Between jobs is safe: each job reads the mirror afresh.
      if (performance.now() - slice > SliceMs || weightOf(pending.ws) >= this.#batchOps) {
        await flushDecided();
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
      // A job at rest when last decided, unchanged since, with hosts unchanged: nothing a clock can
      // change either (no failure count to reset, nothing on a down host): skip it.
      const rest = this.#quiet.get(name);
      if (rest && rest.job === m.jobStamp(name) && rest.hosts === m.hostsStamp) continue;
      considered.push(name);
      const job = m.jobs.get(name)?.value;
      const inp = job ? jobInput(m, job, ctx) : null;
      if (!inp) continue;
      const focus = full ? "all" : (touched.get(name) ?? "all");
      if (focus !== "all") inp.focus = focus;
      // A batch job has runs, not replicas (batch-decide.ts); its new tasks are written here, then placed below.
      if (inp.spec.batch) {
        const b = batchWrites(m, inp);
        if (b.atRest) this.#quiet.set(name, { job: m.jobStamp(name), hosts: m.hostsStamp });
        else this.#quiet.delete(name);
        if (!isEmpty(b.ws)) {
          appendWrites(pending.ws, b.ws);
          pending.names.push(name);
        }
        continue;
      }
      // The job's rollout first (started, stepped, rolled back: rollout-advance.ts); it gates the decision.
      const adv = advanceRollout(m, inp, this.#judge);
      inp.rollout = adv.rollout;
      const d = adv.rolledBack ? { putTasks: [], deleteTasks: [], putAttempts: [], deleteAttempts: [] } : decideJob(inp);
      // Only a decision over every task tells that the job is at rest.
      if (focus === "all" && d.putTasks.length + d.deleteTasks.length + d.putAttempts.length + d.deleteAttempts.length === 0 && atRest(inp)) {
        this.#quiet.set(name, { job: m.jobStamp(name), hosts: m.hostsStamp });
      } else this.#quiet.delete(name);
      const known = m.tasks.get(name);
      const created = d.putTasks.filter((t) => t.hostId === null && t.attemptId === null && !known?.has(t.index));
      const createdSet = new Set(created);
      if (created.length > 0) fresh.set(name, new Map(created.map((t) => [t.index, t])));
      const ws: WriteSet = { tasks: created.length > 0 ? d.putTasks.filter((t) => !createdSet.has(t)) : d.putTasks, deleteTasks: d.deleteTasks.map((index) => ({ job: name, index })), attempts: d.putAttempts, deleteAttempts: d.deleteAttempts };
      if (adv.other) ws.other = adv.other;
      if (isEmpty(ws)) continue;
      appendWrites(pending.ws, ws);
      pending.names.push(name);
    }
    await flushDecided();
    endDecide();
    if (lastRev > 0) await m.waitFor(lastRev);

    const endPlace = this.#metrics.reconcileDuration.startTimer({ phase: "place" });
    const placeHosts = this.#liveness.hostStates(this.#clock.now());
    this.#index ??= new LiveIndex(m, placeHosts);
    const index = this.#index.current(placeHosts);
    // Placements of several jobs go into one transaction too. The index books each plan as it is
    // made; the next batch is planned while the previous one commits (its /alloc values from the
    // overlay). A transaction that fails throws the index away (rebuilt from the mirror) and fails
    // the one built on it.
    const overlay: AllocOverlay = new Map();
    let placing: { jobs: { name: string; placed: number; unplaced: number; moves: number[] }[]; ws: WriteSet } = { jobs: [], ws: emptyWriteSet() };
    let committing: Promise<boolean> | null = null;
    let conflict = false;
    const commit = async (jobs: typeof placing.jobs, txn: ReturnType<typeof buildTxn>): Promise<boolean> => {
      const r = await this.#store.txn(txn);
      const placed = jobs.reduce((n, j) => n + j.placed, 0);
      const unplaced = jobs.reduce((n, j) => n + j.unplaced, 0);
      this.#metrics.placements.inc({ result: r.succeeded ? "placed" : "conflict" }, r.succeeded ? placed : 1);
      if (!r.succeeded) {
        conflict = true;
        lastRev = Math.max(lastRev, r.revision);
        return false;
      }
      lastRev = Math.max(lastRev, r.revision);
      if (r.revision > m.revision) this.#ownWrites.add(r.revision);
      if (unplaced > 0) this.#metrics.placements.inc({ result: "unplaced" }, unplaced);
      for (const j of jobs) this.#log.info({ job: j.name, placed: j.placed, unplaced: j.unplaced, moves: j.moves }, "placed tasks");
      return true;
    };
    /** Sends the batch planned so far; waits for the one before it first (at most one in flight). */
    const flushPlaced = async (): Promise<void> => {
      if (placing.jobs.length === 0) return;
      const { jobs, ws } = placing;
      placing = { jobs: [], ws: emptyWriteSet() };
      if (committing) await committing;
      if (conflict) return;
      committing = commit(jobs, buildTxn(m, ws, overlay));
    };
    // The jobs decided above plus those that changed meanwhile (their own decide phase comes next pass).
    slice = performance.now();
    lastRev = 0;
    for (const name of [...new Set([...considered, ...this.#dirty])].sort()) {
      if (this.#stopped) return;
      if (performance.now() - slice > PlaceSliceMs || weightOf(placing.ws) >= this.#batchOps) {
        await flushPlaced();
        if (conflict) break;
        await new Promise((r) => setImmediate(r));
        slice = performance.now();
      }
      const p = placeJob(m, index, name, { ...ctx, hosts: placeHosts }, fresh.get(name));
      if (!p) continue;
      appendWrites(placing.ws, p.writes);
      placing.jobs.push({ name, placed: p.plan.placements.length, unplaced: p.plan.unplaced.length, moves: p.moves });
    }
    if (!conflict) await flushPlaced();
    if (committing) await committing;
    // The index already holds these plans, and the mirror's copy of the writes only confirms them.
    if (lastRev > 0) await m.waitFor(lastRev);
    if (conflict) {
      // The index holds plans that were not written: start again from the mirror on the next pass.
      this.#passes.again();
      this.#full = true;
      this.#index.rebuild(placeHosts);
    }
    endPlace();
    for (const rev of this.#ownWrites) if (rev <= m.revision) this.#ownWrites.delete(rev);
    if (full) {
      // Fast full passes run on every tick; a slow one (a huge cluster) spaces the next ones out.
      const took = performance.now() - started;
      this.#nextFullAt = 10 * took > TickMs ? this.#clock.now() + 10 * took : 0;
    }
  }
}

/** True when no later decision about the job can differ unless the job or a host record changes:
 * no live rollout, every replica placed (or parked), no failure count waiting to be reset, no live attempt on a down host (whose
 * "lost" verdict waits for the clock) or on a draining one (its deadline), no task on a host in a
 * maintenance window or held by one that overran. Full passes skip such jobs until something of theirs changes. */
export function atRest(inp: JobInput): boolean {
  if (inp.job.removedAt === null && inp.tasks.length !== wantedOf(inp).count) return false;
  // An every-host job's tasks must be exactly its slots (a host that left or stopped matching: one to stop).
  if (inp.everyHost && inp.tasks.some((t) => !inp.everyHost?.has(t.index))) return false;
  // A live rollout waits for the clock (bake, deadline).
  if (inp.rollout && isLiveRollout(inp.rollout)) return false;
  for (const t of inp.tasks) if (!t.parked && (t.hostId === null || t.failures > 0)) return false;
  // A maintenance window acts by the clock (its lead, start and end), and so does an overrun one
  // (an endure job's tasks go elsewhere once its maintenanceOverrun passed).
  for (const t of inp.tasks) {
    const h = t.hostId === null ? undefined : inp.hosts.get(t.hostId);
    if (h?.windows || h?.overrun) return false;
  }
  for (const a of inp.attempts) {
    if (isTerminal(a.state)) continue;
    const h = inp.hosts.get(a.hostId);
    if (!h || h.status === "down") return false;
    // A drain waits for the clock too (its deadline) and for room that frees without a host change.
    if (h.draining) return false;
  }
  return true;
}
