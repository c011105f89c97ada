// The tracker's body checks, by table: what is taken as sent, and what is a 400 naming the problem.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TiffinError } from "../../model/index.ts";
import { announceOf, planRequestOf, reportOf } from "./wire.ts";

const sha = "a".repeat(64);
const plan = { packageId: sha, address: "10.0.0.1:7072", total: 4, missing: [1, 2], inflight: [] };
const report = { packageId: sha, peer: "h2", piece: sha, reason: "hash mismatch" };

/** The problem paths of a rejected body, or "ok". */
function outcome(fn: () => unknown): string[] | "ok" {
  try {
    fn();
    return "ok";
  } catch (err) {
    assert.ok(err instanceof TiffinError && err.code === "TIFFIN_BAD_REQUEST", String(err));
    assert.match(err.message, /body must be \{/);
    return err.problems.map((p) => p.path);
  }
}

const cases: { name: string; run: () => unknown; want: string[] | "ok" }[] = [
  { name: "announce", run: () => announceOf({ address: "[fd00::1]:7072", full: true, packages: [{ id: sha, complete: false, pieces: [0, 3] }] }), want: "ok" },
  { name: "announce: a piece index that is not whole", run: () => announceOf({ address: "h:1", full: true, packages: [{ id: sha, complete: false, pieces: [0.5] }] }), want: ["packages[0].pieces[0]"] },
  { name: "announce: an address with a path", run: () => announceOf({ address: "h:1/x", full: true, packages: [] }), want: ["address"] },
  { name: "announce: null", run: () => announceOf(null), want: [""] },
  { name: "plan", run: () => planRequestOf({ ...plan, fallback: [1], stuck: [] }), want: "ok" },
  { name: "plan: a bad package id", run: () => planRequestOf({ ...plan, packageId: "A".repeat(64) }), want: ["packageId"] },
  { name: "plan: a negative total", run: () => planRequestOf({ ...plan, total: -1 }), want: ["total"] },
  { name: "plan: an index past the limit", run: () => planRequestOf({ ...plan, missing: [1 << 20] }), want: ["missing[0]"] },
  { name: "plan: the second index is not a number", run: () => planRequestOf({ ...plan, inflight: [3, "4"] }), want: ["inflight[1]"] },
  { name: "report", run: () => reportOf(report), want: "ok" },
  { name: "report: missing with its index", run: () => reportOf({ ...report, kind: "missing", index: 3 }), want: "ok" },
  { name: "report: missing without an index", run: () => reportOf({ ...report, kind: "missing" }), want: ["index"] },
  { name: "report: an unknown kind", run: () => reportOf({ ...report, kind: "rude" }), want: ["kind"] },
];

for (const c of cases) void test(c.name, () => assert.deepEqual(outcome(c.run), c.want));

void test("report: the reason is cut to 200 characters", () => {
  assert.equal(reportOf({ ...report, reason: "x".repeat(1000) }).reason.length, 200);
});

void test("a full-size index list is checked in well under a second", () => {
  const missing = Array.from({ length: (1 << 20) - 1 }, (_, i) => i);
  const t0 = performance.now();
  planRequestOf({ ...plan, total: 1 << 20, missing });
  assert.ok(performance.now() - t0 < 100, `${performance.now() - t0} ms`);
});
