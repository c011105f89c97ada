// Pure helpers shared by store implementations: prefix bounds and transaction compares.
import type { Compare, KeyValue } from "./store.ts";

/** The smallest string greater than every string starting with `prefix`, or null when there is none
 * (empty prefix, or only U+10FFFF). Works on code points, so it matches SQLite's and etcd's byte order
 * for well-formed UTF-8 keys. */
export function prefixEnd(prefix: string): string | null {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()?.codePointAt(0) ?? 0;
    if (last < 0x10ffff) {
      // Surrogate code points cannot appear in well-formed text: skip over them.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      cps.push(String.fromCodePoint(next));
      return cps.join("");
    }
  }
  return null;
}

/** Compares two strings by their UTF-8 bytes (etcd's and SQLite's order), not by UTF-16 units. */
export function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** Orders keys as SQLite and etcd do (UTF-8 bytes, i.e. code points) without encoding them: UTF-16
 * order differs only where a surrogate pair meets a unit in U+E000..U+FFFF. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      const xs = x < 0xe000;
      const ys = y < 0xe000;
      if (xs !== ys) return xs ? 1 : -1; // the surrogate stands for a code point above U+FFFF
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Whether one transaction compare holds for `kv` (null: the key is missing, so its revisions and
 * version are 0 and only `value !=` holds). */
export function compareHolds(kv: KeyValue | null, c: Compare): boolean {
  if (c.target === "value") {
    if (kv === null) return c.op === "!=";
    const want = String(c.value);
    switch (c.op) {
      case "==":
        return kv.value === want;
      case "!=":
        return kv.value !== want;
      case ">":
        return compareBytes(kv.value, want) > 0;
      case "<":
        return compareBytes(kv.value, want) < 0;
    }
  }
  if (typeof c.value !== "number") throw new TypeError(`compare on ${c.target} of ${c.key} needs a number, got ${JSON.stringify(c.value)}`);
  const actual = kv === null ? 0 : kv[c.target];
  switch (c.op) {
    case "==":
      return actual === c.value;
    case "!=":
      return actual !== c.value;
    case ">":
      return actual > c.value;
    case "<":
      return actual < c.value;
  }
}
