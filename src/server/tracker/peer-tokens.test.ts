// Peer tokens: the pure ordering by a table, then creation and rotation on a real SQLite store with a
// clock the test moves (two PeerTokens on one store stand for two servers).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { ManualClock } from "../../model/index.ts";
import { openSqliteStore } from "../../state/sqlite.ts";
import { tempDir } from "../testing/harness.ts";
import { parsePeerTokens, PeerTokenKey, PeerTokens, tokensToHand } from "./peer-tokens.ts";

void test("tokensToHand: the previous token first while the new one settles, then the new one", () => {
  const cases: { name: string; rec: { current: string; previous: string | null; rotatedAt: number }; now: number; want: string[] }[] = [
    { name: "never rotated", rec: { current: "a", previous: null, rotatedAt: 0 }, now: 5, want: ["a"] },
    { name: "just rotated", rec: { current: "b", previous: "a", rotatedAt: 1000 }, now: 1000, want: ["a", "b"] },
    { name: "still settling", rec: { current: "b", previous: "a", rotatedAt: 1000 }, now: 1999, want: ["a", "b"] },
    { name: "settled", rec: { current: "b", previous: "a", rotatedAt: 1000 }, now: 2000, want: ["b", "a"] },
  ];
  for (const c of cases) assert.deepEqual(tokensToHand(c.rec, c.now, 1000), c.want, c.name);
});

void test("parsePeerTokens: a record, a bare token from older servers, garbage", () => {
  assert.deepEqual(parsePeerTokens(JSON.stringify({ current: "b", previous: "a", rotatedAt: 7 })), { current: "b", previous: "a", rotatedAt: 7 });
  assert.deepEqual(parsePeerTokens(JSON.stringify("old")), { current: "old", previous: null, rotatedAt: 0 });
  for (const bad of ["", "{", "42", JSON.stringify(""), JSON.stringify({ previous: "a" })]) assert.equal(parsePeerTokens(bad), null, bad);
});

void test("PeerTokens on a real store: created once for every server, rotated on time, forced, and the oldest dropped", async (t) => {
  const dir = tempDir();
  const store = openSqliteStore(path.join(dir, "state.db"));
  t.after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const clock = new ManualClock(1_000_000);
  const a = new PeerTokens({ store, clock, cacheMs: 0 });
  const b = new PeerTokens({ store, clock, cacheMs: 0 });
  const [ra, rb] = await Promise.all([a.get(), b.get()]);
  assert.equal(ra.current, rb.current, "two servers starting at once agree on one token");
  const t0 = ra.current;

  assert.equal((await a.rotate({ olderThanMs: 60_000 })).rotated, false, "not due yet");
  clock.advance(60_000);
  const [x, y] = await Promise.all([a.rotate({ olderThanMs: 60_000 }), b.rotate({ olderThanMs: 60_000 })]);
  assert.equal(Number(x.rotated) + Number(y.rotated), 1, "two timers due at once rotate once");
  const r1 = await b.get();
  assert.equal(r1.previous, t0);
  assert.equal(r1.rotatedAt, clock.now());

  const forced = await a.rotate();
  assert.equal(forced.rotated, true, "forced whatever the age");
  assert.deepEqual([forced.record.previous, (await b.get()).current], [r1.current, forced.record.current]);
  assert.ok(![forced.record.current, forced.record.previous].includes(t0), "two rotations: the first token is gone");

  // A bare token left by an older server is read, and rotated away from.
  await store.put(PeerTokenKey, JSON.stringify("legacy"));
  assert.deepEqual(await a.get(), { current: "legacy", previous: null, rotatedAt: 0 });
  assert.equal((await a.rotate({ olderThanMs: 60_000 })).record.previous, "legacy");
});
