import assert from "node:assert/strict";
import { test } from "node:test";
import { StartGate } from "./start-gate.ts";

void test("StartGate: at most `limit` at once, first come first served, double release harmless", async () => {
  const gate = new StartGate(2);
  const order: string[] = [];
  const a = await gate.acquire();
  const b = await gate.acquire();
  const c = gate.acquire().then((r) => (order.push("c"), r));
  const d = gate.acquire().then((r) => (order.push("d"), r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual([gate.busy, gate.waiting, order], [2, 2, []]);
  a();
  a();
  const rc = await c;
  assert.deepEqual([gate.busy, gate.waiting, order], [2, 1, ["c"]]);
  b();
  const rd = await d;
  assert.deepEqual(order, ["c", "d"]);
  rc();
  rd();
  assert.deepEqual([gate.busy, gate.waiting], [0, 0]);
});

void test("StartGate refuses a limit below 1", () => {
  for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => new StartGate(bad));
});
