// When a host record may be removed, by a table.
import assert from "node:assert/strict";
import { test } from "node:test";
import { removalBlocker } from "./host-remove.ts";
import type { RemovalFacts } from "./host-remove.ts";

void test("removalBlocker: only a down host with nothing left there", () => {
  const base: RemovalFacts = { name: "alpha", status: "down", liveAttempts: [], placedTasks: [] };
  const cases: { name: string; facts: Partial<RemovalFacts>; want: RegExp | null }[] = [
    { name: "down and empty", facts: {}, want: null },
    { name: "up", facts: { status: "up" }, want: /host alpha is up/ },
    { name: "suspect", facts: { status: "suspect" }, want: /is suspect/ },
    { name: "upgrading", facts: { status: "upgrading" }, want: /is upgrading/ },
    { name: "an attempt that may still run", facts: { liveAttempts: ["web/0 (running)"], placedTasks: ["web/0"] }, want: /1 task\(s\).*web\/0 \(running\)$/ },
    { name: "a task still placed, its attempt ended", facts: { placedTasks: ["db/2"] }, want: /1 task\(s\).*db\/2$/ },
    { name: "many: the first ten shown", facts: { placedTasks: Array.from({ length: 12 }, (_, i) => `w/${i}`) }, want: /12 task\(s\).*w\/9, and 2 more$/ },
  ];
  for (const c of cases) {
    const got = removalBlocker({ ...base, ...c.facts });
    if (c.want === null) assert.equal(got, null, c.name);
    else {
      assert.ok(got, c.name);
      assert.match(got.message, c.want, c.name);
      assert.ok(got.hint.length > 0, `${c.name}: a hint`);
    }
  }
});
