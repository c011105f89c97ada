import assert from "node:assert/strict";
import { test } from "node:test";
import { compileJobs } from "../spec/validate.ts";
import type { Assignment } from "../api/types.ts";
import { assignedSpec, sameAssignments } from "./assignments.ts";
import { attempt } from "./testing/fixtures.ts";

const specOf = (job: Record<string, unknown>) => {
  const s = compileJobs({ name: "j", command: "true", ...job }, "t").specs[0];
  assert.ok(s);
  return s;
};

void test("assignedSpec: a batch job's work items are not sent with each attempt; everything else is", () => {
  const cases: { name: string; job: Record<string, unknown>; same: boolean }[] = [
    { name: "a service", job: {}, same: true },
    { name: "a batch job by count", job: { batch: { completions: 5 } }, same: true },
    { name: "a batch job with items", job: { batch: { items: ["a", "b", "c"] } }, same: false },
  ];
  for (const c of cases) {
    const spec = specOf(c.job);
    const out = assignedSpec(spec);
    assert.equal(out === spec, c.same, c.name);
    assert.deepEqual({ ...out, batch: undefined }, { ...spec, batch: undefined }, `${c.name}: the rest as it is`);
    if (spec.batch) assert.deepEqual(out.batch, { ...spec.batch, items: null }, c.name);
    assert.equal(assignedSpec(spec), out, `${c.name}: the same object again (sets compare cheaply)`);
  }
});

void test("sameAssignments: a stream gets a set again only when a record in it changed", () => {
  const spec = specOf({});
  const a1 = attempt("a1", 0, { state: "running" });
  const a2 = attempt("a2", 1, { state: "running" });
  const set = [{ attempt: a1, spec }, { attempt: a2, spec }];
  const cases: { name: string; last: Assignment[] | null; next: Assignment[]; want: boolean }[] = [
    { name: "nothing sent yet", last: null, next: set, want: false },
    { name: "the very same records", last: set, next: [...set], want: true },
    { name: "an attempt record replaced (a report, a stop)", last: set, next: [set[0]!, { attempt: { ...a2, desired: "stop" }, spec }], want: false },
    { name: "an attempt added", last: set, next: [...set, { attempt: attempt("a3", 2), spec }], want: false },
    { name: "an attempt gone (it ended)", last: set, next: [set[0]!], want: false },
    { name: "another spec object (a new version record)", last: set, next: [set[0]!, { attempt: a2, spec: { ...spec } }], want: false },
    { name: "a secret's value changed", last: [{ attempt: a1, spec, secrets: { s: "old" } }], next: [{ attempt: a1, spec, secrets: { s: "new" } }], want: false },
    { name: "equal secrets", last: [{ attempt: a1, spec, secrets: { s: "v" } }], next: [{ attempt: a1, spec, secrets: { s: "v" } }], want: true },
  ];
  for (const c of cases) assert.equal(sameAssignments(c.last, c.next), c.want, c.name);
});
