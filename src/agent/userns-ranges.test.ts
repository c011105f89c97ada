// The user namespace range of each job (issue 17): the pure choice by tables, and the agent's table
// in a real data dir (kept across restarts, rebuilt from the owners on disk when unreadable).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import pino from "pino";
import { shiftIntoRange, USERNS_HOST_BASE, USERNS_POOL_END, USERNS_RANGE_SIZE } from "../helper/protocol.ts";
import { assignRange, FirstSlot, LastSlot, parseSubIds, slotBase, slotUsable } from "./userns-ranges.ts";
import type { RangeContext, RangeDecision, RangeTable } from "./userns-ranges.ts";
import { RangeClaims, rangesFile } from "./userns-claims.ts";
import { UsernsRanges } from "./userns-store.ts";

const H = 3_600_000;
const base: RangeContext = { now: 10 * H, reserved: [], busy: () => false, slots: { first: 1, last: 3 } };

const cases: { name: string; table: RangeTable; job: string; ctx?: Partial<RangeContext>; want: { slot: number; reclaimed?: string } | "exhausted" }[] = [
  { name: "a job keeps its range", table: { web: { slot: 2, usedAt: 0 } }, job: "web", want: { slot: 2 } },
  { name: "a new job takes the lowest free slot", table: { web: { slot: 1, usedAt: 0 } }, job: "db", want: { slot: 2 } },
  { name: "jobs of other namespaces are other holders", table: { web: { slot: 1, usedAt: 0 } }, job: "web.team-a", want: { slot: 2 } },
  { name: "a free slot before reclaiming any", table: { a: { slot: 1, usedAt: 0 }, c: { slot: 3, usedAt: 0 } }, job: "b", want: { slot: 2 } },
  { name: "slots overlapping /etc/subuid are skipped", table: {}, job: "web", ctx: { reserved: [{ start: slotBase(1) + 100, count: 10 }] }, want: { slot: 2 } },
  { name: "full: the range unused longest, of a job with nothing left here", table: { a: { slot: 1, usedAt: 2 * H }, b: { slot: 2, usedAt: 1 * H }, c: { slot: 3, usedAt: 3 * H } }, job: "d", want: { slot: 2, reclaimed: "b" } },
  { name: "full: never from a job with an attempt or state dir here", table: { a: { slot: 1, usedAt: 2 * H }, b: { slot: 2, usedAt: 1 * H }, c: { slot: 3, usedAt: 3 * H } }, job: "d", ctx: { busy: (j) => j === "b" }, want: { slot: 1, reclaimed: "a" } },
  { name: "full: never from a job that used its range within the grace", table: { a: { slot: 1, usedAt: 9.5 * H }, b: { slot: 2, usedAt: 9.9 * H }, c: { slot: 3, usedAt: 9.2 * H } }, job: "d", want: "exhausted" },
  { name: "full and all busy: none", table: { a: { slot: 1, usedAt: 0 }, b: { slot: 2, usedAt: 0 }, c: { slot: 3, usedAt: 0 } }, job: "d", ctx: { busy: () => true }, want: "exhausted" },
];

for (const c of cases) {
  void test(`assignRange: ${c.name}`, () => {
    const d: RangeDecision = assignRange(c.table, c.job, { ...base, ...c.ctx });
    if (c.want === "exhausted") return assert.deepEqual(d, { exhausted: true });
    assert.ok(!("exhausted" in d));
    assert.equal(d.slot, c.want.slot);
    assert.equal(d.reclaimed, c.want.reclaimed ?? null);
    assert.deepEqual(d.table[c.job], { slot: c.want.slot, usedAt: Math.max(base.now, c.table[c.job]?.usedAt ?? 0) });
    if (c.want.reclaimed) assert.equal(d.table[c.want.reclaimed], undefined, "the old holder loses it");
    assert.equal(new Set(Object.values(d.table).map((e) => e.slot)).size, Object.keys(d.table).length, "no slot held twice");
  });
}

void test("the pool: far above real users and below 2^31; slot 0 (the old shared range) is never given", () => {
  assert.equal(slotBase(FirstSlot), USERNS_HOST_BASE + USERNS_RANGE_SIZE);
  assert.ok(slotBase(LastSlot) + USERNS_RANGE_SIZE <= USERNS_POOL_END);
  assert.ok(slotBase(LastSlot + 1) + USERNS_RANGE_SIZE > USERNS_POOL_END);
  assert.equal(LastSlot, 17508);
  const d = assignRange({}, "web", { now: 0, reserved: [], busy: () => false });
  assert.ok(!("exhausted" in d) && d.slot === 1);
  assert.equal(slotUsable(5, [{ start: slotBase(5) + USERNS_RANGE_SIZE, count: 1 }]), true, "a range ending where another starts does not overlap");
  assert.equal(slotUsable(5, [{ start: slotBase(5) - 1, count: 2 }]), false);
});

void test("parseSubIds: name:start:count lines", () => {
  assert.deepEqual(parseSubIds("root:100000:65536\n# comment\nbad line\nalice:165536:65536\n\n"), [{ start: 100000, count: 65536 }, { start: 165536, count: 65536 }]);
});

void test("shiftIntoRange: ids of any Tiffin range keep their id inside; other host ids stay", () => {
  const to = slotBase(7);
  const table: [number, number][] = [[0, 0], [1000, 1000], [65534, 65534], [USERNS_HOST_BASE, to], [USERNS_HOST_BASE + 65534, to + 65534], [slotBase(3) + 33, to + 33], [to + 5, to + 5], [USERNS_POOL_END, USERNS_POOL_END]];
  for (const [id, want] of table) assert.equal(shiftIntoRange(id, to), want, String(id));
});

