// intList: a list of whole numbers declared once by its item's zod schema, checked in one pass, and
// refused with the path of each bad item exactly as z.array(item) would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { intList } from "./int-list.ts";

const items: [string, z.ZodNumber][] = [
  ["0..1023", z.number().int().min(0).max(1023)],
  ["whole numbers > 0 and < 5", z.number().int().gt(0).lt(5)],
  ["any safe integer", z.number().int()],
];
const values: unknown[] = [0, -0, 1, 4, 5, 1023, 1024, -1, 0.5, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), "1", null, undefined, true, [1], {}];

for (const [name, item] of items) {
  void test(`intList(${name}) accepts exactly what z.array(item) accepts, item by item and as lists`, () => {
    const fast = intList(item, 4);
    const full = z.array(item).max(4);
    for (const v of values) assert.equal(fast.safeParse([v]).success, full.safeParse([v]).success, `[${String(v)}]`);
    for (const list of [[], [1, 2, 3, 4], [1, 2, 3, 4, 1], "1,2", null, { length: 1, 0: 1 }]) {
      assert.equal(fast.safeParse(list).success, full.safeParse(list).success, JSON.stringify(list));
    }
  });
}

void test("a refusal names each bad item's path and the limit, as z.array does", () => {
  const r = intList(z.number().int().min(0).max(9), 3).safeParse([1, -1, 2.5]);
  assert.ok(!r.success);
  assert.deepEqual(r.error.issues.map((i) => i.path), [[1], [2]]);
  const long = intList(z.number().int().min(0).max(9), 3).safeParse([1, 2, 3, 4]);
  assert.ok(!long.success && long.error.issues[0]?.code === "too_big");
});

void test("its JSON Schema is the array's (for the OpenAPI document)", () => {
  const js = z.toJSONSchema(z.object({ a: intList(z.number().int().min(0).max(9), 3) }), { unrepresentable: "any" });
  assert.deepEqual(js.properties?.["a"], { type: "array", maxItems: 3, items: { type: "integer", minimum: 0, maximum: 9 } });
});

void test("an item schema beyond whole-number bounds is refused when declared, not checked less", () => {
  assert.throws(() => intList(z.number().int().multipleOf(2), 3), /intList/);
  assert.throws(() => intList(z.number(), 3), /intList/);
});

void test("a million indexes are checked in one pass (well under z.array's time)", () => {
  const item = z.number().int().min(0).max((1 << 20) - 1);
  const list = Array.from({ length: 1 << 20 }, (_, i) => i);
  const fast = intList(item, 1 << 20);
  fast.safeParse(list);
  const t0 = performance.now();
  assert.ok(fast.safeParse(list).success);
  const fastMs = performance.now() - t0;
  const t1 = performance.now();
  z.array(item).safeParse(list);
  const fullMs = performance.now() - t1;
  assert.ok(fastMs < fullMs / 3, `intList ${fastMs.toFixed(0)} ms, z.array ${fullMs.toFixed(0)} ms`);
});
