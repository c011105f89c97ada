// Package cache GC: the pure choice by tables, then real cache directories (pieces, manifests,
// read-only trees) with packages in use, idle, sharing pieces, and an attempt starting mid-pass.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { pino } from "pino";
import { buildPackage, packageId, PieceSize, PieceStore, piecesOf, removeTree, unpackPackage } from "../pkg/index.ts";
import type { CachedPackage, GcInput } from "./package-gc.ts";
import { PackageGc, planGc } from "./package-gc.ts";

const H = (c: string): string => c.repeat(64);

void test("planGc: what goes, in which order", () => {
  const pkg = (id: string, bytes: number, lastUsed: number, pieces: string[] | null): CachedPackage => ({ id, bytes, lastUsed, pieces });
  const pieces = new Map([
    [H("a"), { bytes: 10, mtime: 0 }],
    [H("b"), { bytes: 10, mtime: 0 }],
    [H("c"), { bytes: 10, mtime: 0 }],
  ]);
  const base: GcInput = {
    packages: [pkg(H("1"), 100, 1000, [H("a"), H("b")]), pkg(H("2"), 100, 2000, [H("b"), H("c")])],
    pieces,
    inUse: new Set(),
    now: 10_000,
    idleMs: 1000,
    budgetBytes: 0,
    piecesKnown: true,
  };
  const cases: { name: string; over: Partial<GcInput>; packages: string[]; pieces: string[]; after: number }[] = [
    { name: "under budget: nothing", over: { budgetBytes: 230 }, packages: [], pieces: [], after: 230 },
    { name: "over budget: oldest first, then its unshared piece", over: { budgetBytes: 200 }, packages: [H("1")], pieces: [H("a")], after: 120 },
    { name: "far over: both, and every piece", over: {}, packages: [H("1"), H("2")], pieces: [H("a"), H("b"), H("c")], after: 0 },
    { name: "in use is never removed, nor its pieces", over: { inUse: new Set([H("1")]) }, packages: [H("2")], pieces: [H("c")], after: 120 },
    { name: "used recently: kept even over budget", over: { now: 2500 }, packages: [H("1")], pieces: [H("a")], after: 120 },
    { name: "nothing idle long enough", over: { now: 1500 }, packages: [], pieces: [], after: 230 },
    { name: "pieces unknown (fetch in progress): packages only", over: { piecesKnown: false }, packages: [H("1"), H("2")], pieces: [], after: 30 },
    {
      name: "orphan pieces go first and may be enough",
      over: { pieces: new Map([...pieces, [H("d"), { bytes: 50, mtime: 0 }]]), budgetBytes: 230 },
      packages: [],
      pieces: [H("d")],
      after: 230,
    },
    {
      name: "a fresh orphan (fetch in progress) stays",
      over: { pieces: new Map([...pieces, [H("d"), { bytes: 50, mtime: 9500 }]]), budgetBytes: 230 },
      packages: [H("1")],
      pieces: [H("a")],
      after: 170,
    },
    { name: "manifest gone: its pieces count as unreferenced", over: { packages: [pkg(H("1"), 100, 1000, null)], budgetBytes: 50 }, packages: [H("1")], pieces: [H("a"), H("b"), H("c")], after: 0 },
  ];
  for (const c of cases) {
    const plan = planGc({ ...base, ...c.over });
    assert.deepEqual(plan.packages, c.packages, c.name);
    assert.deepEqual(plan.pieces, c.pieces, c.name);
    assert.equal(plan.afterBytes, c.after, c.name);
  }
});

interface Cache {
  data: string;
  store: PieceStore;
  /** Builds, stores and unpacks a package with `files` (name -> content) the way the agent's cache does. */
  add(name: string, files: Record<string, string | Buffer>): Promise<{ id: string; pieces: string[]; tree: string }>;
}

function cache(t: TestContext): Cache {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-gc-"));
  t.after(() => removeTree(data));
  const root = path.join(data, "packages");
  const store = new PieceStore(path.join(root, "pieces"));
  return {
    data,
    store,
    async add(name, files) {
      const src = fs.mkdtempSync(path.join(data, "src-"));
      for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(src, f), c);
      const m = await buildPackage({ dir: src, name, store, builder: "test" });
      fs.rmSync(src, { recursive: true });
      const id = packageId(m);
      fs.mkdirSync(path.join(root, "manifests"), { recursive: true });
      fs.writeFileSync(path.join(root, "manifests", `${id}.json`), JSON.stringify(m));
      const out = await unpackPackage(m, id, store, path.join(root, "trees"));
      assert.ok("path" in out);
      return { id, pieces: piecesOf(m), tree: out.path };
    },
  };
}

const log = pino({ level: "silent" });

