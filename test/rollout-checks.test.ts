// The rollout judge end to end (issue 14): a real server (own process, per-task series at 1 s), a real
// agent scraping real tasks' Prometheus endpoints every second, and three jobs rolled from v1 to v2
// at once: a v2 whose own endpoint reports 5x v1's error rate fails the metric comparison with its
// figures and is rolled back; a v2 with equal metrics passes; a v2 judged on too few samples stays
// inconclusive and fails at the deadline (the default `inconclusive: "fail"`), never passing; an HTTP
// custom check answering 503 fails its phase (and one answering 200 passes in every phase).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import type { JobSpec, Rollout } from "../src/model/index.ts";
import { compileJobs } from "../src/spec/validate.ts";
import { serverAndAgent } from "../src/agent/real-server.ts";
import { waitFor } from "../src/agent/test-fixtures.ts";

/** Serves http_errors_total growing at $RATE per second (a float counter: exact rates). */
const source = `const start = Date.now();
require("http").createServer((q, s) => s.end("# TYPE http_errors_total counter\\nhttp_errors_total " + ((Date.now() - start) / 1000 * Number(process.env.RATE)) + "\\n")).listen(+process.env.PORT_HTTP, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));`;

function spec(name: string, rate: number, version: number, minSamples: number, custom: string[] = []): JobSpec {
  const { specs, problems } = compileJobs(
    {
      name,
      command: ["node", "-e", source],
      env: { RATE: String(rate), V: String(version) },
      replicas: 3,
      isolation: "none",
      ports: ["http"],
      resources: { cpu: 0.05, memory: "64Mi", disk: "16Mi" },
      stop: { signal: "SIGTERM", grace: "1s", delay: "0s" },
      metrics: { port: "http", interval: "1s", timeout: "800ms", signals: { errors: "http_errors_total" } },
      rollout: { phases: [1, "all"], bake: "7s", deadline: "25s", maxUnavailable: 1, checks: { crashRate: false, metrics: [{ signal: "errors", tolerance: "5%", slack: 0.01, minSamples }], custom: custom.map((http) => ({ http, timeout: "2s" })) } },
    },
    null,
  );
  assert.deepEqual(problems, []);
  return specs[0]!;
}

void test("the metric comparison rolls back a v2 with a higher error rate, passes an equal one, and never passes on too few samples", { timeout: 180_000 }, async (t) => {
  // The custom checks' target: /ok answers 200, anything else 503.
  const gate = createServer((q, s) => { s.statusCode = q.url === "/ok" ? 200 : 503; s.end(); });
  await new Promise<void>((r) => gate.listen(0, "127.0.0.1", r));
  t.after(() => gate.close());
  const gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}`;
  const { api } = await serverAndAgent(t, { prefix: "tiffin-judge-", name: "judge-1", metricsReportMs: 1000, taskMetricsBucketMs: 1000 });
  const apply = async (s: JobSpec): Promise<void> => assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: s }) })).status, 200, s.name);
  const jobs = [
    { name: "worse", v2: 5, minSamples: 5, custom: [] },
    { name: "same", v2: 1, minSamples: 5, custom: [`${gateUrl}/ok`] },
    { name: "few", v2: 1, minSamples: 1000, custom: [] },
    { name: "gated", v2: 1, minSamples: 5, custom: [`${gateUrl}/ok`, `${gateUrl}/bad`] },
  ];
  for (const j of jobs) await apply(spec(j.name, 1, 1, j.minSamples));
  // v1 serves a while, so old tasks have points before the bake.
  await new Promise((r) => setTimeout(r, 4000));
  for (const j of jobs) await apply(spec(j.name, j.v2, 2, j.minSamples, j.custom));
  const ended = async (name: string): Promise<Rollout> =>
    await waitFor(`${name}'s v2 rollout ends`, async () => {
      const h = (await (await api(`/v1/jobs/${name}/rollouts`)).json()) as Rollout[];
      const r = h.find((x) => x.version === 2);
      return r && r.state !== "running" ? r : null;
    }, 90_000);
  const [worse, same, few, gated] = await Promise.all([ended("worse"), ended("same"), ended("few"), ended("gated")]);

  assert.equal(worse.state, "failed", worse.why ?? "");
  assert.deepEqual(worse.failure, { phase: 0, check: "metric errors" });
  assert.equal(worse.rolledBackTo, 3, "rolled back: version 3 runs version 1's spec");
  const errors = worse.phases[0]?.checks.find((c) => c.name === "metric errors");
  assert.equal(errors?.verdict, "fail", JSON.stringify(worse.phases[0]?.checks));
  assert.ok((errors?.figures["new.mean"] ?? 0) > 3 && (errors?.figures["old.mean"] ?? 9) < 1.5, JSON.stringify(errors?.figures));
  assert.ok((errors?.figures["p"] ?? 1) < 0.05 && (errors?.figures["effect"] ?? 0) > 1, JSON.stringify(errors?.figures));
  assert.match(worse.why ?? "", /failed its metric errors check/);

  assert.equal(same.state, "succeeded", same.why ?? "");
  const sameErrors = same.phases[0]?.checks.find((c) => c.name === "metric errors");
  assert.equal(sameErrors?.verdict, "pass", JSON.stringify(same.phases[0]?.checks));
  assert.ok((sameErrors?.figures["new.n"] ?? 0) >= 5, JSON.stringify(sameErrors?.figures));
  assert.deepEqual(same.phases.map((p) => p.checks.find((c) => c.name.startsWith("custom"))?.verdict), ["pass", "pass"], "the custom check runs in every phase");

  // Equal metrics, but a custom check answering 503: failed with its status, rolled back.
  assert.equal(gated.state, "failed", gated.why ?? "");
  assert.deepEqual(gated.failure, { phase: 0, check: `custom GET ${gateUrl}/bad` });
  assert.equal(gated.phases[0]?.checks.find((c) => c.name === `custom GET ${gateUrl}/bad`)?.figures["status"], 503);
  assert.equal(gated.rolledBackTo, 3);

  assert.equal(few.state, "failed", few.why ?? "");
  assert.deepEqual(few.failure, { phase: 0, check: "inconclusive" });
  assert.equal(few.phases[0]?.outcome, "failed", "too few samples never passes");
  assert.equal(few.phases[0]?.checks.find((c) => c.name === "metric errors")?.verdict, "inconclusive");
  assert.match(few.why ?? "", /inconclusive at its deadline/);
});
