// Round trips: a compiled spec printed in the user's form (`tiffin history JOB --spec V`) loads and
// compiles back to the very same JobSpec, for every example and for seeded random specs.
import assert from "node:assert/strict";
import { mulberry32 } from "../model/index.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { decompileJob, formatDuration, formatSize, specFileText } from "./decompile.ts";
import { loadSpecFile } from "./load.ts";
import { parseDuration, parseSize } from "./units.ts";
import { compileJobs } from "./validate.ts";

void test("formatDuration and formatSize: named cases, and parse reads them back", () => {
  const durations: [number, string][] = [[0, "0ms"], [1, "1ms"], [1500, "1s500ms"], [10_000, "10s"], [60_000, "1m"], [5_400_000, "1h30m"], [3_723_004, "1h2m3s4ms"]];
  for (const [ms, text] of durations) {
    assert.equal(formatDuration(ms), text);
    assert.equal(parseDuration(text), ms);
  }
  const sizes: [number, string][] = [[1, "1Mi"], [256, "256Mi"], [1024, "1Gi"], [1536, "1536Mi"], [4096, "4Gi"], [1024 * 1024, "1Ti"]];
  for (const [mib, text] of sizes) {
    assert.equal(formatSize(mib), text);
    assert.equal(parseSize(text), mib);
  }
});

void test("the user's form: sizes and durations as users write them, no internal names", async () => {
  const [spec] = await loadSpecFile(join(import.meta.dirname, "../../examples/tiffin.ts"));
  assert.ok(spec);
  const user = decompileJob(spec);
  assert.deepEqual(user["stop"], { signal: "SIGTERM", grace: formatDuration(spec.stop.graceMs) });
  const text = specFileText(spec);
  assert.doesNotMatch(text, /memoryMiB|diskMiB|graceMs|intervalMs|timeoutMs|backoffInitialMs|stopAfterMs|pinned/);
  assert.match(text, /"memory": "\d+(Mi|Gi|Ti)"/);
});

void test("every example round-trips: print, load, compile, equal", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-decompile-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const specs = await loadSpecFile(join(import.meta.dirname, "../../examples/tiffin.ts"));
  assert.ok(specs.length >= 2);
  for (const spec of specs) {
    const file = join(dir, `${spec.name}.json`);
    writeFileSync(file, specFileText(spec));
    assert.deepEqual(await loadSpecFile(file), [spec], spec.name);
  }
});

const rng = mulberry32;

