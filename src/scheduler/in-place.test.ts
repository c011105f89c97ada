import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobSpec } from "../model/index.ts";
import { fitsInPlace, shiftLoad } from "./in-place.ts";
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

void test("fitsInPlace counts the per-task overhead of every task on the host, as placement books it", () => {
  const h = { ...makeHost("h1"), cores: 100, memoryMiB: 1000, diskMiB: 1000 };
  const small: JobSpec = { ...makeSpec("web"), resources: { cpu: 0.1, memoryMiB: 100, diskMiB: 0 } };
  const big: JobSpec = { ...small, resources: { cpu: 0.1, memoryMiB: 200, diskMiB: 0 } };
  const q = (over: Partial<InPlaceQuery>): InPlaceQuery => ({ host: h, used: null, counted: null, from: small, to: big, overheadMiB: 16, ...over });
  const cases: { name: string; q: InPlaceQuery; want: boolean }[] = [
    // 5 tasks of 100 MiB with 16 MiB each: 580 booked; the task grows by 100.
    { name: "room for the growth and the overheads", q: q({ used: { cpu: 0.5, memoryMiB: 500, diskMiB: 0, tasks: 5 }, counted: small.resources }), want: true },
    // 8 tasks: 800 + 128 = 928 booked; growing by 100 needs 1028.
    { name: "the overheads of the host's tasks leave no room", q: q({ used: { cpu: 0.8, memoryMiB: 800, diskMiB: 0, tasks: 8 }, counted: small.resources }), want: false },
    { name: "without overhead the same growth fits", q: q({ used: { cpu: 0.8, memoryMiB: 800, diskMiB: 0, tasks: 8 }, counted: small.resources, overheadMiB: 0 }), want: true },
    // Not on this host yet: its own overhead is added too (700 + 112 + 200 + 16 = 1028).
    { name: "a task not counted here books its own overhead", q: q({ used: { cpu: 0.7, memoryMiB: 700, diskMiB: 0, tasks: 7 } }), want: false },
    // 820 + 4 x 16 + 100 + 16 = 1000.
    { name: "exactly full", q: q({ used: { cpu: 0.4, memoryMiB: 820, diskMiB: 0, tasks: 4 }, to: small }), want: true },
    { name: "one MiB over", q: q({ used: { cpu: 0.4, memoryMiB: 821, diskMiB: 0, tasks: 4 }, to: small }), want: false },
  ];
  for (const c of cases) assert.equal(fitsInPlace(c.q), c.want, c.name);
});

void test("shiftLoad: a host's load after one task's booking changes", () => {
  const small = { cpu: 0.5, memoryMiB: 256, diskMiB: 10 };
  const big = { cpu: 1, memoryMiB: 510, diskMiB: 10 };
  const load = { cpu: 1, memoryMiB: 512, diskMiB: 20, tasks: 2 };
  const cases: { name: string; got: ReturnType<typeof shiftLoad>; want: ReturnType<typeof shiftLoad> }[] = [
    { name: "grows in place", got: shiftLoad(load, small, big), want: { cpu: 1.5, memoryMiB: 766, diskMiB: 20, tasks: 2 } },
    { name: "leaves the host", got: shiftLoad(load, small, null), want: { cpu: 0.5, memoryMiB: 256, diskMiB: 10, tasks: 1 } },
    { name: "arrives on an empty host", got: shiftLoad(null, null, big), want: { cpu: 1, memoryMiB: 510, diskMiB: 10, tasks: 1 } },
  ];
  for (const c of cases) assert.deepEqual(c.got, c.want, c.name);
});
