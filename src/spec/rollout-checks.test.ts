import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultRolloutChecks, rolloutChecksSchema } from "../model/judge/index.ts";
import type { MetricsEndpoint } from "../model/index.ts";
import { parseRolloutChecks } from "./rollout-checks.ts";

const endpoint: MetricsEndpoint = { port: "http", path: "/metrics", intervalMs: 10_000, timeoutMs: 5000, quantile: 0.99, signals: { clients: null, errors: "errors_total", latency: "req_seconds" } };
const at = ["jobs", 0, "rollout", "checks"];

void test("parseRolloutChecks: defaults and a full spec compile to the stored form", () => {
  const none = parseRolloutChecks(undefined, null, at, null);
  assert.deepEqual(none.checks, defaultRolloutChecks());
  const full = parseRolloutChecks(
    {
      crashRate: { tolerance: "20%", minExposure: "5m" },
      metrics: [{ signal: "errors", tolerance: "5%", slack: 0.01 }, { histogram: "req_seconds", quantile: 0.99, tolerance: "10%" }, { gauge: "qps", better: "higher", minSamples: 20 }],
      efficiency: { requests: "http_requests_total" },
      custom: [{ http: "http://127.0.0.1:9000/ok", status: [200, 204] }, { run: "curl -fs localhost/health", timeout: "5s" }],
    },
    endpoint,
    at,
    "tiffin.ts",
  );
  assert.deepEqual(full.problems, []);
  assert.deepEqual(full.checks, {
    health: true,
    crashRate: { tolerance: 0.2, alpha: 0.05, minExposureMs: 300_000 },
    metrics: [
      { metric: { kind: "signal", signal: "errors" }, better: "lower", tolerance: 0.05, slack: 0.01, alpha: 0.05, minSamples: 10 },
      { metric: { kind: "histogram", name: "req_seconds", quantile: 0.99 }, better: "lower", tolerance: 0.1, slack: 0, alpha: 0.05, minSamples: 10 },
      { metric: { kind: "gauge", name: "qps" }, better: "higher", tolerance: 0.05, slack: 0, alpha: 0.05, minSamples: 20 },
    ],
    efficiency: { requests: "http_requests_total", tolerance: 0.05, alpha: 0.05, minSamples: 10 },
    custom: [
      { kind: "http", url: "http://127.0.0.1:9000/ok", statuses: [200, 204], timeoutMs: 10_000 },
      { kind: "command", run: ["/bin/sh", "-c", "curl -fs localhost/health"], timeoutMs: 5000 },
    ],
  });
  assert.ok(rolloutChecksSchema.safeParse(full.checks).success, "the compiled form fits the stored schema");
  assert.equal(parseRolloutChecks({ crashRate: false }, null, at, null).checks?.crashRate, null);
});

void test("parseRolloutChecks: a job with metrics gets its errors and latency compared unless it writes `metrics`", () => {
  const d = parseRolloutChecks(undefined, endpoint, at, null).checks;
  assert.deepEqual(d?.metrics, [
    { metric: { kind: "signal", signal: "errors" }, better: "lower", tolerance: 0.05, slack: 0.01, alpha: 0.05, minSamples: 10 },
    { metric: { kind: "signal", signal: "latency" }, better: "lower", tolerance: 0.1, slack: 0, alpha: 0.05, minSamples: 10 },
  ]);
  assert.deepEqual(d, defaultRolloutChecks(endpoint.signals));
  const onlyErrors = parseRolloutChecks({}, { ...endpoint, signals: { clients: "c", errors: "e_total", latency: null } }, at, null).checks;
  assert.deepEqual(onlyErrors?.metrics.map((m) => m.metric), [{ kind: "signal", signal: "errors" }]);
  assert.deepEqual(parseRolloutChecks({ metrics: [] }, endpoint, at, null).checks?.metrics, [], "an empty list turns them off");
  assert.deepEqual(parseRolloutChecks({}, null, at, null).checks?.metrics, [], "no endpoint, nothing to compare");
});

void test("parseRolloutChecks: bad specs are refused with the field path, message and value", () => {
  const cases: [string, unknown, MetricsEndpoint | null, { path: string; message: RegExp; value: string | null }][] = [
    ["tolerance not a percentage", { metrics: [{ signal: "errors", tolerance: 0.05 }] }, endpoint, { path: "jobs[0].rollout.checks.metrics[0].tolerance", message: /percentage/, value: "0.05" }],
    ["two metrics in one comparison", { metrics: [{ signal: "errors", counter: "x_total" }] }, endpoint, { path: "jobs[0].rollout.checks.metrics[0].counter", message: /exactly one/, value: '"x_total"' }],
    ["no metric named", { metrics: [{ tolerance: "5%" }] }, endpoint, { path: "jobs[0].rollout.checks.metrics[0].signal", message: /exactly one/, value: null }],
    ["quantile without histogram", { metrics: [{ gauge: "g", quantile: 0.5 }] }, endpoint, { path: "jobs[0].rollout.checks.metrics[0].quantile", message: /histogram/, value: "0.5" }],
    ["bad metric name", { metrics: [{ counter: "9bad" }] }, endpoint, { path: "jobs[0].rollout.checks.metrics[0].counter", message: /Prometheus metric name/, value: '"9bad"' }],
    ["unmapped signal", { metrics: [{ signal: "clients" }] }, endpoint, { path: "jobs[0].rollout.checks.metrics[0].signal", message: /not mapped/, value: '"clients"' }],
    ["metric comparison without an endpoint", { metrics: [{ signal: "errors" }] }, null, { path: "jobs[0].rollout.checks.metrics[0]", message: /needs the job's `metrics`/, value: '{"signal":"errors"}' }],
    ["efficiency without an endpoint", { efficiency: { requests: "r_total" } }, null, { path: "jobs[0].rollout.checks.efficiency", message: /declare one/, value: '{"requests":"r_total"}' }],
    ["alpha out of range", { crashRate: { alpha: 2 } }, null, { path: "jobs[0].rollout.checks.crashRate.alpha", message: /at most 0.5/, value: "2" }],
    ["not a URL", { custom: [{ http: "localhost/ok" }] }, null, { path: "jobs[0].rollout.checks.custom[0].http", message: /URL/, value: '"localhost/ok"' }],
    ["status range backwards", { custom: [{ http: "http://a/", status: [299, 200] }] }, null, { path: "jobs[0].rollout.checks.custom[0].status", message: /first status/, value: "[299,200]" }],
    ["timeout not a duration", { custom: [{ run: ["true"], timeout: "soon" }] }, null, { path: "jobs[0].rollout.checks.custom[0].timeout", message: /duration/, value: '"soon"' }],
    ["unknown field", { metric: [] }, null, { path: "jobs[0].rollout.checks.metric", message: /unknown field/, value: "[]" }],
  ];
  for (const [name, raw, metrics, want] of cases) {
    const r = parseRolloutChecks(raw, metrics, at, "tiffin.ts");
    assert.equal(r.checks, null, name);
    const p = r.problems.find((x) => x.path === want.path);
    assert.ok(p, `${name}: no problem at ${want.path}: ${JSON.stringify(r.problems)}`);
    assert.match(p.message, want.message, name);
    assert.equal(p.value, want.value, name);
    assert.equal(p.file, "tiffin.ts");
  }
});
