// The remediation decisions and the budget, by tables; and a simulated fleet where a check fails
// everywhere, with the budget checked after every pass.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Remediation } from "../../model/index.ts";
import { domainAllowance } from "./budget.ts";
import { parseRemediationConfig, ruleFor } from "./config.ts";
import type { RemediationConfig } from "./config.ts";
import { decideRemediations } from "./decide.ts";
import type { DecideInput, FailingCheck, RemediationHost } from "./decide.ts";

const cfg = (yaml: string): RemediationConfig => parseRemediationConfig(yaml, "test.yaml");
const base = cfg(`
rules:
  - {name: scripts, checks: ["custom:*"], actions: [drain, ticket], escalateAfterMs: 1000}
  - {name: disk, checks: [disk], actions: [repair, repair, cordon], command: [/usr/local/bin/clean-disk], forMs: 500}
  - {name: clock, checks: [clock], actions: [ticket]}
budget: {maxHosts: 2, maxDomainPct: 50, rateCount: 10, ratePerMs: 60000}
`);
const host = (id: string, rack = "r1", up = true): RemediationHost => ({ id, name: id, up, domain: { region: "eu", datacenter: "d1", cluster: "c1", rack } });
const hosts = (...hs: RemediationHost[]) => new Map(hs.map((h) => [h.id, h]));
const fail = (hostId: string, check = "custom:ecc", since = 0): FailingCheck => ({ hostId, check, since, message: `${check} fails on ${hostId}` });
const rec = (hostId: string, over: Partial<Remediation> = {}): Remediation => ({
  id: `r-${hostId}`, hostId, hostName: hostId, check: "custom:ecc", rule: "scripts", step: 0, action: "drain", state: "active", reason: "", outcome: "", createdAt: 0, updatedAt: 0, changedHost: true, ...over,
});
const input = (over: Partial<DecideInput>): DecideInput => ({ config: base, hosts: hosts(host("a"), host("b"), host("c"), host("d")), failing: [], active: [], takenAt: [], now: 100, ...over });
const summary = (i: DecideInput): string[] => {
  const out = decideRemediations(i);
  const lines: string[] = out.decisions.map((d) => {
    switch (d.kind) {
      case "open": return `open ${d.hostId} ${d.check} ${d.action}#${d.step}`;
      case "escalate": return `escalate ${d.id} -> ${d.next.action}#${d.next.step}`;
      case "resolve": return `resolve ${d.id} ${d.undo ?? "-"}`;
      case "end": return `end ${d.id}`;
    }
  });
  if (out.alert) lines.push(`alert ${out.alert.blocked.map((b) => b.hostId).join(",")} [${out.alert.limits.join(",")}]`);
  assert.ok(out.budget.within(), "the budget holds after the pass");
  return lines;
};

