// Every-host jobs in the spec: `replicas: "every-host"` compiles to `everyHost: true` (replicas 0,
// the server keeps the count), prints back the same way, and bad values are refused at `replicas`.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decompileJob } from "./decompile.ts";
import { checkJobSpec, compileJobs } from "./validate.ts";

void test("replicas: every-host compiles, validates and round-trips", () => {
  const { specs, problems } = compileJobs({ name: "node-exporter", command: ["./exporter"], replicas: "every-host" }, "tiffin.ts");
  assert.deepEqual(problems, []);
  const [spec] = specs;
  assert.ok(spec);
  assert.equal(spec.everyHost, true);
  assert.equal(spec.replicas, 0);
  assert.deepEqual(checkJobSpec(spec).problems, []);
  const user = decompileJob(spec);
  assert.equal(user["replicas"], "every-host");
  assert.deepEqual(compileJobs(user, null).specs, [spec]);
});

void test("a counted job has no everyHost field (stored specs read unchanged)", () => {
  const [spec] = compileJobs({ name: "web", command: ["./web"], replicas: 3 }, null).specs;
  assert.ok(spec);
  assert.equal("everyHost" in spec, false);
  assert.equal(decompileJob(spec)["replicas"], 3);
});

void test("bad replicas values are refused with the field path", () => {
  const cases: [string, unknown][] = [
    ["a misspelled mode", "every_host"],
    ["another word", "all"],
    ["a negative count", -1],
  ];
  for (const [name, replicas] of cases) {
    const { problems } = compileJobs({ name: "x", command: ["./x"], replicas }, "tiffin.ts");
    assert.equal(problems.length, 1, name);
    assert.equal(problems[0]?.path, "replicas", name);
  }
  const [spec] = compileJobs({ name: "x", command: ["./x"], replicas: "every-host" }, null).specs;
  assert.ok(spec);
  const both = checkJobSpec({ ...spec, replicas: 3 });
  assert.equal(both.problems.length, 1);
  assert.equal(both.problems[0]?.path, "replicas");
  assert.match(both.problems[0]?.message ?? "", /every-host/);
});

void test("replicas problems say what is expected", () => {
  const cases: [unknown, RegExp][] = [
    ["all", /^expected a task count \(0 to 10000\) or "every-host"$/],
    [2.5, /^expected a whole number/],
    [Number.NaN, /^expected a finite number, got NaN$/],
    [true, /"every-host"/],
  ];
  for (const [replicas, want] of cases) {
    const { problems } = compileJobs({ name: "x", command: ["./x"], replicas }, null);
    assert.match(problems[0]?.message ?? "", want, String(replicas));
  }
});
