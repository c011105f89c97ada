import assert from "node:assert/strict";
import net from "node:net";
import { test } from "node:test";
import { isPortFree, PortAllocator } from "./ports.ts";

/** A free port range of `n` ports, found by asking the kernel (tests must not assume fixed ports). */
async function freeBase(n: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = 30000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await isPortFree(p);
    if (ok) return base;
  }
  throw new Error("no free port range found");
}

void test("allocates distinct ports and never a port another attempt holds", async () => {
  const base = await freeBase(4);
  const alloc = new PortAllocator([base, base + 3]);
  alloc.hold("old", { http: base + 1 });
  const a = await alloc.allocate("a", ["http", "admin"]);
  const b = await alloc.allocate("b", ["x"]);
  assert.ok(a && b);
  const all = [...Object.values(a), ...Object.values(b)];
  assert.equal(new Set(all).size, 3);
  assert.ok(!all.includes(base + 1), "the held port was handed out again");
  assert.equal(await alloc.allocate("c", ["y"]), null, "range exhausted must be null");
  alloc.release("a");
  const c = await alloc.allocate("c", ["y"]);
  assert.ok(c && Object.values(a).includes(c["y"]!), "a released port is reusable");
});

void test("skips a port something outside Tiffin is listening on (0.0.0.0 and 127.0.0.1)", async (t) => {
  const base = await freeBase(3);
  const any = net.createServer().listen(base, "0.0.0.0");
  const lo = net.createServer().listen(base + 1, "127.0.0.1");
  t.after(() => {
    any.close();
    lo.close();
  });
  await Promise.all([new Promise((r) => any.once("listening", r)), new Promise((r) => lo.once("listening", r))]);
  const alloc = new PortAllocator([base, base + 2]);
  for (let i = 0; i < 3; i++) {
    const got = await alloc.allocate(`a${i}`, ["p"]);
    assert.deepEqual(got, i === 0 ? { p: base + 2 } : null);
  }
});

void test("concurrent allocations never share a port", async () => {
  const seen: number[] = [];
  const alloc = new PortAllocator([40000, 40009], async () => {
    await new Promise((r) => setTimeout(r, 5));
    return true;
  });
  const got = await Promise.all(Array.from({ length: 10 }, (_, i) => alloc.allocate(`a${i}`, ["p"])));
  for (const g of got) seen.push(g!["p"]!);
  assert.equal(new Set(seen).size, 10);
});

void test("a bad range is a bug, reported at construction", () => {
  assert.throws(() => new PortAllocator([10, 5]));
  assert.throws(() => new PortAllocator([0, 5]));
});
