// Batch jobs end to end (issue 18): the real server in a child process, two real agents, tasks as real
// plain processes, and `tiffin` run as users run it (bin/tiffin.js, argv). A 20-item run, 4 at a time,
// where 3 items fail once: it succeeds, each item succeeded exactly once, every host's resources are
// free after it; an always-failing item fails its run (exit 1, TIFFIN_RUN_FAILED, its exit codes
// shown); a dispatch twice with one key starts one run and hands its parameters over.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { z } from "zod";
import { hostViewSchema } from "../api/answer-schemas.ts";
import { runSchema } from "../model/index.ts";
import type { Run } from "../model/index.ts";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { serverAndAgent } from "./real-server.ts";
import { killAttempts, testLogger } from "./test-fixtures.ts";

const tiffinBin = path.join(import.meta.dirname, "..", "..", "bin", "tiffin.js");

void test("batch runs through real agents: retries, freed resources, a failing item, keyed dispatch", async (t) => {
  const sa = await serverAndAgent(t, { prefix: "tiffin-batch-", name: "box-1" });
  const secondDir = path.join(sa.root, "agent-2");
  let second: AgentHandle | null = null;
  t.after(async () => {
    await second?.close("leave-tasks").catch(() => {});
    killAttempts(secondDir);
  });
  second = await startAgent({ server: sa.server.url, joinToken: sa.server.joinToken, dataDir: secondDir, name: "box-2", labels: {}, log: testLogger(), allowUnsandboxed: true });
  const marks = path.join(sa.root, "marks");
  // The tasks (isolation "none") run as the task user, nobody: the folder they write to is open to it.
  fs.mkdirSync(marks, { mode: 0o777 });
  fs.chmodSync(marks, 0o777);
  const tiffin = async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const env = { PATH: process.env["PATH"] ?? "", HOME: sa.root, TIFFIN_ADDR: sa.server.url, TIFFIN_TOKEN: sa.server.adminToken };
    try {
      const r = await promisify(execFile)(process.execPath, [tiffinBin, ...argv], { cwd: sa.root, encoding: "utf8", env });
      return { code: 0, out: r.stdout, err: r.stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout, err: e.stderr };
    }
  };
  // 20 items, 4 at a time; items 3, 7 and 11 fail once (their mark is not there yet), then succeed.
  const script = `echo "item $TIFFIN_ITEM_INDEX of $TIFFIN_RUN"; echo "$TIFFIN_RUN" >> ${marks}/ran-$TIFFIN_ITEM_INDEX
case " 3 7 11 " in *" $TIFFIN_ITEM_INDEX "*) [ -e ${marks}/failed-$TIFFIN_ITEM_INDEX ] || { touch ${marks}/failed-$TIFFIN_ITEM_INDEX; exit 3; } ;; esac`;
  const small = { isolation: "none", resources: { cpu: 0.1, memory: "32Mi", disk: "16Mi" } };
  const jobs = [
    { ...small, name: "crunch", command: script, batch: { completions: 20, parallelism: 4, retries: { limit: 2, backoff: { initial: "50ms", max: "100ms" } } } },
    { ...small, name: "doomed", command: '[ "$TIFFIN_ITEM" = b ] && exit 7; exit 0', batch: { items: ["a", "b"], retries: { limit: 1, backoff: { initial: "50ms", max: "50ms" } } } },
    { ...small, name: "echo", command: `printf '%s|%s' "$TIFFIN_PARAM_REGION" "$TIFFIN_PARAM_PAYLOAD" > ${marks}/echo-$TIFFIN_RUN`, batch: {} },
    // A workflow: "second" runs after "first"; "after-doomed" after "doomed", whose run fails.
    { ...small, name: "first", command: `while [ ! -e ${marks}/go ]; do sleep 0.05; done; echo "$TIFFIN_RUN" > ${marks}/first-$TIFFIN_ITEM_INDEX`, batch: { completions: 2, parallelism: 2 } },
    { ...small, name: "second", command: `cat ${marks}/first-0 ${marks}/first-1 > ${marks}/second-saw`, batch: { after: ["first"] } },
    { ...small, name: "after-doomed", command: "true", batch: { after: ["doomed"] } },
  ];
  fs.writeFileSync(path.join(sa.root, "jobs.json"), JSON.stringify(jobs));
  // Applied as users do, waiting as apply does by default: a batch job has nothing to wait for.
  const applied = await tiffin("apply", "jobs.json");
  assert.equal(applied.code, 0, applied.out + applied.err);
  // --wait follows the run through the watch: progress lines as the items' counts change (stderr; no
  // terminal here, so one line each), the run's JSON at the end, and one GET of the run, not a poll.
  const runGets = async (): Promise<number> => Number(/tiffin_http_requests_total\{method="GET",route="\/v1\/runs\/:job\/:id",status="200"\} (\d+)/.exec(await (await sa.api("/metrics")).text())?.[1] ?? 0);
  const gets0 = await runGets();
  const ran = await tiffin("run", "crunch", "--wait", "--json");
  assert.equal(ran.code, 0, ran.err);
  const run: Run = runSchema.parse(JSON.parse(ran.out));
  assert.equal(run.state, "succeeded", run.reason ?? "");
  assert.equal((await runGets()) - gets0, 1, "the run is read once, at its end");
  const progress = ran.err.split("\n").filter((l) => / of 20$/.test(l));
  assert.ok(progress.length >= 3, `progress lines as items end:\n${ran.err}`);
  assert.match(progress.join("\n"), /^running: [1-9]\d* ok, 0 failed, [1-4] running of 20$/m);
  assert.equal(progress.at(-1), "succeeded: 20 ok, 0 failed, 0 running of 20");
  for (const it of run.items) {
    const codes = it.attempts.map((a) => a.exitCode);
    assert.deepEqual(codes, [3, 7, 11].includes(it.index) ? [3, 0] : [0], `item ${it.index}: its attempts' exit codes`);
    assert.equal(it.state, "succeeded");
    // Ran exactly once successfully: the process itself says how often it ran, in this run.
    assert.equal(fs.readFileSync(path.join(marks, `ran-${it.index}`), "utf8").trim().split("\n").filter((l) => l === run.id).length, codes.length);
  }
  // Every task is gone with its run's end, and every host's booking with it (freed as each item ended).
  const status = z.object({ tasks: z.array(z.unknown()) }).parse(await (await sa.api("/v1/jobs/crunch")).json());
  assert.deepEqual(status.tasks, []);
  const hosts = z.array(hostViewSchema).parse(await (await sa.api("/v1/hosts")).json());
  assert.equal(hosts.length, 2);
  for (const h of hosts) assert.deepEqual([h.tasks, h.used.cpu, h.used.memoryMiB], [0, 0, 0], `host ${h.name} is free`);
  // The logs of a finished item's attempt stay readable through the log API.
  const five = run.items[5]?.attempts[0];
  assert.ok(five);
  const logs = await (await sa.api(`/v1/tasks/crunch/5/logs?attempt=${five.id}`)).text();
  assert.match(logs, new RegExp(`item 5 of ${run.id}`));
  // The rest at once (each `tiffin` is a process start): the listing, a failing run, a dispatch.
  const payload = path.join(sa.root, "payload.txt");
  fs.writeFileSync(payload, "the payload");
  const big = path.join(sa.root, "big.txt");
  fs.writeFileSync(big, "x".repeat(65_537));
  const [listed, failed, d1, tooBig, planned] = await Promise.all([
    tiffin("runs", "crunch"),
    tiffin("run", "doomed", "--wait"),
    tiffin("dispatch", "echo", "--param", "region=eu", "--payload-file", payload, "--key", "k-1", "--wait", "--json"),
    tiffin("dispatch", "echo", "--payload-file", big),
    tiffin("plan", "jobs.json"),
  ]);
  // plan says the order of the file's workflows.
  assert.match(planned.out, /^batch order: doomed, then after-doomed, then first, then second \(each run waits/m, planned.out + planned.err);
  // A payload over the limit is refused before anything is sent, with its size and the limit.
  assert.equal(tooBig.code, 2, tooBig.out + tooBig.err);
  assert.match(tooBig.err, /TIFFIN_USAGE.*big\.txt is 65,537 characters; a payload is at most 65,536/);
  assert.equal(listed.code, 0, listed.err);
  assert.match(listed.out, new RegExp(`crunch/${run.id}\\s+succeeded\\s+manual\\s+20 ok, 0 failed`));

  // An item that always fails: the run fails once its retries are spent; the CLI says so, exit 1.
  assert.equal(failed.code, 1, failed.out + failed.err);
  assert.match(failed.err, /TIFFIN_RUN_FAILED.*failed: 1; item 1 exit 7,7/);
  assert.match(failed.err, /^failed: 1 ok, 1 failed, 0 running of 2$/m, "the last progress line");
  assert.match(failed.out, /run doomed\/\S+: failed \(1 of 2 items succeeded, 2 needed; failed: 1\)/);
  assert.match(failed.out, /\n1\s+failed\s+2\s+7,7\s/, "item 1's two attempts and their exit codes");
  const id = /run doomed\/(\S+):/.exec(failed.out)?.[1] ?? "";

  // A dispatch twice with one key: one run; its parameters and payload reach the task.
  const [shown, d2] = await Promise.all([tiffin("runs", "show", `doomed/${id}`, "--json"), tiffin("dispatch", "echo", "--param", "region=us", "--key", "k-1", "--json")]);
  assert.deepEqual(runSchema.parse(JSON.parse(shown.out)).items.map((i) => [i.state, i.attempts.map((a) => a.exitCode)]), [["succeeded", [0]], ["failed", [7, 7]]]);
  assert.equal(d1.code, 0, d1.err);
  const r1 = runSchema.parse(JSON.parse(d1.out));
  const r2 = runSchema.parse(JSON.parse(d2.out));
  assert.equal(r2.id, r1.id, "the same key answers the same run");
  assert.equal(r1.cause, "dispatch");
  assert.equal(fs.readFileSync(path.join(marks, `echo-${r1.id}`), "utf8"), "eu|the payload");
  const all = z.array(runSchema).parse(await (await sa.api("/v1/jobs/echo/runs")).json());
  assert.equal(all.length, 1, "one run for the key");

  // A workflow: a run of "second" started while "first" runs waits for it, then runs; a run of
  // "after-doomed" is cancelled, naming the failed run of "doomed" it waited for.
  const up = await tiffin("run", "first", "--json");
  const upRun = runSchema.parse(JSON.parse(up.out));
  const downWait = tiffin("run", "second", "--wait", "--json");
  const doomedWait = tiffin("run", "after-doomed", "--wait");
  // "first" holds its items until marks/go exists: "second" is seen waiting, saying for what.
  const waiting = new RegExp(`^waiting for upstream run first/${upRun.id} \\(running\\)$`);
  for (let i = 0; ; i++) {
    const rs = z.array(runSchema).parse(await (await sa.api("/v1/jobs/second/runs")).json());
    if (rs.length === 1 && rs[0]?.state === "queued" && waiting.test(rs[0].reason ?? "")) break;
    assert.ok(i < 600, `second waits for first: ${JSON.stringify(rs.map((r) => [r.state, r.reason]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  fs.writeFileSync(path.join(marks, "go"), "");
  const [down, doomedDown] = await Promise.all([downWait, doomedWait]);
  assert.equal(down.code, 0, down.err);
  const downRun = runSchema.parse(JSON.parse(down.out));
  assert.deepEqual(downRun.after, [`first/${upRun.id}`]);
  const upDone = runSchema.parse(await (await sa.api(`/v1/runs/first/${upRun.id}`)).json());
  assert.equal(upDone.state, "succeeded");
  assert.ok((downRun.startedAt ?? 0) >= (upDone.endedAt ?? Infinity), "started after its upstream run ended");
  assert.equal(fs.readFileSync(path.join(marks, "second-saw"), "utf8"), `${upRun.id}\n${upRun.id}\n`, "it saw both upstream items' output");
  // A cycle closed through a stored job is refused at plan and apply, named.
  const stored = z.object({ spec: z.object({ batch: z.object({}).loose() }).loose() }).parse(await (await sa.api("/v1/jobs/first/versions/1")).json()).spec;
  const looped = { ...stored, batch: { ...stored.batch, after: ["second"] } };
  for (const route of ["/v1/plan", "/v1/jobs"]) {
    const res = await sa.api(route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ spec: looped }) });
    const text = await res.text();
    assert.equal(res.status, 422, text);
    assert.match(text, /TIFFIN_SPEC_INVALID.*batch\.after: batch jobs wait for each other in a cycle: first runs after second runs after first/);
  }
  assert.equal(doomedDown.code, 1, doomedDown.out + doomedDown.err);
  assert.match(doomedDown.err, new RegExp(`TIFFIN_RUN_FAILED.*cancelled: upstream run doomed/${id} failed`));
});
