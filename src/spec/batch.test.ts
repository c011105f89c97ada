import { test } from "node:test";
import assert from "node:assert/strict";
import { compileJobs, validateJobSpec } from "./validate.ts";
import { decompileJob } from "./decompile.ts";

const base = { name: "crunch", command: ["./crunch"] };

void test("batch: what users write compiles to the BatchPolicy, defaults filled", () => {
  const cases: { name: string; batch: Record<string, unknown>; want: Record<string, unknown> }[] = [
    { name: "empty: one item", batch: {}, want: { completions: 1, parallelism: 1, items: null, successCount: null, failedItems: "finish", keepRuns: 20, deadlineMs: null, retries: { limit: 3, backoffInitialMs: 1000, backoffMaxMs: 60_000 } } },
    { name: "completions and parallelism", batch: { completions: 20, parallelism: 4 }, want: { completions: 20, parallelism: 4 } },
    { name: "items give completions", batch: { items: ["a", 2, "c"] }, want: { completions: 3, items: ["a", "2", "c"] } },
    { name: "items and the same count", batch: { items: ["a", "b"], completions: 2 }, want: { completions: 2 } },
    { name: "N of M, stop, deadline", batch: { completions: 10, success: 7, failedItems: "stop", deadline: "1h" }, want: { successCount: 7, failedItems: "stop", deadlineMs: 3_600_000 } },
    { name: "retries", batch: { retries: { limit: 0, backoff: { initial: "100ms", max: "2s" } } }, want: { retries: { limit: 0, backoffInitialMs: 100, backoffMaxMs: 2000 } } },
  ];
  for (const c of cases) {
    const r = compileJobs({ ...base, batch: c.batch }, "t.ts");
    assert.deepEqual(r.problems, [], c.name);
    const spec = r.specs[0];
    assert.ok(spec?.batch, c.name);
    assert.equal(spec.replicas, 0, `${c.name}: a batch job has no service tasks`);
    for (const [k, v] of Object.entries(c.want)) assert.deepEqual(spec.batch[k as keyof typeof spec.batch], v, `${c.name}: ${k}`);
    // The user's form compiles back to the same spec, and the server's strict check accepts it.
    assert.deepEqual(compileJobs(decompileJob(spec), "t.json").specs[0], spec, `${c.name}: round trip`);
    assert.deepEqual(validateJobSpec(JSON.parse(JSON.stringify(spec))), [], `${c.name}: strict check`);
  }
  assert.equal(compileJobs(base, "t.ts").specs[0]?.batch, undefined, "a service compiles without batch");
});

void test("batch: every problem at its field path", () => {
  const cases: { name: string; job: Record<string, unknown>; path: string; message: RegExp }[] = [
    { name: "zero parallelism", job: { batch: { parallelism: 0 } }, path: "batch.parallelism", message: /1/ },
    { name: "too many items", job: { batch: { completions: 10_001 } }, path: "batch.completions", message: /at most 10,000 items; 10,001 asked for/ },
    { name: "too many work items", job: { batch: { items: Array.from({ length: 10_001 }, (_, i) => i) } }, path: "batch.items", message: /at most 10,000 items; 10,001 given/ },
    { name: "too much at once", job: { batch: { completions: 2000, parallelism: 1001 } }, path: "batch.parallelism", message: /at most 1,000 items run at once; 1,001 asked for/ },
    { name: "items too large together", job: { batch: { items: Array.from({ length: 200 }, () => "x".repeat(4000)) } }, path: "batch.items", message: /800,000 bytes together; at most 524,288/ },
    { name: "items and another count", job: { batch: { items: ["a"], completions: 2 } }, path: "batch.completions", message: /1 items given, completions 2/ },
    { name: "more successes than items", job: { batch: { completions: 3, success: 4 } }, path: "batch.success", message: /at most completions/ },
    { name: "success as text", job: { batch: { success: "most" } }, path: "batch.success", message: /"all" or a number/ },
    { name: "unknown policy", job: { batch: { failedItems: "ignore" } }, path: "batch.failedItems", message: /stop|finish/ },
    { name: "back-off order", job: { batch: { retries: { backoff: { initial: "2m", max: "1m" } } } }, path: "batch.retries.backoff.initial", message: /longer than its max/ },
    { name: "deadline unit", job: { batch: { deadline: "soon" } }, path: "batch.deadline", message: /duration/ },
    { name: "NUL in an item", job: { batch: { items: ["a\0b"] } }, path: "batch.items[0]", message: /NUL/ },
    { name: "misspelled field", job: { batch: { paralelism: 2 } }, path: "batch.paralelism", message: /./ },
    { name: "replicas beside batch", job: { replicas: 3, batch: {} }, path: "replicas", message: /batch\.parallelism/ },
  ];
  for (const c of cases) {
    const r = compileJobs({ ...base, ...c.job }, "t.ts");
    const p = r.problems.find((x) => x.path === c.path);
    assert.ok(p, `${c.name}: expected a problem at ${c.path}, got ${JSON.stringify(r.problems)}`);
    assert.match(p.message, c.message, c.name);
  }
});

