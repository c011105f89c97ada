// PassLoop, the controllers' start/tick/trigger loop: driven by a ManualClock and a change source the
// test fires, counting the passes that ran after each step.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ManualClock } from "../model/index.ts";
import type { Change } from "./mirror.ts";
import { PassLoop } from "./pass-loop.ts";

/** A turn of the event loop later (PassLoop asks on setImmediate). */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A loop over a change source the test fires; `passes` counts the passes run. */
function harness(o: { tickWants?: () => boolean; pass?: (n: number) => Promise<void> } = {}) {
  const clock = new ManualClock();
  const listeners = new Set<(changes: Change[], revision: number) => void>();
  const state = { passes: 0, active: true, errors: [] as unknown[] };
  const loop: PassLoop = new PassLoop({
    mirror: { onChange: (fn) => (listeners.add(fn), () => listeners.delete(fn)) },
    clock,
    pass: async () => {
      state.passes++;
      await o.pass?.(state.passes);
    },
    onError: (err) => state.errors.push(err),
    active: () => state.active,
    wants: (changes) => changes.some((c) => c.kind === "task"),
    tickMs: 100,
    ...(o.tickWants ? { onTick: o.tickWants } : {}),
  });
  const fire = (kind: Change["kind"]): void => {
    for (const fn of listeners) fn([{ kind, key: `/${kind}s/x`, prev: null, next: null, revision: 1 }], 1);
  };
  return { clock, loop, state, fire, listeners };
}

void test("PassLoop: a pass at start, on wanted changes and on ticks; asks coalesced; nothing while inactive or stopped", async () => {
  const h = harness();
  h.loop.start();
  await turn();
  assert.equal(h.state.passes, 1, "the first tick at start");

  h.fire("task");
  h.fire("task");
  h.loop.trigger();
  await turn();
  assert.equal(h.state.passes, 2, "asks of one turn make one pass");
  h.fire("endpoint");
  await turn();
  assert.equal(h.state.passes, 2, "a change it does not want asks nothing");

  h.clock.advance(99);
  await turn();
  assert.equal(h.state.passes, 2, "no tick before tickMs");
  h.clock.advance(1);
  await turn();
  assert.equal(h.state.passes, 3, "a tick asks for a pass");

  h.state.active = false;
  h.fire("task");
  h.clock.advance(100);
  await turn();
  assert.equal(h.state.passes, 3, "no pass while not active");
  h.state.active = true;

  await h.loop.stop();
  h.fire("task");
  h.loop.trigger();
  h.clock.advance(1000);
  await turn();
  assert.equal(h.state.passes, 3, "none after stop");
  assert.equal(h.listeners.size, 0, "stop unsubscribes");
  assert.deepEqual(h.state.errors, []);
});

void test("PassLoop: onTick decides whether a tick passes; again() inside a pass runs one more; stop waits for a running pass; a throw goes to onError", async () => {
  let wanted = false;
  let release: () => void = () => undefined;
  const h = harness({
    tickWants: () => wanted,
    pass: async (n) => {
      if (n === 2) h.loop.again();
      if (n === 4) await new Promise<void>((r) => (release = r));
    },
  });
  h.loop.start();
  await turn();
  assert.equal(h.state.passes, 0, "the first tick asks onTick too");
  h.clock.advance(100);
  await turn();
  assert.equal(h.state.passes, 0, "a tick onTick declines");
  wanted = true;
  h.clock.advance(100);
  await turn();
  await h.loop.run();
  assert.equal(h.state.passes, 3, "the tick's pass, and the one more it asked with again()");

  wanted = false;
  const running = h.loop.run();
  await turn();
  assert.equal(h.state.passes, 4);
  let stopped = false;
  const stopping = h.loop.stop().then(() => (stopped = true));
  await turn();
  assert.equal(stopped, false, "stop waits for the running pass");
  release();
  await Promise.all([running, stopping]);
  assert.equal(stopped, true);

  const failing = harness({ pass: () => Promise.reject(new Error("boom")) });
  await failing.loop.run();
  assert.match(String(failing.state.errors[0]), /boom/, "a throw is handed to onError");
  await failing.loop.stop();
});
