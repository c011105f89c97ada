import assert from "node:assert/strict";
import { test } from "node:test";
import { compileJobs } from "../spec/validate.ts";
import { assignedSpec } from "./assignments.ts";

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
