// `batch.after` through compileJobs, as plan and apply read a file: compiled, printed back, and the
// problems between jobs (self, a service named, a cycle named job by job).
import assert from "node:assert/strict";
import { test } from "node:test";
import { decompileJob } from "./decompile.ts";
import { compileJobs } from "./validate.ts";

const batch = (name: string, after?: string[]): Record<string, unknown> => ({ name, command: "true", batch: after ? { after } : {} });

void test("batch.after: compiled only when written, round-trips, problems between a file's jobs", () => {
  const ok = compileJobs([batch("extract"), batch("load", ["extract", "elsewhere"])], "f.json");
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.specs[0]?.batch?.after, undefined, "not written: absent");
  assert.deepEqual(ok.specs[1]?.batch?.after, ["extract", "elsewhere"]);
  const back = compileJobs(ok.specs.map(decompileJob), "f.json");
  assert.deepEqual(back.specs, ok.specs, "decompiled and compiled again");
  const cases: { name: string; jobs: unknown[]; want: RegExp }[] = [
    { name: "self", jobs: [batch("a", ["a"])], want: /^batch\.after: job a cannot run after itself/ },
    { name: "a service", jobs: [{ name: "web", command: "true" }, batch("a", ["web"])], want: /^jobs\[1\]\.batch\.after: job web is not a batch job/ },
    { name: "cycle", jobs: [batch("a", ["c"]), batch("b", ["a"]), batch("c", ["b"])], want: /^jobs\[0\]\.batch\.after: batch jobs wait for each other in a cycle: a runs after c runs after b runs after a/ },
    { name: "twice", jobs: [batch("a", ["b", "b"]), batch("b")], want: /^jobs\[0\]\.batch\.after: each job is named once/ },
    { name: "not a name", jobs: [batch("a", ["B!"])], want: /^batch\.after\[0\]: expected a batch job's name/ },
  ];
  for (const c of cases) {
    const r = compileJobs(c.jobs.length === 1 ? c.jobs[0] : c.jobs, null);
    assert.match(r.problems.map((p) => `${p.path}: ${p.message}`).join("\n"), c.want, c.name);
  }
});
