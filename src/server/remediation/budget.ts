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

/** The keys of a domain at every budget level, smallest first (one string built per level). */
function levelKeys(d: FailureDomain): string[] {
  const dc = `${d.region}/${d.datacenter}`;
  const cluster = `${dc}/${d.cluster}`;
  return [`rack:${cluster}/${d.rack}`, `cluster:${cluster}`, `datacenter:${dc}`, `region:${d.region}`];
}

/** What the budget is measured against: every host's domain, the hosts under remediation now, and
 * when hosts were taken in (epoch ms), as of `now`. */
export class BudgetState {
  readonly #budget: RemediationBudget;
  readonly #sizes = new Map<string, number>();
  readonly #held = new Map<string, number>();
  #recent: number;
  #count = 0;

  constructor(budget: RemediationBudget, domains: Iterable<FailureDomain>, held: Iterable<FailureDomain>, takenAt: readonly number[], now: number) {
    this.#budget = budget;
    // Racks first (one key per host), then the larger domains from the racks: 10,000 hosts cost
    // 10,000 keys, not 40,000 (bench/remediation.ts).
    const racks = new Map<string, { d: FailureDomain; n: number }>();
    for (const d of domains) {
      const k = `${d.region}\u0000${d.datacenter}\u0000${d.cluster}\u0000${d.rack}`;
      const e = racks.get(k);
      if (e) e.n++;
      else racks.set(k, { d, n: 1 });
    }
    for (const { d, n } of racks.values()) for (const k of levelKeys(d)) this.#sizes.set(k, (this.#sizes.get(k) ?? 0) + n);
    for (const d of held) this.#add(d);
    const since = now - budget.ratePerMs;
    this.#recent = takenAt.filter((t) => t > since).length;
  }

  /** Hosts under remediation now. */
  get held(): number {
    return this.#count;
  }

  /** Null when one more host of domain `d` may be taken, else the limit that holds. */
  refuse(d: FailureDomain): BudgetLimit | null {
    if (this.#count + 1 > this.#budget.maxHosts) return "hosts";
    for (const k of levelKeys(d)) {
      if ((this.#held.get(k) ?? 0) + 1 > domainAllowance(this.#sizes.get(k) ?? 1, this.#budget.maxDomainPct)) return "domain";
    }
    if (this.#recent + 1 > this.#budget.rateCount) return "rate";
    return null;
  }

  /** Takes a host of domain `d` (after `refuse` said null). */
  take(d: FailureDomain): void {
    this.#add(d);
    this.#recent++;
  }

  /** True when nothing is over the budget (the bench and tests check it after every step). */
  within(): boolean {
    if (this.#count > this.#budget.maxHosts || this.#recent > this.#budget.rateCount) return false;
    for (const [k, n] of this.#held) if (n > domainAllowance(this.#sizes.get(k) ?? 1, this.#budget.maxDomainPct)) return false;
    return true;
  }

  #add(d: FailureDomain): void {
    this.#count++;
    for (const k of levelKeys(d)) this.#held.set(k, (this.#held.get(k) ?? 0) + 1);
  }
}
