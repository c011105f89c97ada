// Drains never hang silently: while this server leads, every draining host's record carries, per job
// still held there, what holds it (its disruption budget, no room elsewhere, a constraint) and since
// when (reconcile/drain.ts jobDrainBlock decides; a dry-run plan over a fresh scheduler index says
// whether a task could go elsewhere now). Written when the report changes (and once when a drain
// starts, so `tiffin drain` knows it was looked at), at most every `tickMs`, each write compared with
// the host record's modRevision and fenced to the leadership term. Kept on the host record, so every
// server, `tiffin hosts HOST` and the typed watch (kind host) show it. The hosts of a maintenance
// window, from its close to its end, get the same report, kept on the window record (`report`), for
// the jobs that must leave them (`tiffin maintenance list`).

import type { Logger } from "pino";
import type { Clock, DrainBlock, Host, HostDrain, MaintenanceWindow } from "../model/index.ts";
import type { Store } from "../state/store.ts";
import type { ClusterIndex } from "../scheduler/api.ts";
import { hostKey, Kinds, maintenanceKey } from "./kinds.ts";
import { windowClosesAt, windowCovers, windowEnd } from "../model/index.ts";
import type { Liveness } from "./liveness.ts";
import type { Mirror } from "./mirror.ts";
import { usageByHost } from "./reconcile/commit.ts";
import { drainDue, jobDrainBlock, mergeBlocks, mustLeave } from "./reconcile/drain.ts";
import { jobInput } from "./reconcile/inputs.ts";
import { endureBlock } from "./reconcile/maintenance.ts";
import { buildIndex, planJob, unplacedReason } from "./reconcile/place.ts";
import type { Approval, HostState } from "./reconcile/types.ts";
import { SerialPasses } from "./serial-passes.ts";
import { writeOverruns } from "./maintenance-overrun.ts";

/** How often draining hosts are looked at. */
export const DrainReportTickMs = 250;

/** Options of the DrainReporter. */
export interface DrainReporterOptions {
  store: Store;
  mirror: Mirror;
  liveness: Liveness;
  clock: Clock;
  log: Logger;
  fenceMs: number;
  /** True while this server leads; nothing is written otherwise. */
  active: () => boolean;
  /** @default DrainReportTickMs */
  tickMs?: number;
  /** Applications' answers to disruptions (approvals.ts), by job. */
  approvals?: (job: string) => ReadonlyMap<number, Approval> | undefined;
}

/** The report of one draining host now: what holds each job there. `leaving`: only jobs whose tasks
 * must leave the host now (a window's moves: not move jobs before their lead), and endure jobs whose
 * stop at the window's start waits for their application's yes. */
export function drainReport(m: Mirror, hostId: string, ctx: { hosts: ReadonlyMap<string, HostState>; now: number; fenceMs: number; heartbeatMs: number; approvals?: (job: string) => ReadonlyMap<number, Approval> | undefined }, index: () => ClusterIndex, leaving = false): Omit<DrainBlock, "since">[] {
  const jobs = new Set<string>();
  for (const id of m.tasksByHost.get(hostId) ?? []) jobs.add(id.slice(0, id.lastIndexOf("/")));
  const usage = usageByHost(m);
  const out: Omit<DrainBlock, "since">[] = [];
  for (const name of [...jobs].sort()) {
    const job = m.jobs.get(name)?.value;
    const inp = job ? jobInput(m, job, { ...ctx, usage }) : null;
    if (!inp) continue;
    // An endure job in a window: held only while its application has not approved the stop.
    const endure = leaving && inp.spec.maintenance === "endure" ? endureBlock(inp, hostId) : null;
    if (endure) {
      out.push(endure);
      continue;
    }
    if (leaving && !mustLeave(inp, ctx.hosts.get(hostId))) continue;
    const b = jobDrainBlock(inp, hostId, (i) => {
      const { plan } = planJob(index(), inp.spec, [{ index: i, avoid: [hostId], move: true }]);
      const u = plan.unplaced.find((x) => x.index === i);
      return u ? { reasons: u.reasons, text: unplacedReason(u.reasons, m.hosts.size) } : null;
    });
    if (b) out.push(b);
  }
  return out;
}

