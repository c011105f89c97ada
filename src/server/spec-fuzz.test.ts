// Spec fuzzing (issue 17, "Hardening measured by tests"): mutated specs, seeded from the examples, the
// test specs and a spec using most fields, go (1) as users write them through compileJobs and (2) as
// the CLI sends them through the apply and plan routes of a real server on a real SQLite file. Each is
// accepted or refused with problems that name a field path: never a crash, a 5xx, a stack trace or a
// file path, and a refused apply changes no job, version or task. Seeded (TIFFIN_FUZZ_SEED) and bounded
// by time (TIFFIN_FUZZ_MS per phase; `npm run fuzz` runs a minute each).
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { inspect } from "node:util";
import type { JobSpec, Problem } from "../model/index.ts";
import { openSqliteStore } from "../state/sqlite.ts";
import type { Store } from "../state/store.ts";
import { decompileJob } from "../spec/decompile.ts";
import { compileJobs, loadSpecFile, validateJobSpec } from "../spec/api.ts";
import { richJob } from "../spec/testdata/rich-job.ts";
import { startTestServer, tempDir } from "./testing/harness.ts";
import { assertNoLeak, copyJson, fuzzBudgetMs, fuzzSeed, mutateJson, pick, rngOf } from "./testing/fuzz.ts";

const root = path.join(import.meta.dirname, "../..");

/** A job using most fields (batch and schedules are in examples/run-batch.ts). */
const rich = richJob("rich");

/** A batch job on a schedule. */
const batch = { name: "nightly", command: ["./run", "${TIFFIN_ITEM}"], batch: { items: ["a", 2, "c"], parallelism: 2, success: 2, failedItems: "stop", deadline: "1h" }, schedule: { cron: "0 3 * * *" } };

async function seeds(): Promise<JobSpec[]> {
  const files = ["examples/tiffin.ts", "src/spec/testdata/sketch/tiffin.ts"];
  const specs = (await Promise.all(files.map((f) => loadSpecFile(path.join(root, f), { onOutput: () => undefined })))).flat();
  const compiled = compileJobs([rich, batch], "rich.ts");
  assert.deepEqual(compiled.problems, [], "the rich seeds are valid jobs");
  specs.push(...compiled.specs);
  assert.ok(specs.length >= 5 && specs.some((s) => s.batch), `${specs.length} seeds, a batch job among them`);
  return specs;
}

function assertProblems(problems: Problem[], what: string): void {
  assert.ok(problems.length > 0, what);
  const brief = (v: unknown): string => inspect(v, { maxStringLength: 300, maxArrayLength: 5 });
  for (const p of problems) {
    assert.equal(typeof p.path, "string", what);
    assert.ok(p.message.length > 0 && p.message.length <= 1000, `${what}: ${brief(p)}`);
    assert.doesNotMatch(`${p.message} ${p.value ?? ""}`, /\[object Object\]|undefined is not|Cannot read prop|Maximum call stack/, `${what}: ${brief(p)}`);
    assert.ok((p.value ?? "").length <= 200, `${what}: the value is shown short`);
  }
  // A problem of the whole job (path "") is only for what is not a job at all.
  assert.ok(problems.some((p) => p.path !== "") || problems.every((p) => /expected|job|exports|object/.test(p.message)), `${what}: no field path in ${brief(problems)}`);
}

void test(`spec fuzz: mutated specs as users write them compile or are refused at a field path (seed ${fuzzSeed})`, async () => {
  const inputs = (await seeds()).map((s) => decompileJob(s));
  const r = rngOf(fuzzSeed);
  const until = Date.now() + fuzzBudgetMs(2500);
  let n = 0;
  let accepted = 0;
  while (Date.now() < until || n < 500) {
    const jobs = Array.from({ length: 1 + Math.floor(r() * 2) }, () => mutateJson(pick(r, inputs), r));
    const value = jobs.length === 1 ? jobs[0] : jobs;
    const what = `seed ${fuzzSeed} case ${n}: ${inspect(value, { depth: 4, maxStringLength: 60, maxArrayLength: 10, breakLength: Infinity })}`;
    let result: ReturnType<typeof compileJobs>;
    try {
      result = compileJobs(value, "fuzz.ts");
    } catch (err) {
      assert.fail(`${what}: compileJobs threw ${String(err)}`);
    }
    if (result.problems.length === 0) {
      accepted++;
      for (const s of result.specs) assert.deepEqual(validateJobSpec(copyJson(s)), [], `${what}: the server refuses what the CLI accepted`);
    } else {
      assert.deepEqual(result.specs, [], what);
      assertProblems(result.problems, what);
      for (const p of result.problems) assert.equal(p.file, "fuzz.ts", what);
    }
    n++;
  }
  assert.ok(accepted > 0 && accepted < n, `${n} cases, ${accepted} accepted: the mutations reach both outcomes`);
  console.log(`spec fuzz (input): ${n} cases, ${accepted} accepted`);
});

