// End-to-end: a job with `disconnect: { stopAfter }` has at most one live copy, whatever dies on its
// host: helper then agent, agent then helper, both at once, or the agent alone (kill -9 each),
// sandboxed and plain.
// /proc is sampled every 50 ms for the whole scenario (a worker thread, so awaiting the API cannot
// delay a sample), and every sample must show at most one attempt of each job alive.
//
// The timings make the server's own wait matter: the task ignores SIGTERM, so it lives its whole
// grace (6 s) after it is told to stop, and with the defaults (heartbeat 1 s, fence 3 s, down 5 s) a
// server that replaced it as soon as the host is down (5 s after the last heartbeat, which is at
// most 1 s before the agent's kill) would start the replacement while the old copy still runs (it
// dies 6 s after its helper, killed at most 1.5 s after the agent). The server waits last heartbeat +
// max(heartbeat, stopAfter) + fence + grace + 1 s (lostAfter in src/server/reconcile/decide.ts); the bounds below
// are derived from those numbers and measured from the server's last heartbeat of the host.
import assert from "node:assert/strict";
import { after as afterAll, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { gapReport, overlaps, ProcSampler, seenAlive } from "../src/helper/proc-sampler.ts";
import { Cluster, compile, StartAllowanceMs, Timing, waitFor } from "./harness.ts";
import type { JobStatus } from "../src/api/types.ts";

const { heartbeatMs, fenceMs } = Timing;
const stopAfterMs = 2000;
const graceMs = 6000;
/** The server's margin after the grace (lostAfter). */
const marginMs = 1000;
/** From the moment the server may place it to a running replacement: a reconcile tick and a start. */
const startAllowanceMs = Timing.reconcileTickMs + StartAllowanceMs;
const everyMs = 50;

/** Ignores SIGTERM: only the SIGKILL after its grace ends it. */
const stubbornSource = `process.on("SIGTERM", () => {}); setInterval(() => {}, 1000);`;

function job(name: string, isolation: "sandbox" | "none") {
  return compile({
    name,
    command: ["node", "-e", stubbornSource],
    replicas: 1,
    isolation,
    resources: { cpu: 0.1, memory: "64Mi", disk: "32Mi" },
    disconnect: { stopAfter: `${stopAfterMs}ms` },
    stop: { signal: "SIGTERM", grace: `${graceMs}ms` },
  });
}

type Pattern = "helper then agent" | "agent then helper" | "both at once" | "agent only";

/** One /proc sampler for the scenarios running at once (started by the first to need it). */
let sampler: ProcSampler | undefined;

const patterns: Pattern[] = ["helper then agent", "agent then helper", "both at once", "agent only"];

/** The tail of the queue of clusters being set up (see `inTurn`). */
let setUp: Promise<unknown> = Promise.resolve();

/** Runs `work` once every set-up queued before it has ended, so that one cluster at a time starts;
 * resolves once no set-up is queued (every running pattern queued its own at its start), so that no
 * set-up runs beside a scenario. */
async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  const mine = setUp.then(work);
  setUp = mine.catch(() => undefined);
  const out = await mine;
  for (let tail = setUp; ; tail = setUp) {
    await tail;
    if (tail === setUp) return out;
  }
}

