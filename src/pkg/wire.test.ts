// Pieces on the wire: which Accept-Encoding values allow zstd, bodies that decode within a bound,
// and the encoder's choice (compressed only when it pays).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { acceptsZstd, compressPiece, decodePiece, PieceEncoder } from "./wire.ts";

const accepts: [string | undefined, boolean][] = [
  [undefined, false],
  ["gzip, deflate", false],
  ["zstd", true],
  ["gzip, zstd;q=0.5", true],
  ["zstd;q=0", false],
  ["ZSTD", true],
  ["zstdx", false],
];
for (const [header, want] of accepts) void test(`acceptsZstd(${JSON.stringify(header)}) is ${want}`, () => assert.equal(acceptsZstd(header), want));

void test("decodePiece: raw within the bound, zstd round trip, refusals as values", () => {
  const text = Buffer.from("abc".repeat(10_000));
  assert.deepEqual(decodePiece(text, undefined), text);
  assert.deepEqual(decodePiece(compressPiece(text)!, "zstd"), text);
  assert.match((decodePiece(compressPiece(text)!, "zstd", 1000) as { error: string }).error, /bad zstd body/, "a body inflating past the bound is refused");
  assert.match((decodePiece(text, undefined, 10) as { error: string }).error, /over 10/);
  assert.match((decodePiece(text, "br") as { error: string }).error, /unsupported content-encoding/);
  assert.match((decodePiece(Buffer.from("nope"), "zstd") as { error: string }).error, /bad zstd body/);
});

void test("PieceEncoder: compressed when accepted and it pays, raw otherwise", () => {
  const e = new PieceEncoder();
  const text = Buffer.from("hello ".repeat(50_000));
  const noise = randomBytes(100_000);
  assert.equal(e.encode("t", text, false).encoding, null, "not accepted: raw");
  const z = e.encode("t", text, true);
  assert.equal(z.encoding, "zstd");
  assert.ok(z.body.length < text.length / 10);
  assert.equal(e.encode("t", text, true).body, z.body, "kept for the next request");
  assert.deepEqual(e.encode("n", noise, true), { body: noise, encoding: null }, "random bytes do not compress: raw");
  assert.equal(compressPiece(noise), null);
});