/** Jobs and versions with their modRevisions: what a refused apply must leave alone (tasks are the
 * reconciler's, which places an accepted job's later). */
async function snapshot(store: Store): Promise<string> {
  const parts = await Promise.all(["/jobs/", "/versions/", "/tokens/", "/packages/", "/maintenance/"].map((p) => store.range(p)));
  return parts.flatMap((x) => x.kvs.map((kv) => `${kv.key}@${kv.modRevision}`)).join("\n");
}

void test(`spec fuzz: mutated compiled specs through apply and plan of a real server (seed ${fuzzSeed})`, async (t) => {
  const specs = await seeds();
  const dir = tempDir();
  const store = openSqliteStore(path.join(dir, "state.db"));
  const ts = await startTestServer({ dir, store });
  t.after(async () => {
    await ts.cleanup();
    await store.close();
  });
  const url = ts.server.url;
  const headers = { authorization: `Bearer ${ts.server.adminToken}`, "content-type": "application/json" };
  const r = rngOf(fuzzSeed + 1);
  const until = Date.now() + fuzzBudgetMs(3500);
  let before = await snapshot(store);
  const seen = new Map<number, number>();
  let n = 0;
  while (Date.now() < until || n < 200) {
    const base = pick(r, specs);
    const roll = r();
    // Mostly one field mutated; sometimes the envelope itself, or a spec nested past any reader's stack.
    const deep = 20_000 + Math.floor(r() * 100_000);
    const route = r() < 0.7 ? "/v1/jobs" : "/v1/plan";
    const text = roll < 0.05 ? `{"spec": ${"[".repeat(deep)}${"]".repeat(deep)}}` : (JSON.stringify(roll < 0.08 ? mutateJson({ spec: base }, r) : { spec: mutateJson(base, r) }) ?? "null");
    const what = `seed ${fuzzSeed + 1} case ${n} POST ${route}: ${text.slice(0, 300)}`;
    const res = await fetch(`${url}${route}`, { method: "POST", headers, body: text });
    const answer = await res.text();
    seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
    assert.ok(res.status < 500, `${what}: ${res.status} ${answer.slice(0, 500)}`);
    assertNoLeak(answer, what, [dir]);
    if (res.status >= 400) {
      const err = (JSON.parse(answer) as { error: { code: string; message: string; hint: string; problems?: Problem[] } }).error;
      assert.match(err.code, /^TIFFIN_[A-Z_]+$/, what);
      assert.ok(err.message.length > 0 && err.hint.length > 0, `${what}: ${answer.slice(0, 300)}`);
      if (res.status === 422) assertProblems(err.problems ?? [], what);
      assert.equal(await snapshot(store), before, `${what}: a refused call changed the state`);
    } else if (route === "/v1/jobs") before = await snapshot(store);
    n++;
  }
  const statuses = [...seen.entries()].sort((a, b) => a[0] - b[0]);
  assert.ok((seen.get(422) ?? 0) > 0 && ((seen.get(200) ?? 0) + (seen.get(201) ?? 0)) > 0, `both outcomes: ${inspect(statuses)}`);
  // The server still answers, and still applies an untouched seed.
  const ok = await fetch(`${url}/v1/jobs`, { method: "POST", headers, body: JSON.stringify({ spec: specs[0] }) });
  assert.ok(ok.status < 300, `a valid apply after the fuzz: ${ok.status}`);
  console.log(`spec fuzz (server): ${n} calls, statuses ${inspect(Object.fromEntries(statuses))}`);
});
