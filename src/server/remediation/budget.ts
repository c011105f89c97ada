// The remediation budget, pure: may one more host be taken into remediation now? At most `maxHosts`
// hosts at once, at most `maxDomainPct` of any failure domain (rack, cluster, datacenter, region),
// and at most `rateCount` hosts taken per `ratePerMs`. Tested by tables (budget.test.ts) and checked
// at every step of the bench (bench/remediation.ts).
import { domainKey } from "../../model/index.ts";
import type { FailureDomain } from "../../model/index.ts";
import type { RemediationBudget } from "./config.ts";

/** The levels whose share the budget bounds, smallest first. */
export const BudgetLevels = ["rack", "cluster", "datacenter", "region"] as const;
/** One budget level. */
export type BudgetLevel = (typeof BudgetLevels)[number];

/** Why the budget refuses: the limit that holds. */
export type BudgetLimit = "hosts" | "domain" | "rate";

/** The key of a domain at a level (a region is its own key). */
export function levelKey(d: FailureDomain, level: BudgetLevel): string {
  return level === "region" ? d.region : domainKey(d, level);
}

/** How many hosts of a domain of `size` hosts may be under remediation: the floored share, but at
 * least one (a broken host must be fixable even in a two-host rack; maxHosts bounds the total). */
export function domainAllowance(size: number, pct: number): number {
  if (pct <= 0) return 0;
  return Math.max(1, Math.floor((size * pct) / 100));
}

/** What the budget is measured against: every host's domain, the hosts under remediation now, and
 * when hosts were taken in (epoch ms). */
export class BudgetState {
  readonly #budget: RemediationBudget;
  readonly #sizes = new Map<string, number>();
  readonly #held = new Map<string, number>();
  readonly #taken: number[];
  #count = 0;

  constructor(budget: RemediationBudget, domains: Iterable<FailureDomain>, held: Iterable<FailureDomain>, takenAt: readonly number[]) {
    this.#budget = budget;
    for (const d of domains) for (const l of BudgetLevels) this.#sizes.set(`${l}:${levelKey(d, l)}`, (this.#sizes.get(`${l}:${levelKey(d, l)}`) ?? 0) + 1);
    for (const d of held) this.#add(d);
    this.#taken = [...takenAt];
  }

  /** Hosts under remediation now. */
  get held(): number {
    return this.#count;
  }

  /** Null when a host of domain `d` may be taken at `now`, else the limit that holds. */
  refuse(d: FailureDomain, now: number): BudgetLimit | null {
    if (this.#count + 1 > this.#budget.maxHosts) return "hosts";
    for (const l of BudgetLevels) {
      const k = `${l}:${levelKey(d, l)}`;
      if ((this.#held.get(k) ?? 0) + 1 > domainAllowance(this.#sizes.get(k) ?? 1, this.#budget.maxDomainPct)) return "domain";
    }
    const since = now - this.#budget.ratePerMs;
    if (this.#taken.filter((t) => t > since).length + 1 > this.#budget.rateCount) return "rate";
    return null;
  }

  /** Takes a host of domain `d` at `now` (after `refuse` said null). */
  take(d: FailureDomain, now: number): void {
    this.#add(d);
    this.#taken.push(now);
  }

  /** A host left remediation. */
  release(d: FailureDomain): void {
    this.#count--;
    for (const l of BudgetLevels) {
      const k = `${l}:${levelKey(d, l)}`;
      this.#held.set(k, (this.#held.get(k) ?? 1) - 1);
    }
  }

  /** True when nothing is over the budget (the bench and tests check it after every step). */
  within(): boolean {
    if (this.#count > this.#budget.maxHosts) return false;
    for (const [k, n] of this.#held) if (n > domainAllowance(this.#sizes.get(k) ?? 1, this.#budget.maxDomainPct)) return false;
    return true;
  }

  #add(d: FailureDomain): void {
    this.#count++;
    for (const l of BudgetLevels) {
      const k = `${l}:${levelKey(d, l)}`;
      this.#held.set(k, (this.#held.get(k) ?? 0) + 1);
    }
  }
}
