import { test } from "node:test";
import assert from "node:assert/strict";
import type { JobSpec } from "../model/index.ts";
import { compileJobs } from "./validate.ts";
import { parseDuration, parseSize } from "./units.ts";

function one(input: Record<string, unknown>): JobSpec {
  const { specs, problems } = compileJobs(input, null);
  assert.deepEqual(problems, []);
  assert.equal(specs.length, 1);
  return specs[0]!;
}

void test("a job with only a name and a command gets every default", () => {
  assert.deepEqual(one({ name: "web", command: ["./web"] }), {
    name: "web",
    command: ["./web"],
    env: {},
    files: {},
    replicas: 1,
    resources: { cpu: 0.1, memoryMiB: 128, diskMiB: 256 },
    constraints: { os: null, kernel: null, labels: {} },
    spread: "rack",
    antiAffinity: null,
    ports: [],
    restart: { backoffInitialMs: 1000, backoffMaxMs: 60_000, moveAfterFailures: 5 },
    health: null,
    stop: { signal: "SIGTERM", graceMs: 10_000 },
    maintenance: "move",
    disconnect: { stopAfterMs: null },
    packages: [],
    isolation: "sandbox",
    network: "host",
    mounts: [],
  } satisfies JobSpec);
});

void test("defaults fill the gaps of partly given objects", () => {
  const s = one({
    name: "web",
    command: ["./web"],
    resources: { memory: "1.5Gi" },
    restart: { backoff: { max: "5m" } },
    ports: { http: {} },
    health: { kind: "http", port: "http" },
  });
  assert.deepEqual(s.resources, { cpu: 0.1, memoryMiB: 1536, diskMiB: 256 });
  assert.deepEqual(s.restart, { backoffInitialMs: 1000, backoffMaxMs: 300_000, moveAfterFailures: 5 });
  assert.deepEqual(s.health, { kind: "http", port: "http", path: "/", intervalMs: 10_000, timeoutMs: 2000, failures: 3, graceMs: 5000, action: "restart" });
});

void test("shorthands compile to canonical forms", () => {
  const s = one({
    name: "batch",
    command: "echo $TASK_INDEX",
    ports: ["metrics"],
    env: { N: 3, DEBUG: true },
    files: { "a.sh": "#!/bin/sh", "conf/b": { content: "x", mode: "0600" }, c: { content: "y", mode: 0o755 } },
    resources: { cpu: 2, memory: 512, disk: "1Ti" },
    stop: { signal: "int", grace: "1m30s" },
    constraints: { os: { id: "ubuntu", version: "24.04" }, labels: { ssd: true } },
    disconnect: { stopAfter: "4s" },
    health: { kind: "command", run: "curl -f localhost:$PORT_METRICS", every: "500ms", timeout: "200ms", then: "move" },
  });
  assert.deepEqual(s.command, ["/bin/sh", "-c", "echo $TASK_INDEX"]);
  assert.deepEqual(s.ports, ["metrics"]);
  assert.deepEqual(s.env, { N: "3", DEBUG: "true" });
  assert.deepEqual(s.files, { "a.sh": { content: "#!/bin/sh", mode: 0o644 }, "conf/b": { content: "x", mode: 0o600 }, c: { content: "y", mode: 0o755 } });
  assert.deepEqual(s.resources, { cpu: 2, memoryMiB: 512, diskMiB: 1024 * 1024 });
  assert.deepEqual(s.stop, { signal: "SIGINT", graceMs: 90_000 });
  assert.deepEqual(s.constraints, { os: { id: "ubuntu", version: "24.04" }, kernel: null, labels: { ssd: "true" } });
  assert.deepEqual(s.disconnect, { stopAfterMs: 4000 });
  assert.deepEqual(s.health, {
    kind: "command",
    run: ["/bin/sh", "-c", "curl -f localhost:$PORT_METRICS"],
    intervalMs: 500,
    timeoutMs: 200,
    failures: 3,
    graceMs: 5000,
    action: "move",
  });
});

