// The follower's breaker on calls passed on to the leader, with a clock the test moves (its wiring to a
// real hung leader is in forward.test.ts).
import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../../model/index.ts";
import { ForwardBreaker } from "./forward-breaker.ts";

void test("ForwardBreaker: a leader that did not answer is not called for openMs, then one trial at a time", () => {
  const clock = new ManualClock();
  const b = new ForwardBreaker({ clock, openMs: 5000 });
  assert.equal(b.allow("L"), true, "closed: calls go through");
  b.answered("L");
  assert.equal(b.allow("L"), true);
  b.unanswered("L");
  assert.equal(b.openUntil("L"), clock.now() + 5000);
  assert.equal(b.allow("L"), false, "open: fail at once");
  clock.advance(4999);
  assert.equal(b.allow("L"), false, "still open just before openMs");
  clock.advance(1);
  assert.equal(b.allow("L"), true, "openMs passed: one trial call");
  assert.equal(b.allow("L"), false, "while the trial is under way, others fail at once");
  b.unanswered("L");
  assert.equal(b.allow("L"), false, "the trial got no answer: open again");
  clock.advance(5000);
  assert.equal(b.allow("L"), true, "the next trial");
  b.answered("L");
  assert.equal(b.openUntil("L"), null);
  assert.equal(b.allow("L"), true, "the leader answered: closed");
  assert.equal(b.allow("L"), true);
});

void test("ForwardBreaker: kept per leader; a late answer from the leader closes it, one from an older leader does not", () => {
  const clock = new ManualClock();
  const b = new ForwardBreaker({ clock, openMs: 5000 });
  b.unanswered("old");
  assert.equal(b.allow("old"), false);
  assert.equal(b.allow("new"), true, "a new leader is called at once");
  b.unanswered("new");
  assert.equal(b.allow("new"), false);
  b.answered("old");
  assert.equal(b.allow("new"), false, "an answer from the old leader says nothing of the new one");
  b.answered("new");
  assert.equal(b.allow("new"), true, "a call made before the failure was answered after all: closed");
});