/** The host's drain after a look at `now` (null: nothing to write). */
export function nextReport(h: Host, blocks: Omit<DrainBlock, "since">[], now: number): HostDrain | null {
  const prev: HostDrain = h.drain ?? { startedAt: now, deadline: null, then: "wait", checkedAt: null, blocked: [], actedAt: null };
  const blocked = mergeBlocks(prev.blocked, blocks, now);
  const acted = prev.actedAt ?? (drainDue(h, now) !== null ? now : null);
  const same = prev.checkedAt !== null && h.drain !== undefined && acted === prev.actedAt && JSON.stringify(blocked) === JSON.stringify(prev.blocked);
  return same ? null : { ...prev, blocked, checkedAt: now, actedAt: acted };
}

/** Keeps draining hosts' reports current (see the file comment). */
export class DrainReporter {
  readonly #o: DrainReporterOptions;
  #tick: { cancel(): void } | null = null;
  #stopped = false;
  readonly #passes: SerialPasses;

  constructor(opts: DrainReporterOptions) {
    this.#o = opts;
    this.#passes = new SerialPasses({
      pass: () => this.#pass(),
      onError: (err) => this.#o.log.warn({ err }, "writing drain reports failed; trying again"),
      go: () => this.#o.active() && !this.#stopped,
    });
  }

  /** Starts ticking. */
  start(): void {
    const tick = (): void => {
      if (this.#stopped) return;
      void this.#passes.run();
      this.#tick = this.#o.clock.setTimeout(tick, this.#o.tickMs ?? DrainReportTickMs);
    };
    tick();
  }

  /** Stops ticking and waits for a running pass. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#tick?.cancel();
    await this.#passes.idle();
  }

  /** A window's report: what holds each job on each of its hosts (hosts with nothing held left out). */
  async #windowReport(w: MaintenanceWindow, reportOf: (hostId: string) => Omit<DrainBlock, "since">[], now: number): Promise<void> {
    const m = this.#o.mirror;
    const report: { host: string; blocked: DrainBlock[] }[] = [];
    for (const { value: h } of m.hosts.values()) {
      if (!windowCovers(w, h)) continue;
      const blocked = mergeBlocks(w.report?.find((r) => r.host === h.name)?.blocked ?? [], reportOf(h.id), now);
      if (blocked.length > 0) report.push({ host: h.name, blocked });
    }
    report.sort((a, b) => a.host.localeCompare(b.host));
    if (JSON.stringify(report) === JSON.stringify(w.report ?? [])) return;
    const key = maintenanceKey(w.id);
    const r = await this.#o.store.txn({
      compare: [{ key, target: "modRevision", op: "==", value: m.modRevision(key) }],
      success: [{ type: "put", key, value: Kinds.maintenance.encode({ ...w, report }) }],
    });
    if (r.succeeded) {
      this.#o.log.info({ window: w.id, blocked: report.flatMap((x) => x.blocked.map((b) => `${x.host} ${b.job}: ${b.reason}`)) }, "maintenance report");
      await m.waitFor(r.revision);
    }
  }

  async #pass(): Promise<void> {
    const m = this.#o.mirror;
    if (m.maintenance.size > 0) await writeOverruns(this.#o, this.#o.liveness.hostStates(this.#o.clock.now()), this.#o.clock.now());
    const draining = [...m.hosts.values()].filter((e) => e.value.draining);
    const now = this.#o.clock.now();
    const closed = [...m.maintenance.values()].map((e) => e.value).filter((w) => w.cancelledAt === null && now >= windowClosesAt(w) && now < windowEnd(w));
    if (draining.length === 0 && closed.length === 0) return;
    const hosts = this.#o.liveness.hostStates(now);
    let idx: ClusterIndex | null = null;
    const index = (): ClusterIndex => (idx ??= buildIndex(m, hosts));
    const ctx = { hosts, now, fenceMs: this.#o.fenceMs, heartbeatMs: this.#o.liveness.timing().heartbeatMs, ...(this.#o.approvals ? { approvals: this.#o.approvals } : {}) };
    for (const w of closed) await this.#windowReport(w, (hostId) => drainReport(m, hostId, ctx, index, true), now);
    for (const { value: h } of draining) {
      const next = nextReport(h, drainReport(m, h.id, ctx, index), now);
      if (!next) continue;
      const key = hostKey(h.id);
      const r = await this.#o.store.txn({
        compare: [{ key, target: "modRevision", op: "==", value: m.modRevision(key) }],
        success: [{ type: "put", key, value: Kinds.host.encode({ ...h, drain: next }) }],
      });
      if (r.succeeded) {
        this.#o.log.info({ host: h.name, blocked: next.blocked.map((b) => `${b.job}: ${b.reason}`), acted: next.actedAt }, "drain report");
        await m.waitFor(r.revision);
      }
    }
  }
}