void test("UsernsRanges: kept in the data dir across restarts; an unreadable table is rebuilt from the owners on disk", (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-userns-"));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const log = pino({ level: "silent" });
  const a = new UsernsRanges({ dataDir, log, reserved: [] });
  const web = a.hostBaseOf("web");
  const db = a.hostBaseOf("db");
  assert.equal(web, slotBase(1));
  assert.equal(db, slotBase(2));
  assert.equal(fs.statSync(rangesFile(dataDir)).mode & 0o777, 0o600);
  const b = new UsernsRanges({ dataDir, log, reserved: [] });
  assert.equal(b.hostBaseOf("db"), db, "a restarted agent gives the same range");
  assert.equal(b.hostBaseOf("new"), slotBase(3));
  // A state dir of "db" and an attempt of "web" on disk; the table lost.
  const home = path.join(dataDir, "state", "db", "0", "home");
  fs.mkdirSync(home, { recursive: true });
  fs.chownSync(home, db!, db!);
  const work = path.join(dataDir, "attempts", "att-1", "work");
  fs.mkdirSync(work, { recursive: true });
  fs.writeFileSync(path.join(dataDir, "attempts", "att-1", "attempt.json"), JSON.stringify({ job: "web" }));
  fs.chownSync(work, web!, web!);
  fs.writeFileSync(rangesFile(dataDir), "{ truncated");
  const c = new UsernsRanges({ dataDir, log, reserved: [] });
  assert.ok(fs.readdirSync(dataDir).some((n) => n.startsWith("userns-ranges.json.unreadable-")), "set aside");
  assert.equal(c.hostBaseOf("other"), slotBase(3), "not a range files on disk still have");
  assert.equal(c.hostBaseOf("db"), db);
  assert.equal(c.hostBaseOf("web"), web);
  // Small pool, full: a job with nothing left here gives its range up after the grace; busy ones never.
  let now = Date.now();
  const d = new UsernsRanges({ dataDir: fs.mkdtempSync(path.join(dataDir, "d-")), log, reserved: [], slots: { first: 1, last: 1 }, now: () => now, graceMs: 1000 });
  assert.equal(d.hostBaseOf("x"), slotBase(1));
  assert.deepEqual(d.hostBaseOf("y"), { refused: "exhausted" }, "within the grace: none");
  now += 2000;
  assert.equal(d.hostBaseOf("y"), slotBase(1), "after it: taken over");
  // A table that cannot be written gives no range (a restarted agent could hand it to another job).
  const ro = fs.mkdtempSync(path.join(dataDir, "ro-"));
  const e = new UsernsRanges({ dataDir: ro, log, reserved: [] });
  fs.mkdirSync(rangesFile(ro));
  const got = e.hostBaseOf("z");
  assert.ok(typeof got === "object" && got.refused === "unrecorded" && /EISDIR|EPERM|ENOTDIR|EEXIST/.test(got.error), JSON.stringify(got));
  fs.rmdirSync(rangesFile(ro));
  assert.equal(e.hostBaseOf("z"), slotBase(1), "the same slot once it can be written");
});

void test("RangeClaims: agents of one machine never share a range; a claim whose agent's table lost it (data dir gone) is taken", (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-claims-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, "claims");
  const log = pino({ level: "silent" });
  const agent = (name: string, youngMs = 0): { dataDir: string; ranges: UsernsRanges; claims: RangeClaims } => {
    const dataDir = path.join(root, name);
    fs.mkdirSync(dataDir, { recursive: true });
    const claims = new RangeClaims({ dir, dataDir, youngMs });
    return { dataDir, claims, ranges: new UsernsRanges({ dataDir, log, reserved: [], claims }) };
  };
  const a = agent("a");
  const b = agent("b");
  assert.equal(a.ranges.hostBaseOf("web"), slotBase(1));
  assert.equal(b.ranges.hostBaseOf("web"), slotBase(2), "the same job id on another agent of this machine: another range");
  assert.equal(b.ranges.hostBaseOf("db"), slotBase(3));
  assert.equal(a.ranges.hostBaseOf("web"), slotBase(1), "a's own claim");
  assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
  assert.equal(fs.readlinkSync(path.join(dir, "1")), path.resolve(a.dataDir));
  // A claim just made counts before its agent's table lists the slot.
  const young = agent("young", 60_000);
  assert.equal(young.claims.claim(9), true);
  assert.equal(agent("other").claims.claim(9), true, "old enough (youngMs 0) and not in young's table: stale");
  assert.equal(young.claims.claim(9), false, "now the other's, and young by its default youngMs");
  // a's data dir removed (a test's temp dir, a host wiped): its claims are stale.
  fs.rmSync(a.dataDir, { recursive: true, force: true });
  const c = agent("c");
  assert.equal(c.ranges.hostBaseOf("x"), slotBase(1), "a's stale claim taken");
  assert.deepEqual(fs.readdirSync(dir).filter((n) => n.includes(".stale-")), [], "nothing left aside");
  // Two agents that shared ranges before claims: the one whose range another agent claims gets a new one.
  const d = agent("d");
  fs.writeFileSync(rangesFile(d.dataDir), JSON.stringify({ version: 1, jobs: { old: { slot: 3, usedAt: 0 } } }));
  const d2 = new UsernsRanges({ dataDir: d.dataDir, log, reserved: [], claims: d.claims });
  assert.equal(d2.hostBaseOf("old"), slotBase(4), "slot 3 is b's (db)");
  const saved = JSON.parse(fs.readFileSync(rangesFile(d.dataDir), "utf8")) as { jobs: Record<string, { slot: number }> };
  assert.equal(saved.jobs["old"]?.slot, 4);
});
