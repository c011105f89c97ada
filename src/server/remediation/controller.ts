// The remediation controller: while this server leads, every pass reads the hosts' machine checks
// (`/checks/`) and the remediation records (`/remediations/`), asks decide.ts what to do within the
// budget, and writes it: a record per action, with the host's drain or cordon (host-flags.ts, the
// drain `tiffin drain` does) in the same transaction, so a record never claims a drain that did not
// happen. The budget alert is `/remediationalert`, set while failing hosts wait on the budget.
// Passes run on a tick and when the mirror shows a change of checks, records or hosts; writes go
// through the leader's fenced store (a deposed leader's writes fail).
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { Gauge, Counter } from "prom-client";
import type { Registry } from "prom-client";
import type { Clock, HostStatus, Remediation, RemediationAlert } from "../../model/index.ts";
import type { Compare, KeyValue, Op, Store } from "../../state/store.ts";
import { hostFlagsWrite } from "../host-flags.ts";
import { decodeOne, Kinds, Prefix } from "../kinds.ts";
import type { Mirror } from "../mirror.ts";
import { PassLoop } from "../pass-loop.ts";
import type { ChecksCache } from "./checks-store.ts";
import type { RemediationConfig } from "./config.ts";
import { decideRemediations } from "./decide.ts";
import type { BudgetAlert, Decision, FailingCheck, OpenDecision, RemediationHost } from "./decide.ts";

/** How often a pass runs without a change. */
export const RemediationTickMs = 1000;
/** Records kept that are no longer active (the oldest beyond this are deleted). */
export const KeptRemediations = 1000;

/** Options of the RemediationController. */
export interface RemediationControllerOptions {
  store: Store;
  mirror: Mirror;
  clock: Clock;
  log: Logger;
  config: RemediationConfig;
  hostStatus: (hostId: string) => HostStatus;
  active: () => boolean;
  /** The hosts' checks (shared with GET /v1/hosts). */
  checks: ChecksCache;
  /** Where the remediation metrics are registered. */
  registry: Registry;
  /** @default RemediationTickMs */
  tickMs?: number;
}

/** A new record id: creation time first, so ids (and keys) sort in creation order. */
export function remediationId(now: number): string {
  return `${String(now).padStart(13, "0")}-${randomBytes(4).toString("hex")}`;
}

/** Runs remediation (see the file comment). */
export class RemediationController {
  readonly #o: RemediationControllerOptions;
  readonly #loop: PassLoop;
  readonly #gauges: { exhausted: Gauge; blocked: Gauge; active: Gauge; actions: Counter };

