// Phased rollouts on a real server, real agents, helpers and task processes (issue 14): a good v2 of
// a 6-task job goes through its phases with verdicts in status and history; a crashing v2 is rolled
// back at its first phase while the tasks outside it keep their processes; at no instant (sampled every
// 100 ms from status and /proc) are more tasks down than the budget; pause, resume, promote, abort and
// a rolling restart.

import { test } from "node:test";
import assert from "node:assert/strict";
import type { RolloutStatus } from "../src/api/types.ts";
import type { Rollout } from "../src/model/index.ts";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { alive, Cluster, compile, waitFor } from "./harness.ts";

/** A web task that is healthy on /healthz; with CRASH set it dies before its first check. */
const source = `
import { createServer } from "node:http";
if (process.env.CRASH) setTimeout(() => process.exit(3), 300);
createServer((req, res) => res.end(req.url === "/healthz" ? "ok" : "hi")).listen(Number(process.env.PORT_HTTP), "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
`;

function webInput(env: Record<string, string>, rollout: Record<string, unknown> = {}) {
  return {
    name: "web",
    command: ["node", "server.mjs"],
    files: { "server.mjs": source },
    env,
    replicas: 6,
    isolation: "none",
    ports: ["http"],
    // A grace long enough for a Node start on a loaded machine: a check failing before the task listens
    // would restart it, and a rollout rightly counts that against the new version.
    health: { kind: "http", port: "http", path: "/healthz", every: "300ms", timeout: "300ms", grace: "30s", failures: 3 },
    resources: { cpu: 0.05, memory: "64Mi", disk: "64Mi" },
    // No stop delay (2 s by default for a job with ports: the endpoint goes, then the signal). These
    // tests count live processes against the budget and maxSurge; a process in its stop delay is
    // being stopped, as a terminating pod is outside a Deployment's maxSurge.
    stop: { signal: "SIGTERM", grace: "1s", delay: "0s" },
    rollout: { phases: [1, "50%", "all"], bake: "1s", deadline: "1m", ...rollout },
  };
}

function web(env: Record<string, string>, rollout: Record<string, unknown> = {}) {
  return compile(webInput(env, rollout));
}

/** Runs the real CLI against the cluster (a temporary HOME: no context file is read or written). */
async function cli(c: Cluster, args: string[]): Promise<{ code: number; out: string }> {
  const bin = join(import.meta.dirname, "..", "bin", "tiffin.js");
  return await new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, HOME: c.dir, TIFFIN_HOME: c.dir, TIFFIN_ADDR: c.url, TIFFIN_TOKEN: c.adminToken } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

/** Writes the spec in the user's form to a file `tiffin apply` takes. */
function specFile(c: Cluster, name: string, input: Record<string, unknown>): string {
  const file = join(c.dir, name);
  writeFileSync(file, JSON.stringify(input));
  return file;
}

/** Samples, every 100 ms, how many of the job's 6 tasks do not serve: not healthy in status, or a
 * healthy one whose process is gone from /proc. Stop it to get the largest count seen. */
