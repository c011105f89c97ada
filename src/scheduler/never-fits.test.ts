import { test } from "node:test";
import assert from "node:assert/strict";
import { neverFits } from "./never-fits.ts";
import { makeHost, makeSpec } from "./testing.ts";

void test("neverFits: whether any registered host, empty, could ever take a task", () => {
  const small = [makeHost("a", { memoryMiB: 8192, rack: "r1" }), makeHost("b", { memoryMiB: 8192, rack: "r2" })];
  const cases: { name: string; spec: ReturnType<typeof makeSpec>; hosts: ReturnType<typeof makeHost>[]; want: string | RegExp | null }[] = [
    { name: "fits an empty host", spec: makeSpec("j", { memoryMiB: 4096 }), hosts: small, want: null },
    { name: "fits though every host is draining or down now", spec: makeSpec("j"), hosts: small.map((h) => ({ ...h, schedulable: false })), want: null },
    { name: "no hosts yet: not for this check to say", spec: makeSpec("j", { memoryMiB: 65536 }), hosts: [], want: null },
    { name: "64Gi on 8Gi hosts", spec: makeSpec("j", { memoryMiB: 65536 }), hosts: small, want: "no host could ever fit it: it needs 64Gi memory (the largest of 2 hosts has 8Gi)" },
    { name: "cpu and disk on the only host", spec: makeSpec("j", { cpu: 16, diskMiB: 204800 }), hosts: [makeHost("a")], want: "no host could ever fit it: it needs 16 cpu (the only host has 8), 200Gi disk (the only host has 100Gi)" },
    { name: "a label no host has", spec: makeSpec("j", { labels: { gpu: "yes" } }), hosts: small, want: "no host could ever fit it, even empty: labels on 2 hosts" },
    {
      name: "each resource fits somewhere, never together",
      spec: makeSpec("j", { cpu: 16, memoryMiB: 32768 }),
      hosts: [makeHost("a", { cores: 32, memoryMiB: 8192 }), makeHost("b", { cores: 4, memoryMiB: 65536 })],
      want: /^no host could ever fit it, even empty: (cpu|memory) on 1 host, (cpu|memory) on 1 host$/,
    },
  ];
  for (const c of cases) {
    const got = neverFits(c.spec, c.hosts);
    if (c.want instanceof RegExp) assert.match(got ?? "", c.want, c.name);
    else assert.equal(got, c.want, c.name);
  }
});
