// Command custom checks end to end (issue 14): the REAL server in its own process and a real agent;
// a rollout's `checks.custom: [{ run }]` runs in one of the phase's new tasks through the exec path
// (audited), its exit code decides, and its output is kept with the verdict. Three jobs rolled to v2
// at once: a check that exits 0 in the new task (it sees the task's own env) passes every phase; one
// exiting 3 fails the first phase and rolls back, its output in the verdict; one that outlives its
// timeout is inconclusive and fails at the deadline (the default `inconclusive: "fail"`).
import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import type { AuditEntry, JobSpec, Rollout } from "../model/index.ts";
import { serverAndAgent } from "./real-server.ts";
import { testSpec, waitFor } from "./test-fixtures.ts";

/** True when a `sleep SECONDS` process runs on this machine. */
function sleeping(seconds: string): boolean {
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8") === `sleep\0${seconds}\0`) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

function spec(name: string, version: number, run: string | null): JobSpec {
  // The compiled form (the agent layer may not import the spec compiler): a string runs through sh -c.
  return testSpec({
    name,
    command: ["node", "-e", "setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(0))"],
    env: { V: String(version) },
    replicas: 2,
    isolation: "none",
    resources: { cpu: 0.05, memoryMiB: 64, diskMiB: 16 },
    stop: { signal: "SIGTERM", graceMs: 1000 },
    rollout: {
      phases: [1, "all"],
      bakeMs: 500,
      deadlineMs: 6000,
      maxUnavailable: 1,
      maxSurge: 0,
      onFailure: "rollback",
      checks: { health: true, crashRate: null, metrics: [], efficiency: null, custom: run === null ? [] : [{ kind: "command", run: ["/bin/sh", "-c", run], timeoutMs: 1500 }] },
    },
  });
}

void test("a command check runs in a new task: exit 0 passes, exit 3 fails and rolls back with its output, a timeout is inconclusive", { timeout: 120_000 }, async (t) => {
  const { api } = await serverAndAgent(t, { prefix: "tiffin-cmdcheck-", name: "cmd-1" });
  const apply = async (s: JobSpec): Promise<void> => assert.equal((await api("/v1/jobs", { method: "POST", body: JSON.stringify({ spec: s }) })).status, 200, s.name);
  const jobs = [
    // Runs in the new task: its V is 2 (the old tasks' is 1), so it passes only there.
    { name: "good", run: 'test "$V" = 2 && echo "canary v$V ok"' },
    { name: "bad", run: 'echo "canary broken: v$V" >&2; exit 3' },
    // 29.5: a duration no other process on the machine sleeps, so the test can look for it.
    { name: "slow", run: "sleep 29.5; echo late" },
  ];
  for (const j of jobs) await apply(spec(j.name, 1, null));
  await waitFor("v1 runs everywhere", async () => {
    for (const j of jobs) {
      const st = (await (await api(`/v1/jobs/${j.name}`)).json()) as { tasks: { state: string }[] };
      if (st.tasks.filter((x) => x.state === "running").length !== 2) return null;
    }
    return true;
  }, 30_000);
  for (const j of jobs) await apply(spec(j.name, 2, j.run));
  const ended = (name: string): Promise<Rollout> =>
    waitFor(`${name}'s v2 rollout ends`, async () => {
      const h = (await (await api(`/v1/jobs/${name}/rollouts`)).json()) as Rollout[];
      const r = h.find((x) => x.version === 2);
      return r && r.state !== "running" ? r : null;
    }, 60_000);
  const [good, bad, slow] = await Promise.all([ended("good"), ended("bad"), ended("slow")]);

  const customOf = (r: Rollout, phase: number) => r.phases[phase]?.checks.find((c) => c.name.startsWith("custom"));
  assert.equal(good.state, "succeeded", `${good.why ?? ""} ${JSON.stringify(good.phases.map((p) => p.checks))}`);
  for (const p of [0, 1]) {
    const c = customOf(good, p);
    assert.equal(c?.verdict, "pass", JSON.stringify(c));
    assert.equal(c?.figures["exitCode"], 0);
    assert.match(c?.detail ?? "", /canary v2 ok/, "the output is kept with the verdict");
  }

  assert.equal(bad.state, "failed", bad.why ?? "");
  assert.equal(bad.failure?.phase, 0);
  const failed = customOf(bad, 0);
  assert.equal(failed?.verdict, "fail", JSON.stringify(failed));
  assert.equal(failed?.figures["exitCode"], 3);
  assert.match(failed?.detail ?? "", /exit code 3[\s\S]*canary broken: v2/);
  assert.equal(bad.rolledBackTo, 3, "rolled back to v1's spec as version 3");

  assert.equal(slow.state, "failed", slow.why ?? "");
  const timedOut = customOf(slow, 0);
  assert.equal(timedOut?.verdict, "inconclusive", JSON.stringify(timedOut));
  assert.match(timedOut?.detail ?? "", /no answer within 1500ms/);
  // The timed-out command is gone with everything it started (not only its shell).
  await waitFor("the timed-out command's processes ended", () => !sleeping("29.5"), 5000);

  // Every run is in the audit log like any `tiffin exec`, by "tiffin rollout".
  const audit = (await (await api("/v1/audit")).json()) as AuditEntry[];
  const runs = audit.flatMap((a) => (a.action === "exec" && a.user === "tiffin rollout" ? [a] : []));
  assert.ok(runs.some((a) => a.job === "good" && a.exitCode === 0), JSON.stringify(runs));
  assert.ok(runs.some((a) => a.job === "bad" && a.exitCode === 3), JSON.stringify(runs));
});
