import { test } from "node:test";
import assert from "node:assert/strict";
import { SerialPasses } from "./serial-passes.ts";

void test("SerialPasses: one pass at a time, asks during a pass coalesce into one more, again() and go() and errors", async () => {
  let passes = 0;
  let inPass = 0;
  let release: () => void = () => {};
  let go = true;
  let fail = false;
  let askAgain = false;
  const errors: unknown[] = [];
  const p = new SerialPasses({
    pass: async () => {
      passes++;
      inPass++;
      assert.equal(inPass, 1, "never two passes at once");
      await new Promise<void>((r) => (release = r));
      inPass--;
      if (askAgain) {
        askAgain = false;
        p.again();
      }
      if (fail) {
        fail = false;
        throw new Error("boom");
      }
    },
    onError: (err) => errors.push(err),
    go: () => go,
  });
  const first = p.run();
  await Promise.resolve();
  const asked = [p.run(), p.run(), p.run()];
  release();
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all([first, ...asked]);
  assert.equal(passes, 2, "three asks during a pass: one more pass, not three");

  passes = 0;
  askAgain = true;
  fail = true;
  const second = p.run();
  await new Promise((r) => setImmediate(r));
  release();
  await new Promise((r) => setImmediate(r));
  release();
  await second;
  assert.equal(passes, 2, "again() from inside a pass makes one more, after a failed pass too");
  assert.equal(errors.length, 1);

  go = false;
  passes = 0;
  await p.run();
  await p.idle();
  assert.equal(passes, 0, "no pass when go() says no");
});
