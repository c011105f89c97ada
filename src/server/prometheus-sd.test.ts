// Prometheus HTTP service discovery, pure: which running attempts become targets, at which address,
// with which labels.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { JobSpec } from "../model/index.ts";
import { hostPartOf, prometheusSdOf } from "./prometheus-sd.ts";
import type { SdAttempt } from "./prometheus-sd.ts";
import { specOf } from "./testing/fixtures.ts";

const metrics = { port: "http", path: "/metrics", intervalMs: 10_000, timeoutMs: 5000, signals: { clients: null, errors: null, latency: null }, quantile: 0.99 };
const attempt = (job: string, index: number, over: Partial<SdAttempt> = {}, spec: Partial<JobSpec> = { metrics }): SdAttempt => ({
  job, index, version: 2, attemptId: `${job}-${index}`, hostId: "h1", hostName: "web-1", hostAddress: "10.0.0.5:7071", ports: { http: 20_000 + index },
  spec: specOf({ name: job, ...spec }), ...over,
});

void test("hostPartOf: IPv4, names, IPv6 with and without brackets", () => {
  const cases: [string, string][] = [["10.0.0.5:7071", "10.0.0.5"], ["node-1.example:7071", "node-1.example"], ["[fd00::1]:7071", "[fd00::1]"], ["fd00::1", "[fd00::1]"], ["10.0.0.5", "10.0.0.5"]];
  for (const [address, want] of cases) assert.equal(hostPartOf(address), want, address);
});

void test("prometheusSdOf: named cases", () => {
  const cases: [string, SdAttempt[], string[]][] = [
    ["one target per task, job then index order", [attempt("web", 1), attempt("api", 0), attempt("web", 0)], ["10.0.0.5:20000", "10.0.0.5:20000", "10.0.0.5:20001"]],
    ["no metrics endpoint: left out", [attempt("web", 0, {}, {})], []],
    ["the endpoint's port not allocated: left out", [attempt("web", 0, { ports: {} })], []],
    ["a private network namespace: left out (unreachable)", [attempt("web", 0, {}, { metrics, isolation: "sandbox", network: "private" })], []],
    ["IPv6 host", [attempt("web", 0, { hostAddress: "[fd00::1]:7071" })], ["[fd00::1]:20000"]],
  ];
  for (const [name, attempts, want] of cases) assert.deepEqual(prometheusSdOf(attempts).flatMap((g) => g.targets), want, name);
  const [g] = prometheusSdOf([attempt("web", 3)]);
  assert.deepEqual(g?.labels, {
    job: "web", namespace: "default", index: "3", host: "web-1", version: "2", __metrics_path__: "/metrics", __meta_tiffin_attempt: "web-3", __meta_tiffin_host_id: "h1", __meta_tiffin_port: "http",
  });
  // Another namespace's job: its name and namespace apart, never the internal id `web.team-a`.
  assert.deepEqual(prometheusSdOf([attempt("web.team-a", 0)]).map((x) => [x.labels["job"], x.labels["namespace"]]), [["web", "team-a"]]);
});
