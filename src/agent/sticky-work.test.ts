// Which earlier attempt hands its work dir to a new attempt of an endure job (sticky-work.ts), by table.
import assert from "node:assert/strict";
import { test } from "node:test";
import { keepsWorkDir, stickyWorkSource } from "./sticky-work.ts";
import type { WorkDirCandidate } from "./sticky-work.ts";
import { testSpec } from "./test-fixtures.ts";

const d = (id: string, createdAt: number, over: Partial<WorkDirCandidate> = {}): WorkDirCandidate => ({ id, job: "db", index: 0, createdAt, live: false, hasWork: true, ...over });
const task = { job: "db", index: 0, newId: "new" };

const cases: { name: string; dirs: WorkDirCandidate[]; want: string | null }[] = [
  { name: "no earlier attempt: a fresh work dir", dirs: [], want: null },
  { name: "the newest ended attempt's", dirs: [d("a", 1), d("b", 2)], want: "b" },
  { name: "the new attempt itself is never its own source", dirs: [d("a", 1), d("new", 3)], want: "a" },
  { name: "another task's or job's never", dirs: [d("x", 5, { index: 1 }), d("y", 6, { job: "web" })], want: null },
  { name: "the newest still runs: nothing (its dir is in use, an older copy is stale)", dirs: [d("a", 1), d("b", 2, { live: true })], want: null },
  { name: "a newer one without a work dir (never started) is passed over", dirs: [d("a", 1), d("b", 2, { hasWork: false })], want: "a" },
  { name: "same time: the id order decides, as cleanup does", dirs: [d("a", 1), d("b", 1)], want: "b" },
];

for (const c of cases) void test(`sticky work source: ${c.name}`, () => assert.equal(stickyWorkSource(c.dirs, task), c.want));

void test("only jobs that endure maintenance keep their work dir", () => {
  assert.equal(keepsWorkDir({ spec: testSpec({ maintenance: "endure" }) }), true);
  assert.equal(keepsWorkDir({ spec: testSpec({ maintenance: "move" }) }), false);
});