/** A random valid job input: each field present or left to its default, values in their many forms. */
function randomJob(r: () => number, i: number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const maybe = (v: () => unknown): unknown => (r() < 0.5 ? undefined : v());
  const ms = () => pick(["1ms", "250ms", "1s", "1.5s", "2s", "90s", "1m30s", "1h", "2h3m4s5ms"]);
  const isolation = pick(["sandbox", "none"] as const);
  const probe = (): unknown =>
    pick([
      { kind: "http", port: "http", path: "/healthz", every: "2s", timeout: "1s", grace: ms(), then: pick(["restart", "move"]) },
      { kind: "tcp", port: "admin", every: "1s" },
      { kind: "command", run: "test -f /tmp/ok", failures: 1 + Math.floor(r() * 9) },
    ]);
  const metrics = maybe(() =>
    pick([
      { port: "admin" },
      { port: "http", path: "/stats", interval: "1m30s", timeout: "2s", quantile: 0.5, signals: { clients: "conns", errors: "errors_total", latency: "latency_seconds" } },
      null,
    ]),
  );
  // Metric checks need every signal they name mapped: only with the second endpoint above.
  const mapped = typeof metrics === "object" && metrics !== null && "signals" in metrics;
  const metricCheck = (): unknown => ({
    kind: "metric",
    signal: pick(["errors", "latency", "clients"]),
    ...(r() < 0.5 ? { above: pick([0, 0.25, 5, 1000]) } : { below: pick([1, 0.5]) }),
    ...(r() < 0.5 ? { for: pick(["1m30s", "5m", "2h3m4s5ms"]) } : {}),
    ...(r() < 0.5 ? { then: pick(["restart", "move"]), grace: ms() } : {}),
  });
  const job: Record<string, unknown> = {
    name: `job-${i}`,
    command: pick([["./run", "--x", "${TASK_INDEX}"], "echo hi && sleep 1"]),
    env: maybe(() => ({ A: "x", N: Math.floor(r() * 100), B: r() < 0.5 })),
    files: maybe(() => ({ "a.txt": "hello", "bin/run.sh": { content: "#!/bin/sh", mode: pick(["0755", "0600", 0o640]) } })),
    replicas: maybe(() => Math.floor(r() * 20)),
    resources: maybe(() => ({
      cpu: pick([0.1, 0.25, 1, 3]), memory: pick(["64Mi", "1Gi", "1.5Gi", 300, "2Ti"]), disk: pick(["1Gi", 10, "100Mi"]),
      adapt: pick([undefined, null, {}, { min: { memory: "32Mi" }, max: { cpu: 4, memory: 8192 }, every: "12h" }, { min: { cpu: 0.05 }, every: "1m" }]),
    })),
    ports: ["http", "admin"],
    health: maybe(() => (mapped ? pick([probe(), [probe(), metricCheck()], [metricCheck(), metricCheck()], metricCheck()]) : probe())),
    metrics,
    restart: maybe(() => ({ backoff: { initial: "1s", max: pick(["1m", "90s", "1h"]) }, moveAfterFailures: 1 + Math.floor(r() * 9) })),
    stop: maybe(() => ({ signal: pick(["TERM", "sigint", "SIGQUIT"]), grace: pick(["0ms", "10s", "1m30s", "1h"]) })),
    constraints: maybe(() => ({ os: pick(["debian", { id: "ubuntu", version: "24.04" }, null]), kernel: pick([">=6.1", ">=5.10 <7", null]), labels: { ssd: true, zone: "a" } })),
    spread: maybe(() => pick(["none", "rack", "cluster", "datacenter"])),
    antiAffinity: maybe(() => pick(["web", null])),
    maintenance: maybe(() => pick(["move", "endure"])),
    maintenanceOverrun: maybe(() => pick(["0s", "30m", "2h"])),
    disconnect: maybe(() => ({ stopAfter: pick(["30s", "1m", null]) })),
    packages: maybe(() => ["web:1.0.0", "tools:stable"]),
    isolation,
    ...(isolation === "sandbox"
      ? {
          network: maybe(() => pick(["host", "private"])),
          mounts: maybe(() => [{ host: "/srv/data", task: "/data", writable: r() < 0.5 }]),
          capabilities: maybe(() => pick([[], ["net_bind_service"], ["CAP_SYS_PTRACE", "NET_RAW"]])),
          persist: maybe(() => r() < 0.5),
        }
      : {}),
  };
  return Object.fromEntries(Object.entries(job).filter(([, v]) => v !== undefined));
}

void test("fuzzed specs round-trip: print, load, compile, equal", async (t) => {
  const seed = Number(process.env["TIFFIN_FUZZ_SEED"] ?? 20261206);
  const r = rng(seed);
  const dir = mkdtempSync(join(tmpdir(), "tiffin-decompile-fuzz-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 300; i++) {
    const input = randomJob(r, i);
    const { specs, problems } = compileJobs(input, "fuzz");
    assert.deepEqual(problems, [], `seed ${seed} case ${i}: the generator made an invalid job: ${JSON.stringify(input)}`);
    const [spec] = specs;
    assert.ok(spec);
    const file = join(dir, `case-${i}.json`);
    writeFileSync(file, specFileText(spec));
    assert.deepEqual(await loadSpecFile(file), [spec], `seed ${seed} case ${i}: ${JSON.stringify(input)}`);
  }
});
