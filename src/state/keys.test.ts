import assert from "node:assert/strict";
import { test } from "node:test";
import { compareBytes, compareHolds, compareKeys, prefixEnd } from "./keys.ts";

const ends: [string, string, string | null][] = [
  ["empty prefix has no end", "", null],
  ["ascii", "a/", "a0"],
  ["last char bumped", "hosts/h1", "hosts/h2"],
  ["two-byte utf-8", "x\u00e9", "x\u00ea"],
  ["before the surrogate range skips it", "x\ud7ff", "x\ue000"],
  ["astral", "x\u{1F600}", "x\u{1F601}"],
  ["U+10FFFF is dropped and the previous bumped", "ab\u{10FFFF}", "ac"],
  ["only U+10FFFF", "\u{10FFFF}\u{10FFFF}", null],
];
for (const [name, prefix, want] of ends) {
  void test(`prefixEnd: ${name}`, () => {
    assert.equal(prefixEnd(prefix), want);
    // Everything starting with the prefix sorts below the end, in byte order.
    if (want !== null) for (const tail of ["", "\u0000", "zzz", "\u{10FFFF}\u{10FFFF}"]) assert.ok(compareBytes(prefix + tail, want) < 0, JSON.stringify(tail));
  });
}

void test("compareBytes orders by UTF-8 bytes, not UTF-16 units", () => {
  // U+FF5E (one UTF-16 unit, EF BD 9E) sorts below U+1F600 (a surrogate pair, F0 ...) in bytes,
  // but above it in UTF-16 units.
  assert.ok("\uff5e" > "\u{1F600}");
  assert.ok(compareBytes("\uff5e", "\u{1F600}") < 0);
  assert.equal(compareBytes("a", "a"), 0);
});

void test("compareHolds rejects a revision compare against text (a caller bug)", () => {
  assert.throws(() => compareHolds(null, { key: "k", target: "version", op: "==", value: "1" }), TypeError);
  assert.equal(compareHolds(null, { key: "k", target: "value", op: "==", value: 1 }), false);
});

void test("compareKeys agrees with the UTF-8 byte order", () => {
  const keys = ["", "a", "a/", "a/b", "ab", "\u00e9", "\ud7ff", "\ue000", "\uff5e", "\uffff", "\u{10000}", "\u{1F600}", "\u{1F600}a", "\u{10FFFF}", "z\u{1F600}", "z\uff5e"];
  for (const a of keys) for (const b of keys) assert.equal(Math.sign(compareKeys(a, b)), Math.sign(compareBytes(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
});
