import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobSpec } from "../model/index.ts";
import { fitsInPlace } from "./in-place.ts";
import type { InPlaceQuery } from "./in-place.ts";
import { makeHost, makeSpec } from "./testing.ts";

void test("fitsInPlace: the in-place answer follows placement's filters and the load of the moment", () => {
  const s: JobSpec = makeSpec("web");
  const h = makeHost("h1");
  const q = (over: Partial<InPlaceQuery>): InPlaceQuery => ({ host: h, used: null, counted: null, from: s, to: s, ...over });
  const cases: { name: string; q: InPlaceQuery; want: boolean }[] = [
    { name: "room left", q: q({ used: { cpu: h.cores - 1, memoryMiB: h.memoryMiB - s.resources.memoryMiB, diskMiB: 0 } }), want: true },
    { name: "own share given back", q: q({ used: { cpu: h.cores, memoryMiB: h.memoryMiB, diskMiB: 100 }, counted: s.resources }), want: true },
    { name: "bigger than the room", q: q({ used: { cpu: 0, memoryMiB: h.memoryMiB - 1, diskMiB: 0 } }), want: false },
    { name: "unknown host", q: q({ host: null }), want: false },
    { name: "host not schedulable (down, draining)", q: q({ host: { ...h, schedulable: false } }), want: false },
    { name: "constraints changed", q: q({ to: { ...s, constraints: { ...s.constraints, kernel: ">=6" } } }), want: false },
    { name: "now sandboxed, host has no runtime", q: q({ host: { ...h, sandbox: false }, from: { ...s, isolation: "none" }, to: { ...s, isolation: "sandbox" } }), want: false },
    { name: "isolation none on a host without a runtime", q: q({ host: { ...h, sandbox: false }, from: { ...s, isolation: "none" }, to: { ...s, isolation: "none", env: { V: "2" } } }), want: true },
    { name: "asks for a capability the host does not allow", q: q({ to: { ...s, isolation: "sandbox", capabilities: ["CAP_NET_ADMIN"] } }), want: false },
  ];
  for (const c of cases) assert.equal(fitsInPlace(c.q), c.want, c.name);
});