  constructor(o: RemediationControllerOptions) {
    this.#o = o;
    this.#loop = new PassLoop({
      mirror: o.mirror,
      clock: o.clock,
      pass: () => this.#pass(),
      onError: (err) => o.log.warn({ err }, "remediation pass failed; trying again"),
      active: o.active,
      wants: (changes) => changes.some((c) => c.kind === "host" || c.kind === "alive" || c.key.startsWith(Prefix.hostChecks)),
      tickMs: o.tickMs ?? RemediationTickMs,
    });
    const registers = [o.registry];
    this.#gauges = {
      exhausted: new Gauge({ name: "tiffin_remediation_budget_exhausted", help: "1 while failing hosts wait because the remediation budget is spent (the leader's view)", registers }),
      blocked: new Gauge({ name: "tiffin_remediation_blocked_hosts", help: "Hosts with a failing check a rule covers, held back by the remediation budget", registers }),
      active: new Gauge({ name: "tiffin_remediation_hosts", help: "Hosts under remediation now (any action but ticket)", registers }),
      actions: new Counter({ name: "tiffin_remediation_actions_total", help: "Remediation actions taken, by action", labelNames: ["action"], registers }),
    };
  }

  /** Starts following the mirror and ticking. */
  start(): void {
    this.#loop.start();
  }

  /** Asks for a pass (coalesced). */
  trigger(): void {
    this.#loop.trigger();
  }

  /** Runs a pass now; resolves when done. */
  run(): Promise<void> {
    return this.#loop.run();
  }

  /** Stops; resolves once a running pass is done. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  async #pass(): Promise<void> {
    const { store, mirror: m, config, log } = this.#o;
    const now = this.#o.clock.now();
    const [checks, recs, reps] = await Promise.all([this.#o.checks.all(), store.range(Prefix.remediations), store.range(Prefix.repairs)]);
    const repairs = new Map<string, KeyValue>();
    for (const kv of reps.kvs) {
      const v = decodeOne(Kinds.repair, kv, log);
      if (v !== null) repairs.set(v.id, kv);
    }
    const records = new Map<string, { value: Remediation; kv: KeyValue }>();
    for (const kv of recs.kvs) {
      const v = decodeOne(Kinds.remediation, kv, log);
      if (v !== null) records.set(v.id, { value: v, kv });
    }
    const hosts = new Map<string, RemediationHost>();
    for (const [id, e] of m.hosts) hosts.set(id, { id, name: e.value.name, domain: e.value.domain, up: this.#o.hostStatus(id) === "up" });
    const failing: FailingCheck[] = [];
    for (const hc of checks) {
      if (!hosts.has(hc.hostId)) continue;
      for (const c of Object.values(hc.checks)) if (c.status === "fail") failing.push({ hostId: hc.hostId, check: c.name, since: c.since, message: c.message });
    }
    const all = [...records.values()].map((r) => r.value);
    const active = all.filter((r) => r.state === "active");
    const takenAt = all.filter((r) => r.step === 0 && r.action !== "ticket" && r.createdAt > now - config.budget.ratePerMs).map((r) => r.createdAt);
    const out = config.rules.length === 0 ? { decisions: [], alert: null, budget: null } : decideRemediations({ config, hosts, failing, active, takenAt, now });
    for (const d of out.decisions) {
      const w = this.#write(d, records, repairs, now);
      if (w === null) continue;
      const r = await store.txn(w);
      if (!r.succeeded) {
        this.#loop.again();
        break;
      }
      if (d.kind === "open") this.#gauges.actions.inc({ action: d.action });
      if (d.kind === "escalate") this.#gauges.actions.inc({ action: d.next.action });
      log.info({ decision: d.kind, id: "id" in d ? d.id : undefined, host: d.kind === "open" ? d.hostName : undefined, action: d.kind === "open" ? d.action : undefined, check: d.kind === "open" ? d.check : undefined }, "remediation");
      await m.waitFor(r.revision);
    }
    await this.#writeAlert(out.alert, hosts, now);
    await this.#prune(all);
    this.#gauges.active.set(out.budget?.held ?? 0);
    this.#gauges.exhausted.set(out.alert ? 1 : 0);
    this.#gauges.blocked.set(out.alert?.blocked.length ?? 0);
  }

  /** The transaction of one decision, or null when its record is gone. */
  #write(d: Decision, records: Map<string, { value: Remediation; kv: KeyValue }>, repairs: Map<string, KeyValue>, now: number): { compare: Compare[]; success: Op[] } | null {
    const m = this.#o.mirror;
    const compare: Compare[] = [];
    const success: Op[] = [];
    const update = (id: string, patch: Partial<Remediation>): boolean => {
      const r = records.get(id);
      if (!r) return false;
      // A repair that is over (resolved, escalated, ended) is not to be run any more.
      const req = repairs.get(id);
      if (req !== undefined) {
        compare.push({ key: req.key, target: "modRevision", op: "==", value: req.modRevision });
        success.push({ type: "delete", key: req.key });
      }
      compare.push({ key: r.kv.key, target: "modRevision", op: "==", value: r.kv.modRevision });
      success.push({ type: "put", key: r.kv.key, value: Kinds.remediation.encode({ ...r.value, ...patch, updatedAt: now }) });
      return true;
    };
    const open = (o: OpenDecision): string => {
      const id = remediationId(now);
      let outcome = "open for a person";
      let changedHost = false;
      if (o.action === "drain" || o.action === "cordon") {
        const hw = hostFlagsWrite(m, o.hostId, o.action === "drain" ? { draining: true } : { unschedulable: true });
        changedHost = hw !== null;
        if (hw) {
          compare.push(...hw.compare);
          success.push(...hw.success);
        }
        outcome = o.action === "drain" ? (changedHost ? "drained" : "was draining already") : changedHost ? "cordoned: takes no new tasks" : "was unschedulable already";
      } else if (o.action === "repair" && o.command) {
        outcome = "repair command sent to the host's agent";
        const timeoutMs = this.#o.config.rules.find((r) => r.name === o.rule)?.commandTimeoutMs ?? 300_000;
        // One repair at a time per host: a newer one replaces a request not yet run (the older record escalates by time).
        success.push({ type: "put", key: Kinds.repair.key(o.hostId), value: Kinds.repair.encode({ id, command: o.command, timeoutMs }) });
      }
      const rec: Remediation = {
        id, hostId: o.hostId, hostName: o.hostName, check: o.check, rule: o.rule, step: o.step, action: o.action, state: "active",
        reason: o.reason, outcome, createdAt: now, updatedAt: now, changedHost, ...(o.command ? { command: o.command } : {}),
      };
      const key = Kinds.remediation.key(id);
      compare.push({ key, target: "createRevision", op: "==", value: 0 });
      success.push({ type: "put", key, value: Kinds.remediation.encode(rec) });
      return id;
    };
    switch (d.kind) {
      case "open":
        open(d);
        break;
      case "escalate": {
        const id = open(d.next);
        if (!update(d.id, { state: "failed", outcome: d.outcome, escalatedTo: id })) return null;
        break;
      }
      case "resolve": {
        const r = records.get(d.id);
        if (!r || !update(d.id, { state: "resolved", outcome: d.outcome })) return null;
        if (d.undo !== null) {
          const hw = hostFlagsWrite(m, r.value.hostId, d.undo === "undrain" ? { draining: false } : { unschedulable: false });
          if (hw) {
            compare.push(...hw.compare);
            success.push(...hw.success);
          }
        }
        break;
      }
      case "end":
        if (!update(d.id, { state: "ended", outcome: d.outcome })) return null;
        break;
    }
    return { compare, success };
  }

  async #writeAlert(alert: BudgetAlert | null, hosts: Map<string, RemediationHost>, now: number): Promise<void> {
    const key = Kinds.remediationAlert.key();
    const kv = await this.#o.store.get(key);
    const stored = decodeOne(Kinds.remediationAlert, kv, this.#o.log);
    if (alert === null) {
      if (kv !== null) await this.#o.store.txn({ compare: [{ key, target: "modRevision", op: "==", value: kv.modRevision }], success: [{ type: "delete", key }] });
      return;
    }
    const next: RemediationAlert = {
      blocked: alert.blocked,
      limits: alert.limits,
      since: stored?.since ?? now,
      message: `remediation budget spent: ${alert.blocked.length} failing host${alert.blocked.length === 1 ? "" : "s"} held back (${alert.limits.join(", ")} limit) of ${hosts.size}; automation stops here: look at the check (\`tiffin remediations\`)`,
    };
    if (stored !== null && JSON.stringify({ ...stored, since: 0 }) === JSON.stringify({ ...next, since: 0 })) return;
    if (stored === null) this.#o.log.warn({ blocked: alert.blocked.length, limits: alert.limits }, "remediation budget spent: failing hosts held back");
    await this.#o.store.txn({ compare: [kv === null ? { key, target: "createRevision", op: "==", value: 0 } : { key, target: "modRevision", op: "==", value: kv.modRevision }], success: [{ type: "put", key, value: Kinds.remediationAlert.encode(next) }] });
  }

  async #prune(all: readonly Remediation[]): Promise<void> {
    const done = all.filter((r) => r.state !== "active");
    if (done.length <= KeptRemediations) return;
    const old = done.slice(0, done.length - KeptRemediations);
    for (let i = 0; i < old.length; i += 100) {
      await this.#o.store.txn({ compare: [], success: old.slice(i, i + 100).map((r) => ({ type: "delete", key: Kinds.remediation.key(r.id) })) });
    }
  }
}
