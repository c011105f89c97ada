import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../model/index.ts";
import { Fence } from "./fence.ts";

/** Runs a script of steps against a fence with fenceMs 1000; returns when (clock offset) and why it fell. */
function run(steps: ({ advance: number } | { ping: true; awayUntil?: number })[]): { at: number; reason: string } | null {
  const clock = new ManualClock(0);
  let fell: { at: number; reason: string } | null = null;
  const fence = new Fence(clock, 1000, (reason) => (fell ??= { at: clock.now(), reason }));
  for (const s of steps) {
    if ("advance" in s) clock.advance(s.advance);
    else fence.ping(s.awayUntil);
  }
  return fell;
}

void test("fence falls only when pings stop for fenceMs and any announced absence is over", () => {
  const cases: [string, Parameters<typeof run>[0], { at: number; reason: string } | null][] = [
    ["no agent ever connects", [{ advance: 5000 }], { at: 1000, reason: "fenced: agent gone for 1000ms" }],
    ["not before fenceMs", [{ advance: 999 }], null],
    ["pings keep it up", [{ advance: 800 }, { ping: true }, { advance: 800 }, { ping: true }, { advance: 800 }], null],
    ["falls fenceMs after the last ping", [{ advance: 800 }, { ping: true }, { advance: 3000 }], { at: 1800, reason: "fenced: agent gone for 1000ms" }],
    ["awayUntil delays it", [{ ping: true, awayUntil: 2500 }, { advance: 5000 }], { at: 2500, reason: "fenced: agent gone for 2500ms" }],
    [
      "a plain ping does not cancel an announced absence",
      [{ ping: true, awayUntil: 2500 }, { advance: 100 }, { ping: true }, { advance: 5000 }],
      { at: 2500, reason: "fenced: agent gone for 2400ms" },
    ],
    ["an awayUntil in the past changes nothing", [{ ping: true, awayUntil: -5 }, { advance: 5000 }], { at: 1000, reason: "fenced: agent gone for 1000ms" }],
  ];
  for (const [name, steps, want] of cases) assert.deepEqual(run(steps), want, name);
});

void test("a cancelled fence never falls", () => {
  const clock = new ManualClock(0);
  let fell = false;
  const fence = new Fence(clock, 1000, () => (fell = true));
  fence.cancel();
  clock.advance(10_000);
  assert.equal(fell, false);
});

void test("a due fence first lets pending input be read: a ping found there keeps it up", () => {
  const clock = new ManualClock(0);
  let fell = false;
  const drains: (() => void)[] = [];
  const fence = new Fence(clock, 1000, () => (fell = true), (then) => drains.push(then));
  clock.advance(1500);
  assert.equal(fell, false, "not before the drain");
  fence.ping();
  drains.shift()!();
  assert.equal(fell, false, "the ping read in the drain counts");
  clock.advance(1000);
  drains.shift()!();
  assert.equal(fell, true, "no ping in the drain: it falls");
});
