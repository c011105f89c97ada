// The kernel mode's ruleset, rendered from services (a table of cases), then the table names of agents.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderDelete, renderRuleset, tableName } from "./nft-rules.ts";
import type { KernelService } from "./nft-rules.ts";

const T = "tiffin_0123456789ab";
const ep = (address: string, port: number): { address: string; port: number } => ({ address, port });

const cases: { name: string; services: KernelService[]; rules: string[]; kernel: string[]; relayed: string[]; post: boolean }[] = [
  { name: "no service: an empty chain", services: [], rules: [], kernel: [], relayed: [], post: false },
  {
    name: "0 endpoints: refused at once with a TCP reset",
    services: [{ service: "db", port: 20001, endpoints: [] }],
    rules: ['ip daddr 127.0.0.1 tcp dport 20001 reject with tcp reset comment "db"'],
    kernel: ["db"], relayed: [], post: false,
  },
  {
    name: "3 endpoints on loopback: round robin over a numgen map, no masquerade",
    services: [{ service: "cache", port: 20002, endpoints: [ep("127.0.0.1", 21000), ep("127.0.0.1", 21001), ep("127.0.0.2", 21002)] }],
    rules: ['ip daddr 127.0.0.1 tcp dport 20002 dnat ip addr . port to numgen inc mod 3 map { 0 : 127.0.0.1 . 21000, 1 : 127.0.0.1 . 21001, 2 : 127.0.0.2 . 21002 } comment "cache"'],
    kernel: ["cache"], relayed: [], post: false,
  },
  {
    name: "an endpoint on another host: masquerade of loopback sources and route_localnet",
    services: [{ service: "api", port: 20003, endpoints: [ep("10.1.2.3", 8080)] }],
    rules: ['ip daddr 127.0.0.1 tcp dport 20003 dnat ip addr . port to numgen inc mod 1 map { 0 : 10.1.2.3 . 8080 } comment "api"'],
    kernel: ["api"], relayed: [], post: true,
  },
  {
    name: "an IPv6 endpoint: the whole service stays with the relay",
    services: [{ service: "v6", port: 20004, endpoints: [ep("127.0.0.1", 1), ep("::1", 21003)] }],
    rules: [], kernel: [], relayed: ["v6"], post: false,
  },
  {
    name: "endpoints not known yet: the relay",
    services: [{ service: "later", port: 20005, endpoints: null }],
    rules: [], kernel: [], relayed: ["later"], post: false,
  },
  {
    name: "several services: sorted by port, each its own rule",
    services: [{ service: "b", port: 20011, endpoints: [ep("127.0.0.1", 2)] }, { service: "a", port: 20010, endpoints: [] }],
    rules: ['ip daddr 127.0.0.1 tcp dport 20010 reject with tcp reset comment "a"', 'ip daddr 127.0.0.1 tcp dport 20011 dnat ip addr . port to numgen inc mod 1 map { 0 : 127.0.0.1 . 2 } comment "b"'],
    kernel: ["a", "b"], relayed: [], post: false,
  },
];

void test("renderRuleset: one table deleted and refilled in one transaction, a rule per kernel service", () => {
  for (const c of cases) {
    const r = renderRuleset(T, c.services, "tiffin agent /var/lib/a");
    const lines = r.script.split("\n").map((l) => l.trim());
    // The same transaction creates (if missing), deletes and refills the table: no moment without it.
    assert.deepEqual(lines.slice(0, 4), [`table ip ${T} {}`, `delete table ip ${T}`, `table ip ${T} {`, 'comment "tiffin agent /var/lib/a"'], c.name);
    assert.deepEqual(lines.filter((l) => l.startsWith("ip daddr 127.0.0.1")), c.rules, c.name);
    assert.deepEqual(r.kernel, c.kernel, c.name);
    assert.deepEqual(r.relayed.map((x) => x.service), c.relayed, c.name);
    assert.equal(r.needsRouteLocalnet, c.post, c.name);
    assert.equal(lines.includes("ip saddr 127.0.0.0/8 ip daddr != 127.0.0.0/8 ct status dnat masquerade"), c.post, c.name);
    assert.ok(lines.includes("type nat hook output priority -100; policy accept;"), c.name);
  }
  assert.match(renderRuleset(T, cases[4]?.services ?? [], "x").relayed[0]?.why ?? "", /::1 is not an IPv4 address/);
});

void test("tableName: one per data dir, stable, a valid nft name; renderDelete needs no table to exist", () => {
  assert.equal(tableName("/var/lib/a"), tableName("/var/lib/a/"));
  assert.notEqual(tableName("/tmp/dev-1"), tableName("/tmp/dev-2"));
  assert.match(tableName("/x"), /^tiffin_[0-9a-f]{12}$/);
  assert.equal(renderDelete(T), `table ip ${T} {}\ndelete table ip ${T}\n`);
  // A comment never ends early, whatever the path holds.
  assert.match(renderRuleset(T, [], 'a"b').script, /comment "a_b"/);
});