void test("batch: the server's strict check refuses what a client could send", () => {
  const spec = compileJobs({ ...base, batch: { completions: 4 } }, "t.ts").specs[0];
  assert.ok(spec?.batch);
  const send = (patch: Record<string, unknown>, batch: Record<string, unknown> = {}): string[] =>
    validateJobSpec({ ...spec, ...patch, batch: { ...spec.batch, ...batch } }).map((p) => p.path);
  assert.deepEqual(send({ replicas: 2 }), ["replicas"]);
  assert.deepEqual(send({}, { successCount: 5 }), ["batch.successCount"]);
  assert.deepEqual(send({}, { items: ["a"] }), ["batch.completions"]);
  assert.deepEqual(send({}, { parallelism: 0 }), ["batch.parallelism"]);
});

void test("schedule: compiled with its defaults, round-trips; problems at their paths", () => {
  const spec = compileJobs({ ...base, batch: {}, schedule: { cron: "*/5 * * * *" } }, "t.ts").specs[0];
  assert.deepEqual(spec?.schedule, { cron: "*/5 * * * *", timeZone: "UTC", overlap: "skip", missed: "once", jitterMs: 0 });
  assert.ok(spec);
  assert.deepEqual(compileJobs(decompileJob(spec), "t.json").specs[0], spec);
  const full = compileJobs({ ...base, batch: {}, schedule: { cron: "*/2 * * * * *", timeZone: "Europe/Berlin", overlap: "queue", missed: "skip", jitter: "500ms" } }, "t.ts").specs[0];
  assert.deepEqual(full?.schedule, { cron: "*/2 * * * * *", timeZone: "Europe/Berlin", overlap: "queue", missed: "skip", jitterMs: 500 });
  const cases: { name: string; job: Record<string, unknown>; path: string; message: RegExp }[] = [
    { name: "a service with a schedule", job: { schedule: { cron: "* * * * *" } }, path: "schedule", message: /batch/ },
    { name: "not cron", job: { batch: {}, schedule: { cron: "every day" } }, path: "schedule.cron", message: /cron expression/ },
    { name: "out of range", job: { batch: {}, schedule: { cron: "61 * * * *" } }, path: "schedule.cron", message: /cron expression/ },
    { name: "unknown zone", job: { batch: {}, schedule: { cron: "* * * * *", timeZone: "Mars/Olympus" } }, path: "schedule.timeZone", message: /IANA/ },
    { name: "unknown overlap", job: { batch: {}, schedule: { cron: "* * * * *", overlap: "both" } }, path: "schedule.overlap", message: /skip/ },
  ];
  for (const c of cases) {
    const r = compileJobs({ ...base, ...c.job }, "t.ts");
    const p = r.problems.find((x) => x.path === c.path);
    assert.ok(p, `${c.name}: expected a problem at ${c.path}, got ${JSON.stringify(r.problems)}`);
    assert.match(p.message, c.message, c.name);
  }
  assert.deepEqual(validateJobSpec({ ...compileJobs(base, "t.ts").specs[0], schedule: spec.schedule }).map((p) => p.path), ["schedule"]);
  assert.deepEqual(validateJobSpec({ ...spec, schedule: { ...spec.schedule, cron: "x" } }).map((p) => p.path), ["schedule.cron"]);
});