const cases: { name: string; in: Partial<DecideInput>; want: string[] }[] = [
  { name: "nothing failing: nothing done", in: {}, want: [] },
  { name: "a failing check with a rule opens its first action", in: { failing: [fail("a")] }, want: ["open a custom:ecc drain#0"] },
  { name: "a check no rule covers is left alone", in: { failing: [fail("a", "inodes")] }, want: [] },
  { name: "forMs: a check failing for less is not acted on yet", in: { failing: [fail("a", "disk", 0)], now: 400 }, want: [] },
  { name: "forMs: failing long enough, repair", in: { failing: [fail("a", "disk", 0)], now: 600 }, want: ["open a disk repair#0"] },
  { name: "a down host is not taken", in: { hosts: hosts(host("a", "r1", false), host("b")), failing: [fail("a")] }, want: [] },
  { name: "maxHosts: every host failing takes 2 of 4, then the alert", in: { hosts: hosts(host("a", "r1"), host("b", "r2"), host("c", "r3"), host("d", "r4")), config: cfg("rules: [{name: s, checks: ['custom:*'], actions: [drain]}]\nbudget: {maxHosts: 2, maxDomainPct: 100}"), failing: ["a", "b", "c", "d"].map((h) => fail(h)) }, want: ["open a custom:ecc drain#0", "open b custom:ecc drain#0", "alert c,d [hosts]"] },
  { name: "longest failing first", in: { failing: [fail("a", "custom:x", 50), fail("b", "custom:x", 10), fail("c", "custom:x", 30)] }, want: ["open b custom:x drain#0", "open c custom:x drain#0", "alert a [hosts]"] },
  { name: "domain share: 50% of a 4-host rack is 2, of which 1 is held", in: { failing: [fail("b"), fail("c")], active: [rec("a", { check: "custom:old" })] , config: cfg("rules: [{name: scripts, checks: ['custom:*'], actions: [drain]}]\nbudget: {maxHosts: 10, maxDomainPct: 50}") }, want: ["resolve r-a undrain", "open b custom:ecc drain#0", "open c custom:ecc drain#0"] },
  { name: "domain share holds while the held host still fails", in: { failing: [fail("a", "custom:old"), fail("b"), fail("c")], active: [rec("a", { check: "custom:old" })], config: cfg("rules: [{name: scripts, checks: ['custom:*'], actions: [drain]}]\nbudget: {maxHosts: 10, maxDomainPct: 50}") }, want: ["open b custom:ecc drain#0", "alert c [domain]"] },
  { name: "rate: two taken in the window already, rateCount 2", in: { failing: [fail("a")], config: cfg("rules: [{name: s, checks: ['custom:*'], actions: [drain]}]\nbudget: {maxHosts: 10, maxDomainPct: 100, rateCount: 2, ratePerMs: 1000}"), takenAt: [50, 60] }, want: ["alert a [rate]"] },
  { name: "rate: the window has passed", in: { failing: [fail("a")], config: cfg("rules: [{name: s, checks: ['custom:*'], actions: [drain]}]\nbudget: {maxHosts: 10, maxDomainPct: 100, rateCount: 2, ratePerMs: 1000}"), takenAt: [50, 60], now: 2000 }, want: ["open a custom:ecc drain#0"] },
  { name: "tickets need no budget", in: { failing: ["a", "b", "c", "d"].map((h) => fail(h, "clock")) }, want: ["open a clock ticket#0", "open b clock ticket#0", "open c clock ticket#0", "open d clock ticket#0"] },
  { name: "maxHosts 0: nothing but tickets", in: { failing: [fail("a"), fail("b", "clock")], config: cfg("rules: [{name: s, checks: ['custom:*'], actions: [drain]}, {name: c, checks: [clock], actions: [ticket]}]\nbudget: {maxHosts: 0}") }, want: ["open b clock ticket#0", "alert a [hosts]"] },
  { name: "a second check on a held host needs no more budget", in: { failing: [fail("a"), fail("a", "custom:y"), fail("b"), fail("c")], active: [rec("a"), rec("b", { id: "r-b" })] }, want: ["open a custom:y drain#0", "alert c [hosts]"] },
  { name: "check passes again: resolve and undrain", in: { active: [rec("a")] }, want: ["resolve r-a undrain"] },
  { name: "passes again but the host was draining before: not undrained", in: { active: [rec("a", { changedHost: false })] }, want: ["resolve r-a -"] },
  { name: "passes again, another drain still holds the host: not undrained", in: { active: [rec("a"), rec("a", { id: "r-a2", check: "custom:y" })], failing: [fail("a", "custom:y")] }, want: ["resolve r-a -"] },
  { name: "returnToService false: resolved, left drained", in: { active: [rec("a", { rule: "keep" })], config: cfg("rules: [{name: keep, checks: ['custom:*'], actions: [drain], returnToService: false}]") }, want: ["resolve r-a -"] },
  { name: "host removed: the record ends", in: { active: [rec("x")] }, want: ["end r-x"] },
  { name: "still failing past escalateAfterMs: next step", in: { active: [rec("a")], failing: [fail("a")], now: 1500 }, want: ["escalate r-a -> ticket#1"] },
  { name: "still failing within escalateAfterMs: wait", in: { active: [rec("a")], failing: [fail("a")], now: 900 }, want: [] },
  { name: "last step: stays", in: { active: [rec("a", { step: 1, action: "ticket" })], failing: [fail("a")], now: 99_999 }, want: [] },
  { name: "a failed repair escalates at once (retry by a repeated step)", in: { active: [rec("a", { check: "disk", rule: "disk", action: "repair", exitCode: 1 })], failing: [fail("a", "disk")], now: 10 }, want: ["escalate r-a -> repair#1"] },
  { name: "a repair still running waits", in: { active: [rec("a", { check: "disk", rule: "disk", action: "repair" })], failing: [fail("a", "disk")], now: 10 }, want: [] },
  { name: "escalating a ticket to a drain needs budget", in: { active: [rec("a", { rule: "t", action: "ticket" })], failing: [fail("a")], now: 10, config: cfg("rules: [{name: t, checks: ['custom:*'], actions: [ticket, drain], escalateAfterMs: 0}]\nbudget: {maxHosts: 0}") }, want: ["alert a [hosts]"] },
];

