// BufferPool: what is lent comes back and is lent again; what is not the pool's, or given back twice,
// never enters it (two users of one buffer would corrupt pieces).
import assert from "node:assert/strict";
import { test } from "node:test";
import { BufferPool } from "./buffer-pool.ts";

void test("a buffer given back is lent again; sizes up to the slab share it", () => {
  const pool = new BufferPool(1024, 2);
  const a = pool.take(1000);
  assert.equal(a.length, 1000);
  assert.ok(pool.lends(a));
  pool.give(a);
  assert.equal(pool.lends(a), false);
  assert.equal(pool.freeCount, 1);
  const b = pool.take(10);
  assert.equal(b.buffer, a.buffer, "the same memory, lent again");
  assert.equal(b.length, 10);
  assert.equal(pool.freeCount, 0);
});

void test("given back twice, or not the pool's: ignored; past maxFree: dropped; over the slab: not pooled", () => {
  const pool = new BufferPool(1024, 1);
  const a = pool.take(100);
  pool.give(a);
  pool.give(a);
  assert.equal(pool.freeCount, 1, "a second give does not add it twice");
  const x = pool.take(100);
  const y = pool.take(100);
  assert.notEqual(x.buffer, y.buffer, "two takes never share memory");
  pool.give(Buffer.alloc(100));
  assert.equal(pool.freeCount, 0, "a foreign buffer is not taken in");
  pool.give(x);
  pool.give(y);
  assert.equal(pool.freeCount, 1, "at most maxFree kept");
  const big = pool.take(2048);
  assert.equal(pool.lends(big), false);
  pool.give(big);
  assert.equal(pool.freeCount, 1);
});

void test("free slabs are let go once the pool goes unused for idleMs", async () => {
  const pool = new BufferPool(1024, 4, 50);
  pool.give(pool.take(10));
  assert.equal(pool.freeCount, 1);
  await new Promise((r) => setTimeout(r, 1300));
  assert.equal(pool.freeCount, 0);
});
