// Metric health checks in specs: how users write them (`health: metric({...})` or a list with a
// probe), what they compile to, the user's form back, and the bad checks refused with field paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileJobs, validateJobSpec } from "./validate.ts";
import { decompileJob } from "./decompile.ts";
import { http, metric } from "./index.ts";

const endpoint = { port: "http", signals: { errors: "http_errors_total", clients: "http_clients", latency: "http_seconds" } };
const base = { name: "web", command: ["./web"], ports: ["http"], metrics: endpoint };

void test("metric(): one check alone, or a list with one probe; compiled to metricChecks, printed back in the user's form", () => {
  const one = compileJobs({ ...base, health: metric({ signal: "errors", above: 5, for: "30s" }) }, null);
  assert.deepEqual(one.problems, []);
  const s1 = one.specs[0]!;
  assert.equal(s1.health, null);
  assert.deepEqual(s1.metricChecks, [{ signal: "errors", when: "above", threshold: 5, forMs: 30_000, graceMs: 30_000, action: "restart" }]);

  const list = compileJobs({
    ...base,
    health: [
      http({ port: "http", path: "/healthz" }),
      metric({ signal: "latency", above: 0.2, for: "1m", then: "move", grace: "10s" }),
      metric({ signal: "clients", below: 1, for: "5m" }),
    ],
  }, null);
  assert.deepEqual(list.problems, []);
  const s2 = list.specs[0]!;
  assert.equal(s2.health?.kind, "http");
  assert.deepEqual(s2.metricChecks, [
    { signal: "latency", when: "above", threshold: 0.2, forMs: 60_000, graceMs: 10_000, action: "move" },
    { signal: "clients", when: "below", threshold: 1, forMs: 300_000, graceMs: 30_000, action: "restart" },
  ]);
  assert.deepEqual(validateJobSpec(JSON.parse(JSON.stringify(s2))), []);
  const back = decompileJob(s2);
  assert.deepEqual((back["health"] as unknown[]).slice(1), [
    { kind: "metric", signal: "latency", above: 0.2, for: "1m", then: "move", grace: "10s" },
    { kind: "metric", signal: "clients", below: 1, for: "5m", then: "restart", grace: "30s" },
  ]);
  // The user's form compiles to the same spec.
  assert.deepEqual(compileJobs(back, null).specs[0], s2);
  assert.deepEqual(compileJobs(decompileJob(s1), null).specs[0], s1);
  // `for` left out: 1m, or three scrape intervals when longer (never refused for the interval).
  const slow = compileJobs({ ...base, metrics: { ...endpoint, interval: "90s" }, health: metric({ signal: "errors", above: 5 }) }, null);
  assert.deepEqual(slow.problems, []);
  assert.equal(slow.specs[0]?.metricChecks?.[0]?.forMs, 270_000);
  assert.equal(compileJobs({ ...base, health: metric({ signal: "errors", above: 5 }) }, null).specs[0]?.metricChecks?.[0]?.forMs, 60_000);

  // Without metric checks nothing changes: no metricChecks field, `health` a single check.
  const plain = compileJobs({ ...base, health: http({ port: "http" }) }, null).specs[0]!;
  assert.equal("metricChecks" in plain, false);
  assert.equal((decompileJob(plain)["health"] as { kind: string }).kind, "http");
});

void test("bad metric checks are refused at plan with the field path", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ["unknown signal", { ...base, health: { kind: "metric", signal: "cpu", above: 1, for: "30s" } }, "health.signal"],
    ["negative threshold", { ...base, health: { kind: "metric", signal: "errors", above: -1, for: "30s" } }, "health.above"],
    ["neither above nor below", { ...base, health: { kind: "metric", signal: "errors", for: "30s" } }, "health.above"],
    ["both above and below", { ...base, health: { kind: "metric", signal: "errors", above: 5, below: 1, for: "30s" } }, "health.below"],
    // Signals are never negative: "clients at 0" is below: 1, and below: 0 would silently never fire.
    ["below 0 can never breach", { ...base, health: { kind: "metric", signal: "clients", below: 0, for: "5m" } }, "health.below"],
    ["for shorter than the scrape interval", { ...base, health: { kind: "metric", signal: "errors", above: 5, for: "5s" } }, "health.for"],
    ["for shorter than a custom interval, in a list", { ...base, metrics: { ...endpoint, interval: "1m" }, health: [http({ port: "http" }), metric({ signal: "errors", above: 5, for: "30s" })] }, "health[1].for"],
    ["signal not mapped", { ...base, metrics: { port: "http" }, health: [metric({ signal: "errors", above: 5, for: "30s" })] }, "health[0].signal"],
    ["no metrics endpoint", { name: "web", command: ["./web"], health: metric({ signal: "errors", above: 5, for: "30s" }) }, "health"],
    ["two probes", { ...base, health: [http({ port: "http" }), metric({ signal: "errors", above: 5 }), { kind: "tcp", port: "http" }] }, "health[2]"],
    ["an unknown field", { ...base, health: [{ kind: "metric", signal: "errors", above: 5, action: "restart" }] }, "health[0].action"],
    ["an empty list", { ...base, health: [] }, "health"],
    ["nine metric checks", { ...base, health: Array.from({ length: 9 }, () => metric({ signal: "errors", above: 5 })) }, "health"],
  ];
  for (const [name, job, path] of cases) {
    const { problems } = compileJobs(job, null);
    assert.deepEqual(problems.map((p) => p.path), [path], name);
  }
});

void test("validateJobSpec refuses bad metric checks a client could send", () => {
  const spec = compileJobs({ ...base, health: metric({ signal: "errors", above: 5, for: "30s" }) }, null).specs[0]!;
  const check = spec.metricChecks![0]!;
  const cases: [string, (s: Record<string, unknown>) => void, string][] = [
    ["unknown signal", (s) => (s["metricChecks"] = [{ ...check, signal: "cpu" }]), "metricChecks[0].signal"],
    ["negative threshold", (s) => (s["metricChecks"] = [{ ...check, threshold: -2 }]), "metricChecks[0].threshold"],
    ["for under the scrape interval", (s) => (s["metricChecks"] = [{ ...check, forMs: 2000 }]), "metricChecks[0].forMs"],
    ["no endpoint", (s) => delete s["metrics"], "metricChecks[0]"],
    ["empty list", (s) => (s["metricChecks"] = []), "metricChecks"],
  ];
  for (const [name, mutate, path] of cases) {
    const s = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
    mutate(s);
    assert.deepEqual(validateJobSpec(s).map((p) => p.path), [path], name);
  }
});
