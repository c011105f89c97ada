import { test } from "node:test";
import assert from "node:assert/strict";
import { TiffinError } from "../../model/index.ts";
import { MaxPayloadChars, payloadText } from "./run-payload.ts";

void test("dispatch payload: a file's bytes become the payload parameter, or a usage error that says why", () => {
  const cases: { name: string; bytes: Buffer; want?: string; error?: RegExp }[] = [
    { name: "text", bytes: Buffer.from("region: eu\n"), want: "region: eu\n" },
    { name: "empty", bytes: Buffer.alloc(0), want: "" },
    { name: "UTF-8", bytes: Buffer.from("größe ✓"), want: "größe ✓" },
    { name: "at the limit", bytes: Buffer.alloc(MaxPayloadChars, "a"), want: "a".repeat(MaxPayloadChars) },
    { name: "over the limit", bytes: Buffer.alloc(MaxPayloadChars + 1, "a"), error: /p\.bin is 65,537 characters; a payload is at most 65,536 \(64 KiB\)/ },
    { name: "binary", bytes: Buffer.from([0x50, 0x4b, 0x03, 0x04, 0xff, 0xfe]), error: /p\.bin is not UTF-8 text/ },
    { name: "NUL", bytes: Buffer.from("a\0b"), error: /p\.bin has a NUL byte/ },
  ];
  for (const c of cases) {
    if (c.want !== undefined) {
      assert.equal(payloadText(c.bytes, "p.bin"), c.want, c.name);
      continue;
    }
    assert.throws(() => payloadText(c.bytes, "p.bin"), (err: unknown) => {
      assert.ok(err instanceof TiffinError, c.name);
      assert.equal(err.code, "TIFFIN_USAGE", c.name);
      assert.match(err.message, c.error ?? /./, c.name);
      assert.ok(err.hint, `${c.name}: a hint`);
      return true;
    });
  }
});
