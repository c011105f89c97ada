// `rollout.checks` and `rollout.inconclusive` through the whole spec path: compileJobs (parse, compile,
// the checks between fields with their paths), the canonical schema the server receives, decompileJob.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultRolloutChecks } from "../model/judge/index.ts";
import { jobSpecSchema } from "./canonical.ts";
import { decompileJob } from "./decompile.ts";
import { checkJobSpec, compileJobs } from "./validate.ts";

const base = { name: "web", command: ["/bin/true"], ports: ["http"], metrics: { port: "http", signals: { errors: "errors_total" } } };

void test("rollout.checks: {} compiles to defaultRolloutChecks of the job's signals; absent stays absent", () => {
  const { specs, problems } = compileJobs({ ...base, rollout: { bake: "1m", checks: {} } }, "tiffin.ts");
  assert.deepEqual(problems, []);
  const rollout = specs[0]?.rollout;
  assert.deepEqual(rollout?.checks, defaultRolloutChecks({ errors: "errors_total", latency: null }));
  assert.equal(rollout?.inconclusive, undefined, '"fail", the default, is not stored');
  const plain = compileJobs({ ...base, rollout: { bake: "1m" } }, null).specs[0]?.rollout;
  assert.equal(plain && "checks" in plain, false, "a spec without checks compiles as before");
});

void test("rollout.checks: decompiled to the user's form, which compiles to the same spec", () => {
  const written = {
    ...base,
    rollout: {
      bake: "30s",
      inconclusive: "pause",
      checks: {
        crashRate: false,
        metrics: [{ signal: "errors", tolerance: "7%", slack: 0.5 }, { histogram: "req_seconds", quantile: 0.9 }, { counter: "hits_total", better: "higher" }],
        efficiency: { requests: "hits_total", tolerance: "12.5%" },
        custom: [{ http: "http://127.0.0.1:1/ok", status: 204 }, { run: "true", timeout: "2s" }],
      },
    },
  };
  const first = compileJobs(written, null);
  assert.deepEqual(first.problems, []);
  const spec = first.specs[0];
  assert.ok(spec);
  assert.equal(jobSpecSchema.safeParse(spec).success, true, "the canonical schema takes the compiled checks");
  assert.equal(spec.rollout?.inconclusive, "pause");
  const again = compileJobs(JSON.parse(JSON.stringify(decompileJob(spec))), null);
  assert.deepEqual(again.problems, []);
  assert.deepEqual(again.specs[0], spec);
});

void test("rollout.checks: refused with field paths", () => {
  const cases: [string, unknown, string][] = [
    ["a comparison without a metrics endpoint", { name: "web", command: ["/bin/true"], rollout: { checks: { metrics: [{ gauge: "g" }] } } }, "rollout.checks.metrics[0]"],
    ["an unmapped signal", { ...base, rollout: { checks: { metrics: [{ signal: "latency" }] } } }, "rollout.checks.metrics[0].signal"],
    ["a bad tolerance", { ...base, rollout: { checks: { metrics: [{ signal: "errors", tolerance: "5" }] } } }, "rollout.checks.metrics[0].tolerance"],
    ["an unknown field", { ...base, rollout: { checks: { healthy: true } } }, "rollout.checks.healthy"],
    ["a bad inconclusive", { ...base, rollout: { inconclusive: "wait" } }, "rollout.inconclusive"],
  ];
  for (const [name, input, path] of cases) {
    const { specs, problems } = compileJobs(input, "tiffin.ts");
    assert.deepEqual(specs, [], name);
    assert.ok(problems.some((p) => p.path === path), `${name}: ${JSON.stringify(problems)}`);
  }
});

void test("rollout.checks: a compiled spec sent to the server is checked between fields too", () => {
  const spec = compileJobs({ ...base, rollout: { checks: { metrics: [{ signal: "errors" }] } } }, null).specs[0];
  assert.ok(spec?.rollout?.checks);
  const sent = { ...spec, metrics: { ...spec.metrics, signals: { clients: null, errors: null, latency: null } } };
  const r = checkJobSpec(JSON.parse(JSON.stringify(sent)));
  assert.equal(r.spec, null);
  assert.ok(r.problems.some((p) => p.path === "rollout.checks.metrics[0].signal"), JSON.stringify(r.problems));
});
