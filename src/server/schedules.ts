// The leader's schedule controller (issue 18): every `tickMs` it looks at each scheduled batch job
// (reconcile/schedule-fire.ts decides) and writes the fire: the run it starts (created only if absent:
// its id is its cron time), the runs it replaces, and `/schedules/<job>` with the fire's time, in one
// transaction guarded by the modRevisions it read. A server that stops leading stops looking; the next
// leader starts from the stored time, so no fire is lost or handled twice.

import { Cron } from "croner";
import type { Logger } from "pino";
import type { Clock, SchedulePolicy } from "../model/index.ts";
import type { Compare, Op, Store } from "../state/store.ts";
import { CronMode } from "../spec/schedule-rules.ts";
import { Kinds, runKey, scheduleKey } from "./kinds.ts";
import type { Mirror } from "./mirror.ts";
import { runById, runsOf, runWrites, withUpstream } from "./run-store.ts";
import { decideFire } from "./reconcile/schedule-fire.ts";

/** How often the leader looks at the schedules. @default 1000 (the finest cron is per second) */
export const ScheduleTickMs = 1000;
/** At most this many fire times are listed per look (a long outage of a per-second schedule): the
 * newest is still found. */
const MaxFireTimes = 1000;

/** The cron times of `schedule` in (after, until], oldest first (croner; the newest always included). */
export function fireTimes(schedule: SchedulePolicy, after: number, until: number, cache?: Map<string, Cron>): number[] {
  const k = `${schedule.timeZone} ${schedule.cron}`;
  let c = cache?.get(k);
  if (!c) {
    c = new Cron(schedule.cron, { paused: true, timezone: schedule.timeZone, mode: CronMode });
    cache?.set(k, c);
  }
  const out: number[] = [];
  let at = new Date(after);
  while (out.length < MaxFireTimes) {
    const next = c.nextRun(at);
    if (next === null || next.getTime() > until) return out;
    out.push(next.getTime());
    at = next;
  }
  // Too many to list: the newest one is what the policies need.
  const last = c.previousRuns(1, new Date(until + 1))[0]?.getTime();
  if (last !== undefined && last > (out.at(-1) ?? after)) out.push(last);
  return out;
}

/** Fires the schedules while this server leads. */
export class ScheduleController {
  readonly #o: { store: Store; mirror: Mirror; clock: Clock; log: Logger; active: () => boolean; tickMs: number };
  readonly #crons = new Map<string, Cron>();
  #timer: { cancel(): void } | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(o: { store: Store; mirror: Mirror; clock: Clock; log: Logger; active: () => boolean; tickMs?: number }) {
    this.#o = { ...o, tickMs: o.tickMs ?? ScheduleTickMs };
  }

  /** Starts looking every tick. */
  start(): void {
    const tick = (): void => {
      if (this.#stopped) return;
      this.#running = this.look().catch((err: unknown) => this.#o.log.error({ err }, "schedule look failed"));
      void this.#running.then(() => {
        if (!this.#stopped) this.#timer = this.#o.clock.setTimeout(tick, this.#o.tickMs);
      });
    };
    this.#timer = this.#o.clock.setTimeout(tick, this.#o.tickMs);
  }

  /** Stops ticking; waits for a look in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer?.cancel();
    await this.#running;
  }

  /** One look at every scheduled job (exported for tests). */
  async look(): Promise<void> {
    const { mirror: m, store, clock, log } = this.#o;
    if (!this.#o.active()) return;
    for (const [name, e] of m.jobs) {
      const job = e.value;
      const spec = job.removedAt === null ? m.spec(name, job.version)?.spec : undefined;
      if (!spec?.schedule || !spec.batch) continue;
      const schedule = spec.schedule;
      const skey = scheduleKey(name);
      const d = decideFire({
        job: name, version: job.version, schedule, batch: spec.batch, state: m.schedules.get(name)?.value ?? null, runs: runsOf(m, name), now: clock.now(),
        fireTimes: (after, until) => fireTimes(schedule, after, until, this.#crons),
      });
      if (d.kind === "none") continue;
      const compare: Compare[] = [{ key: skey, target: "modRevision", op: "==", value: m.modRevision(skey) }];
      const success: Op[] = [{ type: "put", key: skey, value: Kinds.schedule.encode(d.state) }];
      if (d.run) {
        // Created only if absent: its id is the fire's time.
        const w = runWrites(m, null, withUpstream(m, d.run, spec.batch));
        compare.push({ key: runKey(name, d.run.id), target: "modRevision", op: "==", value: 0 }, ...w.compare.filter((c) => c.key !== runKey(name, d.run?.id ?? "")));
        success.push(...w.success);
      }
      for (const r of d.cancel) {
        const w = runWrites(m, runById(m, name, r.id), r);
        compare.push(...w.compare);
        success.push(...w.success);
      }
      if (!this.#o.active()) return;
      const r = await store.txn({ compare, success });
      // Lost the race (another server, or a change meanwhile): the next look decides again from the stored state.
      if (r.succeeded) {
        if (d.run || d.cancel.length > 0 || d.state.note !== "schedule started") log.info({ job: name, fireAt: d.state.lastFireAt, run: d.state.lastRun, note: d.state.note }, "schedule fired");
        await m.waitFor(r.revision);
      }
    }
  }
}