void test("garbage collection never removes a package a task uses", async (t) => {
  const c = cache(t);
  const shared = Buffer.alloc(PieceSize, 3);
  const used = await c.add("used", { "shared.bin": shared, "a.txt": "in use\n" });
  const idle = await c.add("idle", { "shared.bin": shared, "b.txt": "idle\n" });
  let now = 1_000_000;
  const inUse = new Set([used.id]);
  const gc = new PackageGc({ dataDir: c.data, budgetBytes: 1, idleMs: 60_000, inUse: () => inUse, log, now: () => now });

  gc.markUsed([idle.id]);
  const early = await gc.run();
  assert.deepEqual(early.packages, [], "idle for less than idleMs: kept although over budget");
  assert.ok(fs.existsSync(idle.tree));

  now += 61_000;
  const r = await gc.run();
  assert.deepEqual(r.packages, [idle.id]);
  assert.equal(fs.existsSync(idle.tree), false, "the idle read-only tree is gone");
  assert.equal(fs.existsSync(path.join(c.data, "packages", "manifests", `${idle.id}.json`)), false);
  assert.equal(fs.readFileSync(path.join(used.tree, "a.txt"), "utf8"), "in use\n", "the used tree is intact");
  for (const h of used.pieces) assert.ok(c.store.has(h), `piece ${h.slice(0, 8)} of the used package stays (shared ones too)`);
  const idleOnly = idle.pieces.filter((h) => !used.pieces.includes(h));
  assert.equal(idleOnly.length, 1);
  assert.equal(c.store.has(idleOnly[0]!), false, "the idle package's own piece is gone");
  assert.ok(r.afterBytes < r.totalBytes);

  // Still over budget, but the rest is in use: a pass removes nothing, whatever the time.
  now += 10 * 3_600_000;
  const again = await gc.run();
  assert.deepEqual(again.packages, []);
  assert.ok(fs.existsSync(used.tree));
  // The pass marked it used: once the task is gone it waits idleMs more.
  inUse.clear();
  now += 30_000;
  assert.deepEqual((await gc.run()).packages, [], "used until the last pass, idle only 30 s");
  now += 31_000;
  assert.deepEqual((await gc.run()).packages, [used.id]);
});

void test("an attempt that starts using a package during a pass keeps it", async (t) => {
  const c = cache(t);
  const a = await c.add("a", { "x.txt": "a\n" });
  let calls = 0;
  // First call (the plan) sees nothing in use; the re-check right before removal sees the new attempt.
  // The clock a second ahead: a tree written in this very millisecond has an mtime past Date.now()
  // (nanoseconds against whole milliseconds), and would not count as idle even for idleMs 0.
  const gc = new PackageGc({ dataDir: c.data, budgetBytes: 0, idleMs: 0, inUse: () => (++calls === 1 ? new Set() : new Set([a.id])), log, now: () => Date.now() + 1000 });
  const r = await gc.run();
  assert.deepEqual(r.packages, []);
  assert.deepEqual(r.spared, [a.id]);
  assert.deepEqual(r.pieces, [], "and its pieces stay");
  assert.equal(fs.readFileSync(path.join(a.tree, "x.txt"), "utf8"), "a\n");
});

void test("under budget nothing goes; last use survives a restart of the agent", async (t) => {
  const c = cache(t);
  const a = await c.add("a", { "x.txt": "a\n" });
  let now = 5_000_000;
  const opts = { dataDir: c.data, idleMs: 1000, inUse: () => new Set<string>(), log, now: () => now };
  assert.deepEqual((await new PackageGc({ ...opts, budgetBytes: 1 << 30 }).run()).packages, []);
  new PackageGc({ ...opts, budgetBytes: 0 }).markUsed([a.id]);
  now += 500;
  assert.deepEqual((await new PackageGc({ ...opts, budgetBytes: 0 }).run()).packages, [], "a new collector reads the recorded use");
  now += 600;
  assert.deepEqual((await new PackageGc({ ...opts, budgetBytes: 0 }).run()).packages, [a.id]);
});

void test("the attempt manager counts starting and waiting attempts' packages as in use, and prefetches a waiting one's", async (t) => {
  const { AttemptManager } = await import("./attempts.ts");
  const { PortAllocator } = await import("./ports.ts");
  const { testAssignment, testSpec } = await import("./test-fixtures.ts");
  type Deps = ConstructorParameters<typeof AttemptManager>[0];
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-gc-manager-"));
  t.after(() => removeTree(data));
  const prepared: string[][] = [];
  const packages = { prepare: async (pins: { id: string }[]) => (prepared.push(pins.map((p) => p.id)), { paths: {} }) } as unknown as NonNullable<Deps["packages"]>;
  const manager = new AttemptManager({
    dataDir: data,
    helperCommand: ["false"],
    ports: new PortAllocator([20000, 20010]),
    reporter: { report: () => undefined } as unknown as Deps["reporter"],
    log,
    hostName: "h",
    fenceMs: () => 30_000,
    packages,
  });
  t.after(() => manager.close());
  const pin = (id: string) => ({ ref: "app:1", name: "app", version: "1", id });
  const waiting = testAssignment("w1", testSpec({ pinned: [pin(H("a"))] }), { startAfter: Date.now() + 60_000 });
  const stopped = testAssignment("s1", testSpec({ pinned: [pin(H("b"))] }), { desired: "stop", state: "running" });
  manager.reconcile([waiting, stopped]);
  manager.reconcile([waiting, stopped]);
  assert.deepEqual([...manager.packagesInUse()], [H("a")], "the waiting attempt's package; not a stopped one's");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(prepared, [[H("a")]], "fetched ahead of startAfter, once");
  manager.reconcile([]);
  assert.deepEqual([...manager.packagesInUse()], []);
});