void test("capabilities compile with the CAP_ prefix, sorted and once; persist; neither appears when unset", () => {
  const s = one({ name: "web", command: ["./web"], capabilities: ["net_bind_service", "CAP_CHOWN", "NET_BIND_SERVICE"], persist: true });
  assert.deepEqual(s.capabilities, ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"]);
  assert.equal(s.persist, true);
  const plain = one({ name: "web", command: ["./web"] });
  assert.equal("capabilities" in plain || "persist" in plain, false);
});

void test("isolation settings compile; mounts are read-only unless writable", () => {
  const s = one({
    name: "db",
    command: ["./db"],
    network: "private",
    mounts: [{ host: "/srv/data", task: "/data", writable: true }, { host: "/etc/ssl/certs", task: "/certs" }],
  });
  assert.deepEqual([s.isolation, s.network], ["sandbox", "private"]);
  assert.deepEqual(s.mounts, [
    { host: "/srv/data", task: "/data", writable: true },
    { host: "/etc/ssl/certs", task: "/certs", writable: false },
  ]);
  assert.equal(one({ name: "plain", command: ["./p"], isolation: "none" }).isolation, "none");
});

void test("compiling does not share objects with the user's values", () => {
  const env = { A: "1" };
  const s = one({ name: "web", command: ["./web"], env });
  s.env["B"] = "2";
  assert.deepEqual(env, { A: "1" });
  const again = one({ name: "web", command: ["./web"] });
  again.env["C"] = "3";
  assert.deepEqual(one({ name: "web", command: ["./web"] }).env, {});
});

void test("durations and sizes", () => {
  const durations: [string, number | null][] = [
    ["200ms", 200], ["2s", 2000], ["1m", 60_000], ["1h30m", 5_400_000], ["1.5s", 1500], ["0s", 0],
    ["2", null], ["2 s", null], ["s", null], ["-1s", null], ["1d", null], ["", null],
  ];
  for (const [text, ms] of durations) assert.equal(parseDuration(text), ms, text);
  const sizes: [string, number | null][] = [
    ["256Mi", 256], ["4Gi", 4096], ["1.5Gi", 1536], ["1Ti", 1_048_576], ["0.5Mi", null], ["512MB", null], ["4G", null], ["Mi", null],
  ];
  for (const [text, mib] of sizes) assert.equal(parseSize(text), mib, text);
});

void test("a health check's timeout defaults from its interval: 2s, or the interval when that is shorter", () => {
  const cases: [string, Record<string, unknown>, number][] = [
    ["the README's every: 1s", { every: "1s" }, 1000],
    ["every 500ms", { every: "500ms" }, 500],
    ["every 2s", { every: "2s" }, 2000],
    ["every 10s (the default)", {}, 2000],
    ["an explicit timeout wins", { every: "1s", timeout: "300ms" }, 300],
  ];
  for (const [name, timing, timeoutMs] of cases) {
    const s = one({ name: "web", command: ["./web"], ports: { http: {} }, health: { kind: "http", port: "http", ...timing } });
    assert.equal(s.health?.timeoutMs, timeoutMs, name);
  }
});

void test("metrics: defaults filled in, absent when not declared, timeout 5s or the interval", () => {
  assert.equal("metrics" in one({ name: "web", command: ["./web"] }), false);
  const s = one({ name: "web", command: ["./web"], ports: ["http"], metrics: { port: "http", signals: { errors: "http_errors_total" } } });
  assert.deepEqual(s.metrics, {
    port: "http", path: "/metrics", intervalMs: 10_000, timeoutMs: 5000,
    signals: { clients: null, errors: "http_errors_total", latency: null }, quantile: 0.99,
  });
  const fast = one({ name: "web", command: ["./web"], ports: ["http"], metrics: { port: "http", path: "/m", interval: "2s", quantile: 0.5 } });
  assert.deepEqual([fast.metrics?.path, fast.metrics?.intervalMs, fast.metrics?.timeoutMs, fast.metrics?.quantile], ["/m", 2000, 2000, 0.5]);
});
