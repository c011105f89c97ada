// The token bucket holds transfers to its rate, shared between concurrent takers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bucketOf, TokenBucket } from "./rate.ts";

void test("a 1 MiB/s bucket lets 512 KiB through in about half a second, shared by two takers", async () => {
  const b = new TokenBucket(1024 * 1024, 64 * 1024);
  const t0 = performance.now();
  await Promise.all([0, 1].map(async () => {
    for (let i = 0; i < 4; i++) await b.take(64 * 1024);
  }));
  const s = (performance.now() - t0) / 1000;
  // 512 KiB less the 64 KiB burst at 1 MiB/s: 0.44 s.
  assert.ok(s >= 0.4 && s < 1.5, `took ${s.toFixed(2)} s`);
});

void test("no limit, no bucket", () => {
  assert.equal(bucketOf(undefined), null);
  assert.equal(bucketOf(null), null);
  assert.equal(bucketOf(0), null);
  assert.ok(bucketOf(10) instanceof TokenBucket);
});
