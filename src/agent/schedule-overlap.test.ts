// The overlap policies of schedules with real processes (issue 18): one real server, one real agent,
// three batch jobs fired every second whose one item runs 1.3 s (longer than the period), each with
// another `overlap`. Every process writes when it starts and when it ends, so what ran is what the
// processes say, not only what the server recorded.
//   skip:    a fire while a run goes on starts nothing: runs never overlap, fires were skipped.
//   queue:   every fire makes a run; they run one after another, the rest wait queued.
//   replace: every fire cancels the run going on (its process stopped before it ended) and starts.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ApiClient } from "../api/client.ts";
import type { Run } from "../model/index.ts";
import { serverAndAgent } from "./real-server.ts";

const tiffinBin = path.join(import.meta.dirname, "..", "..", "bin", "tiffin.js");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

void test("schedule overlap policies with real processes: skip, queue, replace", { timeout: 90_000 }, async (t) => {
  const sa = await serverAndAgent(t, { prefix: "tiffin-overlap-", name: "box-1", extra: { scheduleTickMs: 100 } });
  const api = new ApiClient({ addr: sa.server.url, token: sa.server.adminToken, timeoutMs: 10_000 });
  const marks = path.join(sa.root, "marks");
  fs.mkdirSync(marks);
  fs.chmodSync(marks, 0o777); // the tasks (isolation "none") run as nobody and write their marks here
  const command = (job: string): string => `echo "start $TIFFIN_RUN" >> ${marks}/${job}; sleep 1.3; echo "end $TIFFIN_RUN" >> ${marks}/${job}`;
  const policies = ["skip", "queue", "replace"] as const;
  // Applied as users apply them: the real CLI on a JSON spec.
  const jobs = policies.map((overlap) => ({
    name: overlap, command: command(overlap), isolation: "none", resources: { cpu: 0.1, memory: "32Mi", disk: "16Mi" }, batch: { retries: { limit: 0 } }, schedule: { cron: "* * * * * *", overlap },
  }));
  fs.writeFileSync(path.join(sa.root, "jobs.json"), JSON.stringify(jobs));
  const env = { PATH: process.env["PATH"] ?? "", HOME: sa.root, TIFFIN_ADDR: sa.server.url, TIFFIN_TOKEN: sa.server.adminToken };
  await promisify(execFile)(process.execPath, [tiffinBin, "apply", "jobs.json"], { cwd: sa.root, env });
  // Until the skip job has finished two runs (each 1.3 s, fired every second: 3 s or more).
  const deadline = Date.now() + 40_000;
  while ((await api.runs("skip")).filter((r) => r.state === "succeeded").length < 2 && Date.now() < deadline) await sleep(200);
  const runs = Object.fromEntries(await Promise.all(policies.map(async (p) => [p, await api.runs(p)] as const))) as Record<(typeof policies)[number], Run[]>;
  const lines = (job: string): string[] => (fs.existsSync(path.join(marks, job)) ? fs.readFileSync(path.join(marks, job), "utf8").trim().split("\n") : []);
  const started = (rs: Run[]): Run[] => rs.filter((r) => r.startedAt !== null).sort((a, b) => (a.startedAt ?? 0) - (b.startedAt ?? 0));
  /** Runs whose [start, end] overlap another's (an open run lasts until now). */
  const overlapping = (rs: Run[]): string[] => {
    const s = started(rs);
    return s.slice(1).flatMap((r, i) => ((s[i]?.endedAt ?? Infinity) > (r.startedAt ?? 0) ? [`${s[i]?.id} and ${r.id}`] : []));
  };
  const fires = (rs: Run[]): number => rs.length;
  const summary = (rs: Run[]): string => rs.map((r) => `${r.id} ${r.state} ${r.reason ?? ""}`).join("; ");

  // skip: runs never overlap; every run that ended succeeded (nothing cancelled it); fires were skipped
  // (the job is as old as the others, which made a run for nearly every second).
  assert.deepEqual(overlapping(runs.skip), [], summary(runs.skip));
  assert.ok(runs.skip.every((r) => r.state === "succeeded" || r.state === "running"), summary(runs.skip));
  assert.ok(fires(runs.skip) < fires(runs.queue), `skip made fewer runs (${fires(runs.skip)}) than queue (${fires(runs.queue)})`);
  assert.ok(lines("skip").filter((l) => l.startsWith("end")).length >= 2);

  // queue: a run for every fire; one at a time, each after the one before ended; the rest wait.
  assert.deepEqual(overlapping(runs.queue), [], summary(runs.queue));
  assert.ok(runs.queue.some((r) => r.state === "queued"), `some runs wait their turn: ${summary(runs.queue)}`);
  assert.ok(runs.queue.every((r) => r.state !== "cancelled"), summary(runs.queue));

  // replace: each fire cancels the run going on; its process was stopped before it wrote its end.
  const replaced = runs.replace.filter((r) => r.state === "cancelled");
  assert.ok(replaced.length >= 2, summary(runs.replace));
  for (const r of replaced) assert.match(r.reason ?? "", /replaced by scheduled run s\d+ \(overlap: replace\)/);
  const ranReplaced = replaced.filter((r) => lines("replace").includes(`start ${r.id}`));
  assert.ok(ranReplaced.length >= 1, `a replaced run had started its process: ${lines("replace").join(" | ")}`);
  for (const r of ranReplaced) assert.ok(!lines("replace").includes(`end ${r.id}`), `run ${r.id}'s process was stopped before its end`);
  assert.equal(runs.replace.filter((r) => r.state === "succeeded").length, 0, "a 1.3 s item fired every second never finishes");
  assert.deepEqual(overlapping(runs.replace), [], "the replacing run starts once the replaced one's process stopped");
});