for (const c of cases) void test(c.name, () => assert.deepEqual(summary(input(c.in)), c.want));

void test("domain allowance: floored share, at least one, none at 0%", () => {
  const rows: [number, number, number][] = [[1, 10, 1], [2, 50, 1], [10, 10, 1], [100, 10, 10], [25, 10, 2], [1000, 0, 0], [7, 100, 7]];
  for (const [size, pct, want] of rows) assert.equal(domainAllowance(size, pct), want, `${pct}% of ${size}`);
});

void test("rules: first match, prefixes, a repair needs its command", () => {
  assert.equal(ruleFor(base.rules, "custom:anything")?.name, "scripts");
  assert.equal(ruleFor(base.rules, "disk")?.name, "disk");
  assert.equal(ruleFor(base.rules, "diskx"), null);
  assert.throws(() => cfg("rules: [{name: r, checks: [disk], actions: [repair]}]"), /rules\[0\]\.command: rule "r" has a repair action but no command/);
  assert.throws(() => cfg("rules: [{name: r, checks: [disk], actions: [reboot]}]"), /rules\[0\]\.actions\[0\]/);
  assert.throws(() => cfg("budget: {maxHost: 3}"), /budget/);
});

void test("a check failing on all 40 hosts of 4 racks: held within the budget at every pass, then one by one as hosts recover", () => {
  // Racks of consecutive hosts: the hosts failing longest (h0, h1, h10...) crowd into few racks.
  const fleet = hosts(...Array.from({ length: 40 }, (_, i) => host(`h${i}`, `r${Math.floor(i / 10)}`)));
  const config = cfg("rules: [{name: s, checks: ['custom:*'], actions: [drain]}]\nbudget: {maxHosts: 5, maxDomainPct: 20, rateCount: 1000}");
  let active: Remediation[] = [];
  let failing = [...fleet.keys()].map((h) => fail(h));
  for (let pass = 0; pass < 30; pass++) {
    const out = decideRemediations({ config, hosts: fleet, failing, active, takenAt: [], now: pass });
    assert.ok(out.budget.within(), `pass ${pass}`);
    const resolved = new Set(out.decisions.flatMap((d) => (d.kind === "resolve" ? [d.id] : [])));
    active = active.filter((r) => !resolved.has(r.id));
    for (const d of out.decisions) if (d.kind === "open") active.push(rec(d.hostId, { id: `r-${d.hostId}-${pass}` }));
    assert.ok(active.length <= 5, `pass ${pass}: ${active.length} hosts held`);
    const perRack = new Map<string, number>();
    for (const r of active) perRack.set(fleet.get(r.hostId)!.domain.rack, (perRack.get(fleet.get(r.hostId)!.domain.rack) ?? 0) + 1);
    for (const [rack, n] of perRack) assert.ok(n <= 2, `pass ${pass}: rack ${rack} has ${n} of 10 held (20%)`);
    if (pass === 0) assert.equal(out.alert?.blocked.length, 35);
    // The held hosts are repaired by the next pass: their check passes again.
    const fixed = new Set(active.map((r) => r.hostId));
    failing = failing.filter((f) => !fixed.has(f.hostId));
  }
  assert.equal(failing.length, 0, "every host was remediated in turn");
});
