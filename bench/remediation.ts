// Remediation decisions at fleet scale (issue 16): 10,000 simulated hosts (5 datacenters x 4 clusters
// x 25 racks x 20 hosts) running 1,000 jobs (10,000 tasks, spread over the fleet), 5% of the hosts
// with a failing check. Each pass is the leader controller's pure decision (src/server/remediation/
// decide.ts) over the whole fleet; a simulated minute passes between passes, and a remediated host is
// fixed (its check passes) `--fix-after` passes after it was taken. After EVERY pass the budget is
// recounted here, independently of BudgetState (hosts at once, share of every rack, cluster,
// datacenter and region, rate), and the bench fails if it was ever exceeded. A second run makes the
// check fail on every host at once (a bad check): remediation must stop at the budget and alert.
//
// Rerun: node bench/remediation.ts [--hosts 10000] [--failing 0.05] [--jobs 1000] [--fix-after 5]
import { parseArgs } from "node:util";
import type { Remediation } from "../src/model/index.ts";
import { domainAllowance, BudgetLevels, levelKey } from "../src/server/remediation/budget.ts";
import { parseRemediationConfig } from "../src/server/remediation/config.ts";
import { decideRemediations } from "../src/server/remediation/decide.ts";
import type { FailingCheck, RemediationHost } from "../src/server/remediation/decide.ts";

const { values } = parseArgs({ options: { hosts: { type: "string", default: "10000" }, failing: { type: "string", default: "0.05" }, jobs: { type: "string", default: "1000" }, "fix-after": { type: "string", default: "5" } } });
const nHosts = Number(values.hosts);
const share = Number(values.failing);
const nJobs = Number(values.jobs);
const fixAfter = Number(values["fix-after"]);
const minute = 60_000;

const config = parseRemediationConfig(`
rules:
  - {name: hardware, checks: ["custom:*", disk, inodes], actions: [drain, ticket], escalateAfterMs: 3600000}
  - {name: clock, checks: [clock], actions: [ticket]}
budget: {maxHosts: 100, maxDomainPct: 10, rateCount: 200, ratePerMs: 3600000}
`, "bench");

const hosts = new Map<string, RemediationHost>();
for (let i = 0; i < nHosts; i++) {
  const rack = Math.floor(i / 20);
  const cluster = Math.floor(rack / 25);
  const dc = Math.floor(cluster / 4);
  hosts.set(`h${i}`, { id: `h${i}`, name: `host-${i}`, up: true, domain: { region: "eu", datacenter: `dc${dc}`, cluster: `c${cluster}`, rack: `r${rack}` } });
}
// 1,000 jobs of 10 tasks, each task on a host chosen by a fixed stride (a spread placement).
const tasksOn = new Map<string, string[]>();
for (let j = 0; j < nJobs; j++) for (let t = 0; t < 10; t++) {
  const h = `h${(j * 7919 + t * 1009) % nHosts}`;
  tasksOn.set(h, [...(tasksOn.get(h) ?? []), `job-${j}`]);
}

/** Recounts the budget from the records (not through BudgetState): null when it holds, else what broke. */
function overBudget(active: readonly Remediation[], takenAt: readonly number[], now: number): string | null {
  const held = new Set(active.filter((r) => r.action !== "ticket").map((r) => r.hostId));
  if (held.size > config.budget.maxHosts) return `${held.size} hosts held > ${config.budget.maxHosts}`;
  for (const level of BudgetLevels) {
    const size = new Map<string, number>();
    const inRem = new Map<string, number>();
    for (const h of hosts.values()) size.set(levelKey(h.domain, level), (size.get(levelKey(h.domain, level)) ?? 0) + 1);
    for (const id of held) {
      const k = levelKey(hosts.get(id)!.domain, level);
      inRem.set(k, (inRem.get(k) ?? 0) + 1);
    }
    for (const [k, n] of inRem) if (n > domainAllowance(size.get(k)!, config.budget.maxDomainPct)) return `${level} ${k}: ${n} held of ${size.get(k)}`;
  }
  const recent = takenAt.filter((t) => t > now - config.budget.ratePerMs).length;
  if (recent > config.budget.rateCount) return `${recent} taken in the rate window > ${config.budget.rateCount}`;
  return null;
}