// The four patterns run at once, each on its own cluster: after the kill a scenario is a wait on the
// server's timers (about 12 s), not work, so the four waits overlap. The set-ups (a server, three
// agents, two tasks: the CPU-heavy part) come first, one at a time, so a cluster starts no slower than
// alone and no scenario is sampled beside a set-up; one /proc sampler serves them all (each reads its
// own window of samples). Every bound above is measured per cluster from its own host's last
// heartbeat. The timeout counts the wait for the other set-ups too. (One after the other, the file
// took 72 s of CI's serial e2e time.)
void describe("at most one live copy", { concurrency: true }, () => {
  afterAll(() => sampler?.stop());
  for (const pattern of patterns) {
    void test(`at most one live copy: kill -9 ${pattern}, sandboxed and plain (/proc every ${everyMs} ms)`, { timeout: 300_000 }, async (t) => {
      const tag = pattern.replaceAll(" ", "-");
      const jobs = [`solo-box-${tag}`, `solo-plain-${tag}`];
      const { c, before } = await inTurn(async () => {
        const c = await Cluster.start({ agents: 3 });
        t.after(() => c.stop());
        await c.apply(job(jobs[0]!, "sandbox"));
        await c.apply(job(jobs[1]!, "none"));
        return { c, before: await Promise.all(jobs.map((j) => c.waitRunning(j, 30_000))) };
      });
      sampler ??= new ProcSampler("JOB_NAME=solo-", everyMs);
      const from = Date.now();
      const hosts = await c.hosts();
      const firsts = before.map((s) => s.tasks[0]!);
      const victims = [...new Set(firsts.map((f) => c.agents.findIndex((a) => a.name === hosts.find((h) => h.id === f.hostId)?.name)))];
      const helperPid = (f: (typeof firsts)[number]): number => {
        const a = c.agents.find((x) => x.name === hosts.find((h) => h.id === f.hostId)?.name)!;
        return Number(readFileSync(join(a.dataDir, "attempts", f.attemptId!, "helper.pid"), "utf8").trim());
      };
      const helpers = firsts.map(helperPid);
      await sampler.warm(sampler.taken() + 2);
      await sleep(500);
      const killHelpers = (): void => helpers.forEach((p) => process.kill(p, "SIGKILL"));
      const killAgents = (): void => victims.forEach((i) => c.killAgent(i));
      if (pattern === "helper then agent") {
        // The agent is frozen first, so it cannot kill the orphan of its dead helper before it dies
        // too (given the time, it does: that is the agent's job, tested in src/agent).
        victims.forEach((i) => c.agents[i]?.proc?.kill("SIGSTOP"));
        killHelpers();
        await sleep(300);
        killAgents();
      } else if (pattern === "agent then helper") {
        killAgents();
        // Before the helpers' fence: their last ping was at most fenceMs / 4 before the kill.
        await sleep(fenceMs / 2);
        killHelpers();
      } else if (pattern === "both at once") {
        killHelpers();
        killAgents();
      } else {
        killAgents(); // the helpers live on and fence
      }
      // The server's last heartbeat from each victim: what its wait counts from.
      const lastBeat = new Map((await c.hosts()).filter((h) => firsts.some((f) => f.hostId === h.id)).map((h) => [h.id, h.lastHeartbeatAt ?? 0]));
      const after: JobStatus[] = await Promise.all(
        jobs.map((j, i) =>
          waitFor(`${j} replaced`, 30_000, async () => {
            const s = await c.status(j);
            const t0 = s.tasks[0];
            return t0 && t0.attemptId !== firsts[i]!.attemptId && t0.pid !== null && ["running", "healthy"].includes(t0.state) ? s : undefined;
          }),
        ),
      );
      await sleep(1000);
      // This scenario's samples: from when its tasks ran, as if it had sampled alone.
      const samples = (await sampler.snapshot()).filter((x) => x.at >= from);
      const gaps = gapReport(samples);
      t.diagnostic(gaps.text);
      // Every 50 ms asked; a loaded 2-core host (other test runs) delays samples now and then.
      assert.ok(gaps.p50 <= 2 * everyMs, `/proc sampled with gaps of ${gaps.p50} ms (median)`);
      assert.ok(gaps.max <= 1000, `/proc sampled with a gap of ${gaps.max} ms`);
      for (const [i, name] of jobs.entries()) {
        const first = firsts[i]!;
        const old = seenAlive(samples, first.attemptId!);
        const replacement = seenAlive(samples, after[i]!.tasks[0]!.attemptId!);
        const beat = lastBeat.get(first.hostId!) ?? 0;
        t.diagnostic(`${name}: old copy last seen ${old ? old.last - beat : "never"} ms, replacement first seen ${replacement ? replacement.first - beat : "never"} ms after the last heartbeat`);
        const attempts = new Set(after[i]!.tasks[0]!.attempts.map((a) => a.id));
        assert.deepEqual(overlaps(samples, attempts).map((s) => s.byAttempt), [], `${name}: two copies alive at once`);
        assert.ok(old !== null && replacement !== null, `${name}: old ${JSON.stringify(old)}, replacement ${JSON.stringify(replacement)}`);
        assert.ok(old.last < replacement.first, `${name}: the replacement started before the old copy was gone`);
        // And the hand-over was seen: a sample with neither copy alive between the two.
        assert.ok(samples.some((x) => x.at > old.last && x.at < replacement.first), `${name}: no sample between the old copy's end and the replacement's start`);
        // Upper bounds, from the last heartbeat: the old copy is gone once its helper's fence (or the
        // helper's death, earlier) and its grace are over; the replacement runs once the server's wait
        // is over and it had time to start.
        const oldBound = heartbeatMs + fenceMs + graceMs + marginMs;
        assert.ok(old.last - beat <= oldBound, `${name}: old copy alive ${old.last - beat} ms after the last heartbeat (bound ${oldBound})`);
        const wait = Math.max(heartbeatMs, stopAfterMs) + fenceMs + graceMs + marginMs;
        assert.ok(replacement.first - beat >= wait, `${name}: replacement ran ${replacement.first - beat} ms after the last heartbeat, before the server's wait of ${wait} ms`);
        assert.ok(replacement.first - beat <= wait + startAllowanceMs, `${name}: replacement ran ${replacement.first - beat} ms after the last heartbeat (bound ${wait + startAllowanceMs})`);
        assert.notEqual(after[i]!.tasks[0]!.hostId, first.hostId);
      }
    });
  }
});
