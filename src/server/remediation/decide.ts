// What remediation does next, pure: from the failing checks, the records in force, the rules and the
// budget, the decisions of one pass (open, escalate, resolve, end) and the budget alert. The
// controller (controller.ts) writes them; the bench (bench/remediation.ts) runs this at 10,000 hosts.
import type { FailureDomain, Remediation, RemediationAction } from "../../model/index.ts";
import { BudgetState } from "./budget.ts";
import type { BudgetLimit } from "./budget.ts";
import { ruleFor } from "./config.ts";
import type { RemediationConfig } from "./config.ts";

/** A host as remediation sees it. */
export interface RemediationHost {
  id: string;
  name: string;
  domain: FailureDomain;
  /** Up now: a down host is the liveness code's, never taken into remediation. */
  up: boolean;
}

/** A check failing on a host now. */
export interface FailingCheck {
  hostId: string;
  check: string;
  /** Since when it fails (epoch ms). */
  since: number;
  message: string;
}

/** One pass's input. */
export interface DecideInput {
  config: RemediationConfig;
  hosts: ReadonlyMap<string, RemediationHost>;
  failing: readonly FailingCheck[];
  /** The records in state `active`. */
  active: readonly Remediation[];
  /** When hosts were taken into remediation (first non-ticket step), for the rate limit. */
  takenAt: readonly number[];
  now: number;
}

/** A new record to open. */
export interface OpenDecision {
  kind: "open";
  hostId: string;
  hostName: string;
  check: string;
  rule: string;
  step: number;
  action: RemediationAction;
  reason: string;
  command?: string[];
}

/** One decision. `resolve.undo` is what returning the host to service takes (null: nothing, or
 * another record still holds the host). */
export type Decision =
  | OpenDecision
  | { kind: "escalate"; id: string; outcome: string; next: OpenDecision }
  | { kind: "resolve"; id: string; outcome: string; undo: "undrain" | "uncordon" | null }
  | { kind: "end"; id: string; outcome: string };

/** The budget alert: hosts held back, and by which limits. */
export interface BudgetAlert {
  blocked: { hostId: string; hostName: string; check: string }[];
  limits: BudgetLimit[];
}

/** A pass's decisions, the alert (null: nothing held back) and the budget as it stands after them. */
export interface DecideOutput {
  decisions: Decision[];
  alert: BudgetAlert | null;
  budget: BudgetState;
}

const holds = (a: RemediationAction): boolean => a !== "ticket";
// Code-point order: localeCompare cost most of a pass over 10,000 failing hosts (bench/remediation.ts).
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const keyOf = (hostId: string, check: string): string => `${hostId}\u0000${check}`;

