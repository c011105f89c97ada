import { test } from "node:test";
import assert from "node:assert/strict";
import { command, defaults, http, job, tcp } from "./index.ts";
import type { JobInput } from "./index.ts";
import { defaultsBrand, hasBrand, jobBrand } from "./brand.ts";
import { compileJobs } from "./validate.ts";

void test("job() keeps the input as given and marks it invisibly", () => {
  const input: JobInput = { name: "web", command: ["./web"], resources: { memory: "1Gi" } };
  const j = job(input);
  assert.deepEqual({ ...j }, input);
  assert.ok(hasBrand(j, jobBrand));
  assert.equal(JSON.stringify(j), JSON.stringify(input));
});

void test("defaults() spread into a job does not carry its mark", () => {
  const web = defaults({ resources: { cpu: 0.5 }, spread: "cluster" });
  assert.ok(hasBrand(web, defaultsBrand));
  const j = job({ ...web, name: "web", command: ["./web"] });
  assert.ok(!hasBrand(j, defaultsBrand));
  const { specs } = compileJobs(j, null);
  assert.equal(specs[0]?.spread, "cluster");
  assert.equal(specs[0]?.resources.cpu, 0.5);
});

void test("exporting a defaults() value as a job is explained", () => {
  const { problems } = compileJobs(defaults({ replicas: 2 }), "spec.ts");
  assert.equal(problems.length, 1);
  assert.match(problems[0]!.message, /defaults/);
});

void test("health builders add their kind", () => {
  assert.deepEqual(http({ port: "http", path: "/healthz" }), { kind: "http", port: "http", path: "/healthz" });
  assert.deepEqual(tcp({ port: "db", every: "5s" }), { kind: "tcp", port: "db", every: "5s" });
  assert.deepEqual(command({ run: ["true"], then: "move" }), { kind: "command", run: ["true"], then: "move" });
});
