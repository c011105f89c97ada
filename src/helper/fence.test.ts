import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../model/index.ts";
import { Fence } from "./fence.ts";

type Step = { advance: number } | { ping: true; awayUntil?: number } | { answer: "latest" | number };

/** Runs a script of steps against a fence with fenceMs 1000 (probes every 200 ms, answered within 200 ms);
 * returns when (clock offset) and why it fell. `answer`: a ping echoing the latest probe, or probe n. */
function run(steps: Step[]): { at: number; reason: string } | null {
  const clock = new ManualClock(0);
  let fell: { at: number; reason: string } | null = null;
  let latest = 0;
  const drains: (() => void)[] = [];
  const fence = new Fence({
    clock,
    fenceMs: 1000,
    onFence: (reason) => (fell ??= { at: clock.now(), reason }),
    probe: (seq) => (latest = seq),
    drain: (then) => drains.push(then),
  });
  const flush = () => {
    while (drains.length > 0) drains.shift()!();
  };
  for (const s of steps) {
    if ("advance" in s) {
      // A timer fires, then the loop polls: what was read meanwhile comes after the drain is queued.
      for (let left = s.advance; left > 0; left -= 10) {
        clock.advance(Math.min(10, left));
        flush();
      }
    } else if ("ping" in s) fence.ping(s.awayUntil);
    else fence.ping(undefined, s.answer === "latest" ? latest : s.answer);
  }
  return fell;
}

void test("fence falls only when signs of life stop for fenceMs and any announced absence is over", () => {
  const cases: [string, Step[], { at: number; reason: string } | null][] = [
    ["no agent ever connects", [{ advance: 5000 }], { at: 1000, reason: "fenced: agent gone for 1000ms" }],
    ["not before fenceMs", [{ advance: 999 }], null],
    ["plain pings keep it up", [{ advance: 800 }, { ping: true }, { advance: 800 }, { ping: true }, { advance: 800 }], null],
    ["falls fenceMs after the last plain ping", [{ advance: 800 }, { ping: true }, { advance: 3000 }], { at: 1800, reason: "fenced: agent gone for 1000ms" }],
    ["answered probes keep it up", [{ advance: 700 }, { answer: "latest" }, { advance: 700 }, { answer: "latest" }, { advance: 700 }, { answer: "latest" }, { advance: 700 }], null],
    // Probes went out at 0, 200, ..., 800: the echo read at 850 answers the one of 800.
    ["an echo counts from when its probe was sent", [{ advance: 850 }, { answer: "latest" }, { advance: 3000 }], { at: 1800, reason: "fenced: agent gone for 1000ms" }],
    ["an echo of an old probe counts from that probe", [{ advance: 850 }, { answer: 2 }, { advance: 3000 }], { at: 1200, reason: "fenced: agent gone for 1000ms" }],
    ["an echo of an unknown probe counts for nothing", [{ advance: 850 }, { answer: 99 }, { advance: 3000 }], { at: 1000, reason: "fenced: agent gone for 1000ms" }],
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

void test("a cancelled fence never falls and sends no more probes", () => {
  const clock = new ManualClock(0);
  let fell = false;
  let probes = 0;
  const fence = new Fence({ clock, fenceMs: 1000, onFence: () => (fell = true), probe: () => probes++ });
  assert.equal(probes, 1, "the first probe goes out at once");
  fence.cancel();
  clock.advance(10_000);
  assert.equal(fell, false);
  assert.equal(probes, 1);
});

/** A clock whose process can be paused: `jump` moves time without running timers, as SIGSTOP does;
 * `wake` then runs what is due, late, in order (a Node timer fires at most once, at wake). */
class PausableClock {
  #now = 0;
  #timers: { at: number; fn: () => void; cancelled: boolean }[] = [];
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): { cancel(): void } {
    const t = { at: this.#now + Math.max(0, ms), fn, cancelled: false };
    this.#timers.push(t);
    return { cancel: () => void (t.cancelled = true) };
  }
  jump(ms: number): void {
    this.#now += ms;
  }
  /** Runs due timers at the current time (late ones included). */
  wake(): void {
    for (;;) {
      this.#timers.sort((a, b) => a.at - b.at);
      const t = this.#timers[0];
      if (!t || t.at > this.#now) return;
      this.#timers.shift();
      if (!t.cancelled) t.fn();
    }
  }
  /** Runs normally for `ms`, 10 ms at a time. */
  run(ms: number, each: () => void = () => {}): void {
    for (let i = 0; i < ms; i += 10) {
      this.jump(10);
      this.wake();
      each();
    }
  }
}

/** A helper with fenceMs 1000 whose agent answered every probe until 100; then the helper sleeps 3000 ms
 * (SIGSTOP) and wakes with `queued` (pings the agent sent meanwhile) waiting in its socket. */
function pausedThenWoken(queued: (f: Fence, lastSeq: number) => void) {
  const clock = new PausableClock();
  let fell: number | null = null;
  const sent: number[] = [];
  const drains: (() => void)[] = [];
  const fence = new Fence({ clock, fenceMs: 1000, onFence: () => (fell ??= clock.now()), probe: (seq) => void sent.push(seq), drain: (then) => drains.push(then) });
  const flush = () => drains.splice(0).forEach((d) => d());
  clock.run(100, flush);
  const before = sent.at(-1)!;
  fence.ping(undefined, before);
  clock.jump(3000);
  // On waking Node runs the due timers first, then reads the socket (the drain).
  clock.wake();
  queued(fence, before);
  flush();
  return { clock, fence, sent, flush, fell: () => fell };
}

void test("after a pause, what the agent sent while the helper slept counts from the probe it answers; a live agent answers a new one", () => {
  // An agent that died during the pause: its echoes name the last probe sent before it (at 100).
  const dead = pausedThenWoken((f, seq) => (f.ping(undefined, seq), f.ping(undefined, seq)));
  assert.equal(dead.fell(), null, "not before a probe sent on waking had its chance (answerMs 200)");
  dead.clock.run(300, dead.flush);
  assert.ok(dead.fell() !== null && dead.fell()! <= 3100 + 200 + 10, `fell at ${dead.fell()}: woke at 3100, answerMs 200`);
  // A live agent answers the probe sent on waking.
  const live = pausedThenWoken((f, seq) => f.ping(undefined, seq));
  live.clock.run(50, live.flush);
  live.fence.ping(undefined, live.sent.at(-1)!);
  live.clock.run(700, live.flush);
  assert.equal(live.fell(), null, "the agent answered after the pause");
  // An older agent (no seq): its queued pings count on arrival, as before probes.
  const old = pausedThenWoken((f) => f.ping());
  old.clock.run(900, old.flush);
  assert.equal(old.fell(), null);
});
