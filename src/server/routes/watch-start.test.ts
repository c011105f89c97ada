// Where a watch starts: `from` (inclusive), else after Last-Event-ID, else a list first.

import { test } from "node:test";
import assert from "node:assert/strict";
import { startRevision, watchFilter } from "./watch.ts";

const cases: { name: string; from: string | null; lastEventId: string | string[] | undefined; want: number | null | RegExp }[] = [
  { name: "neither: list first", from: null, lastEventId: undefined, want: null },
  { name: "an empty Last-Event-ID: list first", from: null, lastEventId: "", want: null },
  { name: "from, inclusive", from: "7", lastEventId: undefined, want: 7 },
  { name: "Last-Event-ID: the revision after it", from: null, lastEventId: "7", want: 8 },
  { name: "from wins over Last-Event-ID", from: "3", lastEventId: "7", want: 3 },
  { name: "Last-Event-ID 0: from the first revision", from: null, lastEventId: "0", want: 1 },
  { name: "from 0 is refused", from: "0", lastEventId: undefined, want: /from must be a store revision \(an integer >= 1\), got "0"/ },
  { name: "from not a number", from: "abc", lastEventId: undefined, want: /got "abc"/ },
  { name: "from a fraction", from: "1.5", lastEventId: undefined, want: /got "1.5"/ },
  { name: "Last-Event-ID not a number", from: null, lastEventId: "x", want: /Last-Event-ID must be a store revision, got "x"/ },
];

for (const c of cases) {
  void test(`startRevision: ${c.name}`, () => {
    if (c.want instanceof RegExp) assert.throws(() => startRevision(c.from, c.lastEventId), { code: "TIFFIN_BAD_REQUEST", message: c.want });
    else assert.equal(startRevision(c.from, c.lastEventId), c.want);
  });
}

void test("watchFilter: repeated and comma-separated, deduplicated; refused with kinds the filter cannot apply to", () => {
  assert.deepEqual(watchFilter(["web,api", "web", " "], [], ["job", "task"]), { jobs: ["web", "api"], hosts: [] });
  assert.deepEqual(watchFilter([], [], ["host"]), { jobs: [], hosts: [] });
  assert.throws(() => watchFilter(["web"], [], ["task", "host", "alive"]), { code: "TIFFIN_BAD_REQUEST", message: /host and alive belong to no job/ });
  assert.deepEqual(watchFilter(["web"], ["h1,h2", "h1"], ["task", "attempt"]), { jobs: ["web"], hosts: ["h1", "h2"] });
  assert.deepEqual(watchFilter([], ["h1"], ["host", "alive", "task", "attempt"]), { jobs: [], hosts: ["h1"] });
  assert.throws(() => watchFilter([], ["h1"], ["job", "version", "task"]), { code: "TIFFIN_BAD_REQUEST", message: /job and version belong to no host/ });
});
