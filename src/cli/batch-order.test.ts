// Table for the workflow order `tiffin plan` prints.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobSpec } from "../model/index.ts";
import { compileJobs } from "../spec/validate.ts";
import { renderBatchOrder } from "./batch-order.ts";

const specs = (jobs: { name: string; after?: string[] }[]): JobSpec[] =>
  compileJobs(jobs.map((j) => ({ name: j.name, command: "true", batch: j.after ? { after: j.after } : {} })), null).specs;

void test("plan's batch order: upstream first, jobs outside the file named, nothing without edges", () => {
  const cases: { name: string; jobs: { name: string; after?: string[] }[]; want: string }[] = [
    { name: "no edges", jobs: [{ name: "a" }, { name: "b" }], want: "" },
    { name: "chain written backwards", jobs: [{ name: "load", after: ["transform"] }, { name: "transform", after: ["extract"] }, { name: "extract" }], want: "batch order: extract, then transform, then load (each run waits for the newest runs of the jobs it names)\n" },
    { name: "outside", jobs: [{ name: "b", after: ["a", "stored"] }, { name: "a" }], want: "batch order: a, then b (each run waits for the newest runs of the jobs it names); on jobs not in this file: b after stored\n" },
  ];
  for (const c of cases) assert.equal(renderBatchOrder(specs(c.jobs)), c.want, c.name);
});