function run(label: string, failingHosts: string[], maxPasses: number): void {
  let now = 1_800_000_000_000;
  const failing = new Map<string, FailingCheck>(failingHosts.map((h) => [h, { hostId: h, check: "custom:ecc", since: now - minute, message: "ECC errors" }]));
  let active: Remediation[] = [];
  const takenAt: number[] = [];
  let decisions = 0;
  let judged = 0;
  let decideMs = 0;
  let passes = 0;
  let worstHeld = 0;
  let worstTasksDisplaced = 0;
  let worstJobShare = 0;
  let alertPasses = 0;
  let seq = 0;
  const fixedAt = new Map<string, number>();
  for (; passes < maxPasses && (failing.size > 0 || active.length > 0); passes++) {
    const t0 = performance.now();
    const out = decideRemediations({ config, hosts, failing: [...failing.values()], active, takenAt, now });
    decideMs += performance.now() - t0;
    decisions += out.decisions.length;
    judged += failing.size + active.length;
    if (out.alert) alertPasses++;
    const gone = new Set(out.decisions.flatMap((d) => (d.kind === "resolve" || d.kind === "end" ? [d.id] : d.kind === "escalate" ? [d.id] : [])));
    active = active.filter((r) => !gone.has(r.id));
    for (const d of out.decisions) {
      const o = d.kind === "open" ? d : d.kind === "escalate" ? d.next : null;
      if (o === null) continue;
      if (d.kind === "open" && o.action !== "ticket" && !active.some((r) => r.hostId === o.hostId && r.action !== "ticket")) takenAt.push(now);
      active.push({ id: `r${seq++}`, hostId: o.hostId, hostName: o.hostName, check: o.check, rule: o.rule, step: o.step, action: o.action, state: "active", reason: o.reason, outcome: "", createdAt: now, updatedAt: now, changedHost: true });
      if (!fixedAt.has(o.hostId)) fixedAt.set(o.hostId, now + fixAfter * minute);
    }
    const broke = overBudget(active, takenAt, now);
    if (broke !== null) throw new Error(`${label}: budget exceeded at pass ${passes}: ${broke}`);
    const held = active.filter((r) => r.action !== "ticket").map((r) => r.hostId);
    worstHeld = Math.max(worstHeld, new Set(held).size);
    const displaced = held.flatMap((h) => tasksOn.get(h) ?? []);
    worstTasksDisplaced = Math.max(worstTasksDisplaced, displaced.length);
    const perJob = new Map<string, number>();
    for (const j of displaced) perJob.set(j, (perJob.get(j) ?? 0) + 1);
    worstJobShare = Math.max(worstJobShare, ...[...perJob.values()].map((n) => n / 10), 0);
    now += minute;
    // Hosts whose repair is done pass their check again.
    for (const [h, at] of fixedAt) if (at <= now) {
      failing.delete(h);
      fixedAt.delete(h);
    }
  }
  console.log(`${label}: ${failingHosts.length} failing hosts of ${nHosts}, ${nJobs} jobs; ${passes} passes (simulated minutes), ${decisions} decisions`);
  console.log(`  decide: ${(decideMs / passes).toFixed(2)} ms a pass over the fleet (${Math.round(passes / (decideMs / 1000))} passes/s); ${Math.round(judged / (decideMs / 1000))} failing checks and records judged/s; ${Math.round(decisions / (decideMs / 1000))} actions decided/s`);
  console.log(`  budget held at every pass: at most ${worstHeld} hosts at once (max ${config.budget.maxHosts}); passes with the alert raised: ${alertPasses}; still failing at the end: ${failing.size}`);
  console.log(`  tasks on remediated hosts at once: at most ${worstTasksDisplaced}; largest share of one job's tasks on them: ${(worstJobShare * 100).toFixed(0)}%`);
}

const hostIds = [...hosts.keys()];
// A deterministic 5%: every 20th host, shifted so racks differ.
run("5% failing", hostIds.filter((_, i) => (i * 37) % Math.round(1 / share) === 0), 10_000);
run("check failing everywhere", hostIds, 30);
