// The verdict on a data dir as found, by a table.
import assert from "node:assert/strict";
import { test } from "node:test";
import { privateDirVerdict } from "./private-dir.ts";
import type { PrivateDirVerdict } from "./private-dir.ts";

void test("privateDirVerdict: ours and 0700 is kept, wider is narrowed, another user's or a file is refused", () => {
  const dir = { isDirectory: true, mode: 0o40700, uid: 0 };
  const cases: { name: string; st: Partial<typeof dir>; want: PrivateDirVerdict["kind"]; was?: number; why?: RegExp }[] = [
    { name: "0700, ours", st: {}, want: "ok" },
    { name: "0500, ours", st: { mode: 0o40500 }, want: "ok" },
    { name: "0755 (mkdir /var/lib/tiffin)", st: { mode: 0o40755 }, want: "narrow", was: 0o755 },
    { name: "0750", st: { mode: 0o40750 }, want: "narrow", was: 0o750 },
    { name: "0701", st: { mode: 0o40701 }, want: "narrow", was: 0o701 },
    { name: "1777 like /tmp", st: { mode: 0o41777 }, want: "narrow", was: 0o777 },
    { name: "another user's", st: { uid: 65534 }, want: "refuse", why: /owned by uid 65534, not .* \(0\)/ },
    { name: "a file", st: { isDirectory: false, mode: 0o100600 }, want: "refuse", why: /not a directory/ },
  ];
  for (const c of cases) {
    const v = privateDirVerdict("/var/lib/tiffin", { ...dir, ...c.st }, 0);
    assert.equal(v.kind, c.want, c.name);
    if (v.kind === "narrow") assert.equal(v.was, c.was, c.name);
    if (v.kind === "refuse") {
      assert.match(v.why, c.why ?? /./, c.name);
      assert.match(v.why, /\/var\/lib\/tiffin/, `${c.name}: says where`);
      assert.ok(v.hint.length > 0, `${c.name}: a hint`);
    }
  }
});