/** The decisions of one pass (see the file comment). */
export function decideRemediations(input: DecideInput): DecideOutput {
  const { config, hosts, now } = input;
  const failing = new Map(input.failing.map((f) => [keyOf(f.hostId, f.check), f]));
  const decisions: Decision[] = [];
  // What stays active after this pass, per host: which hold it, and whether a drain or cordon remains.
  const staying = new Map<string, Remediation[]>();
  const leaving: Remediation[] = [];
  const covered = new Set<string>();
  for (const r of input.active) {
    covered.add(keyOf(r.hostId, r.check));
    const f = failing.get(keyOf(r.hostId, r.check));
    if (!hosts.has(r.hostId) || f === undefined) leaving.push(r);
    else staying.set(r.hostId, [...(staying.get(r.hostId) ?? []), r]);
  }
  const heldHosts = [...staying.entries()].filter(([, rs]) => rs.some((r) => holds(r.action))).map(([id]) => id);
  const budget = new BudgetState(config.budget, [...hosts.values()].map((h) => h.domain), heldHosts.flatMap((id) => hosts.get(id)?.domain ?? []), input.takenAt, now);
  const blocked: BudgetAlert["blocked"] = [];
  const limits = new Set<BudgetLimit>();

  for (const r of leaving) {
    if (!hosts.has(r.hostId)) {
      decisions.push({ kind: "end", id: r.id, outcome: "host removed" });
      continue;
    }
    const rule = config.rules.find((x) => x.name === r.rule);
    const others = staying.get(r.hostId) ?? [];
    const stillDrained = others.some((o) => o.action === "drain");
    const stillCordoned = others.some((o) => o.action === "cordon");
    let undo: "undrain" | "uncordon" | null = null;
    if (r.changedHost === true && (rule?.returnToService ?? true)) {
      if (r.action === "drain" && !stillDrained) undo = "undrain";
      if (r.action === "cordon" && !stillCordoned && !stillDrained) undo = "uncordon";
    }
    const left = r.changedHost === true && (r.action === "drain" || r.action === "cordon") && !(rule?.returnToService ?? true);
    decisions.push({ kind: "resolve", id: r.id, outcome: `check passes again${undo ? `: ${undo === "undrain" ? "undrained" : "uncordoned"}` : left ? ": host left for a person (returnToService false)" : ""}`, undo });
  }

  const isHeld = (hostId: string): boolean => (staying.get(hostId) ?? []).some((r) => holds(r.action));
  const admit = (hostId: string, action: RemediationAction, check: string): boolean => {
    const h = hosts.get(hostId);
    if (h === undefined) return false;
    if (!holds(action) || isHeld(hostId)) return true;
    const why = budget.refuse(h.domain);
    if (why !== null) {
      blocked.push({ hostId, hostName: h.name, check });
      limits.add(why);
      return false;
    }
    budget.take(h.domain);
    return true;
  };
  const open = (r: { hostId: string; check: string; reason: string }, ruleName: string, step: number): OpenDecision | null => {
    const rule = config.rules.find((x) => x.name === ruleName);
    const action = rule?.actions[step];
    const h = hosts.get(r.hostId);
    if (rule === undefined || action === undefined || h === undefined) return null;
    return { kind: "open", hostId: r.hostId, hostName: h.name, check: r.check, rule: rule.name, step, action, reason: r.reason, ...(action === "repair" && rule.command ? { command: rule.command } : {}) };
  };
  const mark = (d: OpenDecision): void => {
    staying.set(d.hostId, [...(staying.get(d.hostId) ?? []), { id: "", hostId: d.hostId, hostName: d.hostName, check: d.check, rule: d.rule, step: d.step, action: d.action, state: "active", reason: d.reason, outcome: "", createdAt: now, updatedAt: now }]);
  };

  // Escalations first: a host already in remediation goes on before new hosts take the budget.
  for (const rs of [...staying.values()]) {
    for (const r of rs) {
      const rule = config.rules.find((x) => x.name === r.rule);
      if (rule === undefined || r.step + 1 >= rule.actions.length) continue;
      const repairFailed = r.action === "repair" && r.exitCode !== undefined && r.exitCode !== 0;
      if (!repairFailed && now - r.createdAt < rule.escalateAfterMs) continue;
      const f = failing.get(keyOf(r.hostId, r.check));
      const next = open({ hostId: r.hostId, check: r.check, reason: f?.message ?? r.reason }, rule.name, r.step + 1);
      if (next === null || !admit(r.hostId, next.action, r.check)) continue;
      const why = repairFailed ? r.outcome || `repair exited ${r.exitCode ?? "?"}` : `check still failing after ${Math.round(rule.escalateAfterMs / 1000)} s`;
      decisions.push({ kind: "escalate", id: r.id, outcome: `${why}: escalated to ${next.action}`, next });
      mark(next);
    }
  }

  const fresh = input.failing.filter((f) => !covered.has(keyOf(f.hostId, f.check))).sort((a, b) => a.since - b.since || cmp(a.hostId, b.hostId) || cmp(a.check, b.check));
  for (const f of fresh) {
    const rule = ruleFor(config.rules, f.check);
    const h = hosts.get(f.hostId);
    if (rule === null || h === undefined || !h.up || now - f.since < rule.forMs) continue;
    const d = open({ hostId: f.hostId, check: f.check, reason: f.message }, rule.name, 0);
    if (d === null || !admit(f.hostId, d.action, f.check)) continue;
    decisions.push(d);
    mark(d);
  }
  return { decisions, alert: blocked.length > 0 ? { blocked, limits: [...limits].sort() } : null, budget };
}
