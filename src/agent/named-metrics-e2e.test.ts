// Named metric comparisons end to end (issue 14): the REAL server in its own process and a real agent
// scraping real tasks' Prometheus endpoints every second. The job's rollout checks compare a counter's
// rate (`app_failures_total`, not one of the three signals), so the agent reports its raw readings with
// each summary and the judge turns them into rates, new tasks against old: a v2 failing at 5x v1's rate
// fails the comparison with its figures and is rolled back; a v2 at v1's rate passes.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobSpec, Rollout } from "../model/index.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

/** Serves app_failures_total growing at $RATE per second (a float counter: exact rates). */
const source = `const start = Date.now();
require("http").createServer((q, s) => s.end("# TYPE app_failures counter\\napp_failures_total " + ((Date.now() - start) / 1000 * Number(process.env.RATE)) + "\\n")).listen(+process.env.PORT_HTTP, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));`;

function spec(name: string, rate: number, version: number): JobSpec {
  // The compiled form (the agent layer may not import the spec compiler).
  return testSpec({
    name,
    command: ["node", "-e", source],
    env: { RATE: String(rate), V: String(version) },
    replicas: 3,
    isolation: "none",
    ports: ["http"],
    resources: { cpu: 0.05, memoryMiB: 64, diskMiB: 16 },
    stop: { signal: "SIGTERM", graceMs: 1000 },
    metrics: { port: "http", path: "/metrics", intervalMs: 1000, timeoutMs: 800, quantile: 0.99, signals: { clients: null, errors: null, latency: null } },
    rollout: {
      phases: [1, "all"],
      bakeMs: 6000,
      deadlineMs: 25_000,
      maxUnavailable: 1,
      maxSurge: 0,
      onFailure: "rollback",
      checks: { health: true, crashRate: null, metrics: [{ metric: { kind: "counter", name: "app_failures" }, better: "lower", tolerance: 0.05, slack: 0.01, alpha: 0.05, minSamples: 5 }], efficiency: null, custom: [] },
    },
  });
}

void test("a counter's rate compared new against old: 5x rolls back with its figures, equal passes", { timeout: 120_000 }, async (t) => {
  const { api } = await serverAndAgent(t, { prefix: "tiffin-named-", name: "named-1", metricsReportMs: 1000, taskMetricsBucketMs: 1000 });
  const apply = async (s: JobSpec): Promise<void> => assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: s }) })).status, 200, s.name);
  const jobs = [
    { name: "worse", v2: 5 },
    { name: "same", v2: 1 },
  ];
  for (const j of jobs) await apply(spec(j.name, 1, 1));
  // v1 serves a while, so old tasks have readings before the bake.
  await new Promise((r) => setTimeout(r, 3000));
  for (const j of jobs) await apply(spec(j.name, j.v2, 2));
  const ended = (name: string): Promise<Rollout> =>
    waitFor(`${name}'s v2 rollout ends`, async () => {
      const h = (await (await api(`/v1/jobs/${name}/rollouts`)).json()) as Rollout[];
      const r = h.find((x) => x.version === 2);
      return r && r.state !== "running" ? r : null;
    }, 60_000);
  const [worse, same] = await Promise.all([ended("worse"), ended("same")]);
  const rate = (r: Rollout) => r.phases[0]?.checks.find((c) => c.name === "metric rate of app_failures");

  assert.equal(worse.state, "failed", `${worse.why ?? ""} ${JSON.stringify(worse.phases[0]?.checks)}`);
  assert.deepEqual(worse.failure, { phase: 0, check: "metric rate of app_failures" });
  assert.equal(worse.rolledBackTo, 3);
  const f = rate(worse);
  assert.ok((f?.figures["new.mean"] ?? 0) > 3 && (f?.figures["old.mean"] ?? 9) < 1.5, JSON.stringify(f));
  assert.ok((f?.figures["p"] ?? 1) < 0.05, JSON.stringify(f));

  assert.equal(same.state, "succeeded", `${same.why ?? ""} ${JSON.stringify(same.phases[0]?.checks)}`);
  assert.equal(rate(same)?.verdict, "pass", JSON.stringify(rate(same)));
  assert.ok((rate(same)?.figures["new.n"] ?? 0) >= 5, JSON.stringify(rate(same)));
});