function sampleDown(c: Cluster): { stop(): Promise<number>; maxLive(): number } {
  let max = 0;
  let live = 0;
  let on = true;
  const loop = (async () => {
    while (on) {
      const s = await c.status("web").catch(() => null);
      if (s) {
        // A task serves when an attempt of it is healthy with its process alive (the old side of a surge counts).
        const serving = s.tasks.filter((t) => t.index < 6 && t.attempts.some((a) => a.state === "healthy" && a.pid !== null && alive(a.pid))).length;
        max = Math.max(max, 6 - serving);
        live = Math.max(live, s.tasks.flatMap((t) => t.attempts.filter((a) => (a.state === "running" || a.state === "healthy") && a.pid !== null && alive(a.pid))).length);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      on = false;
      await loop;
      return max;
    },
    maxLive: () => live,
  };
}

async function rollout(c: Cluster): Promise<RolloutStatus> {
  return (await c.api<RolloutStatus>("GET", "/v1/jobs/web/rollout")).body;
}

async function settledV1(c: Cluster): Promise<Map<number, number>> {
  await c.apply(web({ V: "1" }));
  const s = await c.waitRunning("web", 60_000, ["healthy"]);
  return new Map(s.tasks.map((t) => [t.index, t.pid ?? 0]));
}

void test("a good v2 of a 6-task job goes through its phases within the budget; status and history show the verdicts", { timeout: 240_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  await settledV1(c);
  const sampler = sampleDown(c);
  // Through the real CLI: apply follows the rollout phase by phase and returns once it succeeded.
  const applying = cli(c, ["apply", specFile(c, "v2.json", webInput({ V: "2" })), "--wait", "2m"]);
  const during = await waitFor("rollout running", 20_000, async () => {
    const s = await rollout(c);
    return s.rollout?.version === 2 && s.rollout.state === "running" ? s : undefined;
  });
  assert.ok(during.waitingFor, "a running rollout says what it waits for");
  const applied = await applying;
  assert.equal(applied.code, 0, applied.out);
  assert.match(applied.out, /web v2 phase 1\/3 \(1\)/, "the progress shows the phases");
  const done = await waitFor("v2 rolled out", 120_000, async () => {
    const s = await rollout(c);
    return s.rollout?.version === 2 && s.rollout.state !== "running" ? s : undefined;
  });
  const maxDown = await sampler.stop();
  const r = done.rollout as Rollout;
  assert.equal(r.state, "succeeded", r.why ?? "");
  assert.deepEqual(r.phases.map((p) => [p.spec, p.tasks.length, p.outcome]), [[1, 1, "passed"], ["50%", 2, "passed"], ["all", 3, "passed"]]);
  for (const p of r.phases) {
    const health = p.checks.find((x) => x.name === "health");
    assert.equal(health?.verdict, "pass", JSON.stringify(p.checks));
    assert.equal(health?.figures["restarts"], 0);
    assert.ok(p.healthyAt !== null && p.endedAt !== null && p.endedAt - p.healthyAt >= 1000, "each phase baked for its 1s");
  }
  assert.equal(done.tasksDone, 6);
  const history = (await c.api<Rollout[]>("GET", "/v1/jobs/web/rollouts")).body;
  assert.deepEqual(history.map((h) => [h.version, h.state]), [[2, "succeeded"]]);
  const status = await cli(c, ["rollout", "status", "web"]);
  assert.equal(status.code, 0, status.out);
  assert.match(status.out, /rollout 1 of version 2 \(apply from version 1\): succeeded/);
  assert.match(status.out, /health pass \(1 of 1 new tasks healthy, none restarted through the bake\)/);
  const json = await cli(c, ["rollout", "history", "web", "--json"]);
  assert.deepEqual((JSON.parse(json.out) as Rollout[]).map((h) => h.phases.map((p) => p.outcome)), [["passed", "passed", "passed"]]);
  assert.ok(maxDown <= 1, `at most the budget (1 of 6) down at any instant, saw ${maxDown}`);
  const s = await c.status("web");
  assert.ok(s.tasks.every((x) => x.version === 2 && x.state === "healthy"));
});

void test("a crashing v2 is rolled back at its first phase; the tasks outside it never stopped", { timeout: 240_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  const pids = await settledV1(c);
  const sampler = sampleDown(c);
  // Through the real CLI: apply follows the rollout and fails with the rollback and its reason.
  const applied = await cli(c, ["apply", specFile(c, "v2.json", webInput({ V: "2", CRASH: "1" })), "--wait", "2m"]);
  assert.notEqual(applied.code, 0, applied.out);
  assert.match(applied.out, /TIFFIN_ROLLOUT_FAILED.*failed and was rolled back \(version 3 runs version 1's spec\)/);
  const failed = await waitFor("v2 failed", 60_000, async () => {
    const h = (await c.api<Rollout[]>("GET", "/v1/jobs/web/rollouts")).body;
    return h.find((x) => x.version === 2 && x.state === "failed");
  });
  assert.equal(failed.phase, 0, "failed at its first phase");
  assert.deepEqual(failed.failure, { phase: 0, check: "health" });
  assert.match(failed.why ?? "", /phase 1 \(1\) failed its health check/);
  assert.equal(failed.rolledBackTo, 3);
  const back = await waitFor("rolled back", 60_000, async () => {
    const s = await rollout(c);
    return s.rollout?.version === 3 && s.rollout.state === "succeeded" ? s : undefined;
  });
  assert.equal(back.rollout?.cause, "rollback");
  const s = await c.waitRunning("web", 30_000, ["healthy"]);
  const maxDown = await sampler.stop();
  assert.equal(s.version, 3);
  assert.deepEqual(s.spec.env, { V: "1" }, "v3 is v1's spec");
  const moved = new Set(failed.phases[0]?.tasks);
  for (const x of s.tasks) {
    if (moved.has(x.index)) continue;
    assert.equal(x.pid, pids.get(x.index), `web/${x.index} outside phase 1 kept its process`);
  }
  const versions = (await c.api<{ version: number; message: string | null }[]>("GET", "/v1/jobs/web/versions")).body;
  assert.match(versions.find((v) => v.version === 3)?.message ?? "", /rollback of version 2 to version 1: phase 1 \(1\) failed/);
  assert.ok(maxDown <= 1, `at most the budget down at any instant, saw ${maxDown}`);
});

void test("pause, resume, promote, abort, and a rolling restart through the same phases and budget", { timeout: 300_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  await settledV1(c);
  await c.apply(web({ V: "2" }, { bake: "1h", deadline: "2h" }));
  await waitFor("phase 1 baking", 60_000, async () => (await rollout(c)).rollout?.phases[0]?.healthyAt != null);
  const paused = await cli(c, ["rollout", "pause", "web", "--json"]);
  assert.equal(paused.code, 0, paused.out);
  assert.equal((JSON.parse(paused.out) as RolloutStatus).rollout?.state, "paused");
  const pausedCli = await cli(c, ["rollout", "pause", "web"]);
  assert.notEqual(pausedCli.code, 0);
  assert.match(pausedCli.out, /TIFFIN_CONFLICT.*already paused/);
  assert.equal((await c.api<unknown>("POST", "/v1/jobs/web/rollout/pause")).status, 409, "pausing twice is a conflict");
  const promoted = await c.api<RolloutStatus>("POST", "/v1/jobs/web/rollout/promote");
  assert.equal(promoted.body.rollout?.state, "running", "promote resumes");
  const phase2 = await waitFor("promoted to phase 2", 30_000, async () => {
    const s = await rollout(c);
    return s.rollout && s.rollout.phase === 1 ? s : undefined;
  });
  assert.equal(phase2.rollout?.phases[0]?.outcome, "promoted");
  await waitFor("phase 2 baking", 60_000, async () => (await rollout(c)).rollout?.phases[1]?.healthyAt != null);
  const versionsAt2 = (await c.status("web")).tasks.filter((x) => x.version === 2).length;
  assert.equal(versionsAt2, 3, "phases 1 and 2: three tasks at v2, the others held");
  const aborted = await c.api<RolloutStatus>("POST", "/v1/jobs/web/rollout/abort");
  assert.equal(aborted.status, 200, JSON.stringify(aborted.body));
  assert.equal(aborted.body.rollout?.cause, "rollback");
  await waitFor("back on v1's spec", 60_000, async () => {
    const s = await c.status("web");
    return s.version === 3 && s.tasks.every((x) => x.version === 3 && x.state === "healthy") ? s : undefined;
  });
  const history = await waitFor("the rollback's rollout ended", 30_000, async () => {
    const h = (await c.api<Rollout[]>("GET", "/v1/jobs/web/rollouts")).body;
    return h.at(-1)?.state === "running" ? undefined : h;
  });
  assert.deepEqual(history.map((h) => [h.version, h.cause, h.state, h.failure?.check ?? null]), [[2, "apply", "failed", "abort"], [3, "rollback", "succeeded", null]]);

  // A rolling restart: every task gets a new process, phase by phase, never more than the budget down.
  const before = new Map((await c.status("web")).tasks.map((x) => [x.index, x.pid]));
  const sampler = sampleDown(c);
  const restarted = await c.api<{ tasks: { index: number; action: string }[] }>("POST", "/v1/jobs/web/restart", {});
  assert.equal(restarted.body.tasks.length, 6);
  const done = await waitFor("restart rolled out", 120_000, async () => {
    const s = await rollout(c);
    return s.rollout?.cause === "restart" && s.rollout.state !== "running" ? s : undefined;
  });
  const maxDown = await sampler.stop();
  const ends = (await c.status("web")).tasks.flatMap((x) => x.attempts.filter((a) => a.desired === "run" && a.endedAt !== null).map((a) => `${x.id} ${a.state} ${a.endCause ?? ""} ${a.reason ?? ""}`));
  assert.equal(done.rollout?.state, "succeeded", `${done.rollout?.why ?? ""}: ${ends.join("; ")}`);
  assert.deepEqual(done.rollout?.phases.map((p) => p.tasks.length), [1, 2, 3]);
  const after = await c.waitRunning("web", 30_000, ["healthy"]);
  for (const x of after.tasks) assert.notEqual(x.pid, before.get(x.index), `web/${x.index} has a new process`);
  assert.ok(maxDown <= 1, `at most the budget down during the restart, saw ${maxDown}`);
});

void test("a rollout while a host is drained at the same time: never more than the budget down, and both finish", { timeout: 240_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  await settledV1(c);
  const sampler = sampleDown(c);
  await c.apply(web({ V: "2" }));
  const drained = await c.api<unknown>("POST", "/v1/hosts/host-3/drain");
  assert.equal(drained.status, 200, JSON.stringify(drained.body));
  const done = await waitFor("v2 rolled out", 120_000, async () => {
    const s = await rollout(c);
    return s.rollout?.version === 2 && s.rollout.state !== "running" ? s : undefined;
  });
  assert.equal(done.rollout?.state, "succeeded", done.rollout?.why ?? "");
  const s = await waitFor("every task at v2, healthy, off the drained host", 60_000, async () => {
    const st = await c.status("web");
    return st.tasks.every((x) => x.version === 2 && x.state === "healthy" && x.hostName !== "host-3") ? st : undefined;
  });
  const maxDown = await sampler.stop();
  assert.equal(s.tasks.length, 6);
  assert.ok(maxDown <= 1, `at most the budget (1 of 6) down at any instant, rollout and drain together, saw ${maxDown}`);
});

void test("maxSurge: new attempts start beside the old ones, so more tasks move at once and none of the budget is spent on waiting", { timeout: 240_000 }, async (t) => {
  const c = await Cluster.start({ agents: 3 });
  t.after(() => c.stop());
  const before = await settledV1(c);
  const sampler = sampleDown(c);
  await c.apply(web({ V: "2" }, { phases: ["all"], bake: "0s", maxUnavailable: 1, maxSurge: 2 }));
  const done = await waitFor("v2 rolled out", 120_000, async () => {
    const s = await rollout(c);
    return s.rollout?.version === 2 && s.rollout.state !== "running" ? s : undefined;
  });
  assert.equal(done.rollout?.state, "succeeded", done.rollout?.why ?? "");
  const s = await waitFor("every task at v2, one process each", 60_000, async () => {
    const st = await c.status("web");
    const live = st.tasks.flatMap((x) => x.attempts.filter((a) => !["exited", "stopped", "failed", "lost"].includes(a.state)));
    return st.tasks.every((x) => x.version === 2 && x.state === "healthy") && live.length === 6 ? st : undefined;
  });
  const maxDown = await sampler.stop();
  assert.ok(sampler.maxLive() > 6, `surged: up to ${sampler.maxLive()} task processes at once`);
  assert.ok(sampler.maxLive() <= 6 + 2 + 1, `at most replicas + maxSurge (+1 replacing in place), saw ${sampler.maxLive()}`);
  assert.ok(maxDown <= 1, `at most the budget down, saw ${maxDown}`);
  for (const x of s.tasks) assert.notEqual(x.pid, before.get(x.index), `web/${x.index} runs a new process`);
});
