import { test } from "node:test";
import assert from "node:assert/strict";
import { allows, coversGrant, firstMissing, FullAdmin, parseGrant } from "./acl.ts";
import type { Grant, Need, Policy } from "./acl.ts";

const p = (...texts: string[]): Policy => texts.map((t) => {
  const g = parseGrant(t);
  if (typeof g === "string") throw new Error(g);
  return g;
});

const allowCases: { name: string; policy: Policy; need: Need; want: boolean }[] = [
  { name: "full admin reads a namespace", policy: FullAdmin, need: { cap: "read", on: "ns/default" }, want: true },
  { name: "full admin manages tokens", policy: FullAdmin, need: { cap: "write", on: "tokens" }, want: true },
  { name: "read gives read", policy: p("ns/default=read"), need: { cap: "read", on: "ns/default" }, want: true },
  { name: "read does not give write", policy: p("ns/default=read"), need: { cap: "write", on: "ns/default" }, want: false },
  { name: "write includes read", policy: p("ns/default=write"), need: { cap: "read", on: "ns/default" }, want: true },
  { name: "write does not include exec", policy: p("ns/default=write"), need: { cap: "exec", on: "ns/default" }, want: false },
  { name: "logs does not include read", policy: p("ns/default=logs"), need: { cap: "read", on: "ns/default" }, want: false },
  { name: "namespace admin gives exec there", policy: p("ns/default=admin"), need: { cap: "exec", on: "ns/default" }, want: true },
  { name: "another namespace gives nothing here", policy: p("ns/other=admin"), need: { cap: "read", on: "ns/default" }, want: false },
  { name: "ns/* matches every namespace", policy: p("ns/*=read"), need: { cap: "read", on: "ns/team-a" }, want: true },
  { name: "ns/* is not a cluster object", policy: p("ns/*=admin"), need: { cap: "read", on: "hosts" }, want: false },
  { name: "a prefix matches its namespaces", policy: p("ns/team-*=exec"), need: { cap: "exec", on: "ns/team-b" }, want: true },
  { name: "a prefix does not match others", policy: p("ns/team-*=exec"), need: { cap: "exec", on: "ns/default" }, want: false },
  { name: "drain includes reading hosts", policy: p("hosts=drain"), need: { cap: "read", on: "hosts" }, want: true },
  { name: "drain does not remove hosts", policy: p("hosts=drain"), need: { cap: "write", on: "hosts" }, want: false },
  { name: "grants add up", policy: p("ns/default=read", "packages=write"), need: { cap: "write", on: "packages" }, want: true },
  { name: "an empty policy allows nothing", policy: [], need: { cap: "read", on: "ns/default" }, want: false },
];

for (const c of allowCases) {
  void test(`allows: ${c.name}`, () => assert.equal(allows(c.policy, c.need), c.want));
}

void test("firstMissing names the first need not given", () => {
  assert.deepEqual(firstMissing(p("ns/default=read"), [{ cap: "read", on: "ns/default" }, { cap: "read", on: "hosts" }]), { cap: "read", on: "hosts" });
  assert.equal(firstMissing(FullAdmin, [{ cap: "admin", on: "*" }]), null);
  assert.equal(firstMissing([], []), null);
});

const coverCases: { name: string; holder: Policy; grant: string; want: boolean }[] = [
  { name: "full admin covers anything", holder: FullAdmin, grant: "*=admin", want: true },
  { name: "the same grant", holder: p("ns/default=read"), grant: "ns/default=read", want: true },
  { name: "a wider capability", holder: p("ns/default=write"), grant: "ns/default=read", want: true },
  { name: "a narrower capability", holder: p("ns/default=read"), grant: "ns/default=write", want: false },
  { name: "write implies read, so a holder of read alone cannot hand out write", holder: p("ns/default=read", "ns/other=write"), grant: "ns/default=write", want: false },
  { name: "ns/* covers one namespace", holder: p("ns/*=read"), grant: "ns/default=read", want: true },
  { name: "one namespace does not cover ns/*", holder: p("ns/default=read"), grant: "ns/*=read", want: false },
  { name: "a prefix covers a longer prefix", holder: p("ns/team-*=exec"), grant: "ns/team-a*=exec", want: true },
  { name: "a prefix does not cover a shorter one", holder: p("ns/team-a*=exec"), grant: "ns/team-*=exec", want: false },
  { name: "tokens=write does not cover admin", holder: p("tokens=write"), grant: "*=admin", want: false },
  { name: "ns/*=admin does not cover hosts", holder: p("ns/*=admin"), grant: "hosts=read", want: false },
  { name: "admin on a namespace covers exec and logs there", holder: p("ns/default=admin"), grant: "ns/default=exec,logs", want: true },
];

for (const c of coverCases) {
  void test(`coversGrant: ${c.name}`, () => assert.equal(coversGrant(c.holder, (p(c.grant)[0] as Grant)), c.want));
}

const parseCases: { text: string; want: Grant | RegExp }[] = [
  { text: "ns/default=read,logs", want: { on: "ns/default", caps: ["read", "logs"] } },
  { text: " ns/* = read , read ", want: { on: "ns/*", caps: ["read"] } },
  { text: "*=admin", want: { on: "*", caps: ["admin"] } },
  { text: "hosts=drain", want: { on: "hosts", caps: ["drain"] } },
  { text: "ns/default", want: /not RESOURCE=CAPABILITY/ },
  { text: "ns/default=", want: /not RESOURCE=CAPABILITY/ },
  { text: "jobs=read", want: /resource "jobs" is not ns\/NAME/ },
  { text: "ns/Default=read", want: /resource "ns\/Default"/ },
  { text: "ns/a*b=read", want: /resource "ns\/a\*b"/ },
  { text: "hosts=exec", want: /"exec" is not a capability on hosts \(one of read, write, drain, admin\)/ },
  { text: "ns/default=drain", want: /"drain" is not a capability on a namespace/ },
  { text: "ns/default=root", want: /"root" is not a capability/ },
];

for (const c of parseCases) {
  void test(`parseGrant: ${JSON.stringify(c.text)}`, () => {
    const got = parseGrant(c.text);
    if (c.want instanceof RegExp) assert.match(String(got), c.want);
    else assert.deepEqual(got, c.want);
  });
}
