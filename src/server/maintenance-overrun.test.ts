// The overrun record of a maintenance window (maintenance-overrun.ts), by table.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MaintenanceWindow } from "../model/index.ts";
import { nextOverrun } from "./maintenance-overrun.ts";

const w = (over: Partial<MaintenanceWindow> = {}): MaintenanceWindow => ({ id: "w", scope: "rack", target: "r1", start: 0, durationMs: 10_000, reason: "x", leadMs: null, closeMs: null, createdAt: 0, cancelledAt: null, ...over });

const cases: { name: string; win: MaintenanceWindow; out: string[]; now: number; want: ReturnType<typeof nextOverrun> }[] = [
  { name: "before the end: nothing, whatever the hosts", win: w(), out: ["a"], now: 9_999, want: null },
  { name: "ended, every host up: nothing", win: w(), out: [], now: 10_000, want: null },
  { name: "ended, a host not back: the alert", win: w(), out: ["b", "a"], now: 10_500, want: { at: 10_500, hosts: ["a", "b"], backAt: null } },
  { name: "same hosts out: no write", win: w({ overrun: { at: 10_500, hosts: ["a", "b"], backAt: null } }), out: ["a", "b"], now: 20_000, want: null },
  { name: "one came back: the list shrinks, since kept", win: w({ overrun: { at: 10_500, hosts: ["a", "b"], backAt: null } }), out: ["b"], now: 20_000, want: { at: 10_500, hosts: ["b"], backAt: null } },
  { name: "all back: when", win: w({ overrun: { at: 10_500, hosts: ["b"], backAt: null } }), out: [], now: 30_000, want: { at: 10_500, hosts: [], backAt: 30_000 } },
  { name: "cancelled: never", win: w({ cancelledAt: 5_000 }), out: ["a"], now: 10_500, want: null },
  { name: "ended over a week ago: no longer looked at", win: w(), out: ["a"], now: 10_000 + 7 * 24 * 3_600_000, want: null },
];
for (const c of cases) void test(`overrun: ${c.name}`, () => assert.deepEqual(nextOverrun(c.win, c.out, c.now), c.want));
