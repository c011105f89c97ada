// A helper killed with SIGKILL takes its task along (supervise.ts): the task gets its stop signal at
// once and SIGKILL after its grace, plain or sandboxed, whatever became of the agent (none here: the
// fence is an hour away, so only the helper's death can stop the task). /proc is sampled every 50 ms
// from before the kill to the end.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { firstGoneAfter, gapReport, ProcSampler, seenAlive } from "./proc-sampler.ts";
import type { HelperConfig } from "./protocol.ts";
import { HelperHarness, testRuntime, testSandbox } from "./testkit.ts";

const h = new HelperHarness();
after(() => h.cleanup());

const graceMs = 1500;
/** The server counts 1 s beyond the grace before it replaces a task whose helper stopped it
 * (lostAfter in src/server/reconcile/decide.ts): the task must be gone within it. */
const serverMarginMs = 1000;
const everyMs = 50;

/** Handles the stop signal: notes it and exits. Its output is sent elsewhere first: with its helper
 * gone, a write to its stdout or stderr fails (SIGPIPE), and dash writes "Terminated" there when its
 * `sleep` gets the signal too. */
const graceful = `exec >/dev/null 2>&1; trap 'echo got > got-term; exit 0' TERM; while :; do sleep 0.05; done`;
/** Ignores the stop signal, and so does its child: only the SIGKILL after the grace ends them. */
const stubborn = `exec >/dev/null 2>&1; trap '' TERM; sleep 300 & while :; do sleep 0.05; done`;

interface Case {
  isolation: "none" | "sandbox";
  kind: "graceful" | "stubborn";
}

const cases: Case[] = [
  { isolation: "none", kind: "graceful" },
  { isolation: "none", kind: "stubborn" },
  { isolation: "sandbox", kind: "graceful" },
  { isolation: "sandbox", kind: "stubborn" },
];

void test("a helper killed with SIGKILL stops its task: the stop signal at once, SIGKILL after the grace (plain and sandboxed)", { timeout: 120_000 }, async (t) => {
  const runtime = await testRuntime();
  const mark = `death-${process.pid}-`;
  const started = await Promise.all(
    cases.map(async (c) => {
      const id = `${mark}${c.isolation}-${c.kind}`;
      const cfg: Partial<HelperConfig> = {
        command: ["sh", "-c", c.kind === "graceful" ? graceful : stubborn],
        env: { PATH: "/usr/bin:/bin", JOB_NAME: id, ATTEMPT_ID: id },
        stop: { signal: "SIGTERM", graceMs },
        fenceMs: 3_600_000,
        ...(c.isolation === "sandbox" ? { sandbox: testSandbox(runtime) } : {}),
      };
      const dir = h.attempt(cfg);
      const helper = h.start(dir);
      const agent = await h.agent(dir);
      await agent.waitStatus(`${id} running`, (st) => st.state === "running", 30_000);
      return { ...c, id, dir, helper };
    }),
  );
  const sampler = new ProcSampler(`JOB_NAME=${mark}`, everyMs);
  await sampler.warm();
  await sleep(500);
  for (const s of started) s.helper.proc.kill("SIGKILL");
  const killedAt = Date.now();
  await Promise.all(started.map((s) => s.helper.exited));
  await sleep(graceMs + serverMarginMs + 1000);
  const samples = await sampler.stop();
  const gaps = gapReport(samples);
  t.diagnostic(gaps.text);
  // Every 50 ms asked; a loaded 2-core host (other test runs) delays samples now and then.
  assert.ok(gaps.p50 <= 2 * everyMs, `/proc sampled with gaps of ${gaps.p50} ms (median)`);
  assert.ok(gaps.max <= 1000, `/proc sampled with a gap of ${gaps.max} ms`);
  for (const s of started) {
    const seen = seenAlive(samples, s.id);
    t.diagnostic(`${s.id}: seen alive ${JSON.stringify(seen && { first: seen.first - killedAt, last: seen.last - killedAt })}, got-term ${fs.existsSync(path.join(s.dir, "work", "got-term"))}`);
  }
  for (const s of started) {
    const seen = seenAlive(samples, s.id);
    assert.ok(seen !== null && seen.first < killedAt, `${s.id}: never seen alive before the kill`);
    const lived = seen.last - killedAt;
    t.diagnostic(`${s.id}: last seen alive ${lived} ms after its helper was killed`);
    if (s.kind === "graceful") {
      assert.equal(fs.existsSync(path.join(s.dir, "work", "got-term")), true, `${s.id}: never got its stop signal`);
      assert.ok(lived <= serverMarginMs, `${s.id}: still alive ${lived} ms after its helper died`);
    } else {
      // Upper bound: the grace, then the server's margin. Lower: it did get its grace (less a sample).
      assert.ok(lived <= graceMs + serverMarginMs, `${s.id}: still alive ${lived} ms after its helper died (grace ${graceMs} ms)`);
      // It died between its last sample alive and the next sample (a loaded host stretches that gap).
      const gone = firstGoneAfter(samples, s.id, seen.last) - killedAt;
      assert.ok(gone >= graceMs - everyMs, `${s.id}: killed between ${lived} and ${gone} ms after its helper died, before its grace of ${graceMs} ms`);
    }
  }
});
