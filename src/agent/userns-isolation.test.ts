// Task-to-task isolation on one host (issue 17): each job runs in a user namespace range of its own.
// A real agent (against FakeServer), real helpers and real crun containers. Two jobs of different
// namespaces share a writable host mount (1777, as an operator opens one to several jobs): their
// processes are other host users (/proc/PID/status read from the host), and neither can read, write,
// list or remove what the other made there. A persisted task whose state dir an older agent made in the
// shared range (1e9) keeps it, moved to its range, across a restart of the task and of the agent. An
// agent whose runtime has no user namespace runs tasks as --task-user on the host, as before.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { USERNS_HOST_BASE, USERNS_POOL_END, USERNS_RANGE_SIZE } from "../helper/protocol.ts";
import type { Assignment, AttemptUpdate } from "../api/types.ts";
import { detectRuntime, taskStateDir } from "./isolation.ts";
import { testAssignment, testSpec, waitFor } from "./test-fixtures.ts";
import type { FakeServer } from "./test-fixtures.ts";
import { agentEnv } from "./test-agents.ts";
import type { AgentEnv } from "./test-agents.ts";
import { rangesFile } from "./userns-claims.ts";

function setup(t: TestContext, prefix: string): Promise<AgentEnv> {
  return agentEnv(t, { prefix });
}

const sh = (script: string): string[] => ["/bin/sh", "-c", script];
const runningPid = (server: FakeServer, id: string): number | null => server.updatesOf(id).find((u) => u.state === "running" && u.pid !== null)?.pid ?? null;
const final = (server: FakeServer, id: string): AttemptUpdate | undefined => server.updatesOf(id).find((u) => u.state === "exited" || u.state === "failed" || u.state === "stopped");
const hostUid = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
const inPool = (uid: number): boolean => uid >= USERNS_HOST_BASE + USERNS_RANGE_SIZE && uid < USERNS_POOL_END;
const rangeOf = (uid: number): number => Math.floor((uid - USERNS_HOST_BASE) / USERNS_RANGE_SIZE);

void test("jobs of a host are different host users: neither reaches what the other made in a shared writable mount; persisted state survives restarts", { timeout: 120_000 }, async (t) => {
  const { server, dataDir, start } = await setup(t, "tiffin-userns-");
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-userns-shared-"));
  t.after(() => fs.rmSync(shared, { recursive: true, force: true }));
  fs.chmodSync(shared, 0o1777);
  // State an older agent left in the one shared range: the task (nobody inside) owned it as 1e9+65534.
  const state = taskStateDir(dataDir, "keeper", 0);
  const legacy = USERNS_HOST_BASE + 65534;
  fs.mkdirSync(path.join(state, "var", "lib", "keeper"), { recursive: true });
  fs.mkdirSync(path.join(state, "home"), { recursive: true });
  fs.writeFileSync(path.join(state, "var", "lib", "keeper", "log"), "legacy\n", { mode: 0o600 });
  for (const p of ["home", "var", "var/lib", "var/lib/keeper", "var/lib/keeper/log"]) fs.chownSync(path.join(state, p), legacy, legacy);
  fs.chmodSync(path.join(state, "var", "lib", "keeper"), 0o700);
  const firstAgent = await start({ allowMounts: [shared] });

  const mount = [{ host: shared, task: "/shared", writable: true }];
  // alpha makes a private file and a private dir; beta (another namespace) tries each way in and says what worked.
  const alpha = testAssignment("att-alpha", testSpec({ name: "alpha", mounts: mount, command: sh("umask 077; echo secret > /shared/afile; mkdir /shared/adir; echo x > /shared/adir/f; echo ready > /shared/aready; sleep 60") }));
  const tries = ["cat /shared/afile", "echo y >> /shared/afile", "ls /shared/adir", "echo z > /shared/adir/new", "rm -f /shared/afile", "chmod 666 /shared/afile"];
  const betaScript = `while [ ! -e /shared/aready ]; do sleep 0.05; done; { ${tries.map((c) => `if ${c} >/dev/null 2>&1; then echo "got: ${c}"; else echo "refused: ${c}"; fi`).join("; ")}; } > result; echo mine > /shared/bfile; sleep 60`;
  const beta = testAssignment("att-beta", testSpec({ name: "beta", mounts: mount, command: sh(betaScript) }), { job: "beta.team-b" });
  const keeper = (id: string): Assignment => testAssignment(id, testSpec({ name: "keeper", persist: true, command: sh(`set -e; echo ${id} >> /var/lib/keeper/log; echo ${id} > /home/last`) }));
  // A second replica of alpha: the same job, so the same range (replicas share data by design).
  const alpha1 = testAssignment("att-alpha-1", testSpec({ name: "alpha", mounts: mount, command: sh("sleep 60") }), { index: 1 });
  server.assign([alpha, alpha1, beta, keeper("att-keep-1")]);

  const [pa, pb] = await waitFor("both running", () => {
    const a = runningPid(server, alpha.attempt.id);
    const b = runningPid(server, beta.attempt.id);
    return a !== null && b !== null ? [a, b] : null;
  });
  const resultFile = path.join(dataDir, "attempts", beta.attempt.id, "work", "result");
  await waitFor("beta's result", () => fs.existsSync(resultFile) && fs.readFileSync(resultFile, "utf8").split("\n").length > tries.length);
  const ua = hostUid(pa);
  const ub = hostUid(pb);
  assert.ok(inPool(ua) && inPool(ub), `each task in a range of its own, not the shared one at ${USERNS_HOST_BASE}: ${ua}, ${ub}`);
  assert.notEqual(rangeOf(ua), rangeOf(ub), "two jobs, two ranges");
  assert.equal(hostUid(await waitFor("alpha's second replica", () => runningPid(server, alpha1.attempt.id))), ua, "a job's replicas share its range");
  assert.equal(ua % USERNS_RANGE_SIZE, (USERNS_HOST_BASE + 65534) % USERNS_RANGE_SIZE, "nobody inside");
  assert.equal(fs.readFileSync(resultFile, "utf8"), tries.map((c) => `refused: ${c}\n`).join(""), "beta reached none of alpha's files");
  assert.equal(fs.readFileSync(path.join(shared, "afile"), "utf8"), "secret\n");
  assert.equal(fs.statSync(path.join(shared, "afile")).uid, ua, "alpha's file is alpha's host user's");
  assert.equal(fs.statSync(path.join(shared, "bfile")).uid, ub);
  for (const [a, uid] of [[alpha, ua], [beta, ub]] as const) assert.equal(fs.statSync(path.join(dataDir, "attempts", a.attempt.id, "work")).uid, uid, "the work dir is the task's range's");
  const table = JSON.parse(fs.readFileSync(rangesFile(dataDir), "utf8")) as { jobs: Record<string, { slot: number }> };
  assert.deepEqual(Object.keys(table.jobs).sort(), ["alpha", "beta.team-b", "keeper"]);

  // The persisted task: the legacy state is moved into its range and written by three attempts, the
  // last after an agent restart (which gives keeper the same range back).
  const exited = async (id: string): Promise<void> => {
    const end = await waitFor(`${id} ended`, () => final(server, id), 30_000);
    assert.equal(end.state, "exited", `${id}: ${end.reason ?? ""} (exit ${end.exitCode ?? "?"})`);
    assert.equal(end.exitCode, 0, `${id} wrote its state`);
  };
  await exited("att-keep-1");
  server.assign([alpha, alpha1, beta, keeper("att-keep-1"), keeper("att-keep-2")]);
  await exited("att-keep-2");
  const keeperBase = USERNS_HOST_BASE + (table.jobs["keeper"]?.slot ?? 0) * USERNS_RANGE_SIZE;
  await firstAgent.close("leave-tasks");
  await start({ allowMounts: [shared] });
  server.assign([alpha, alpha1, beta, keeper("att-keep-3")]);
  await exited("att-keep-3");
  const log = path.join(state, "var", "lib", "keeper", "log");
  assert.equal(fs.readFileSync(log, "utf8"), "legacy\natt-keep-1\natt-keep-2\natt-keep-3\n");
  assert.equal(fs.statSync(log).uid, keeperBase + 65534, "the state moved to keeper's range");
  assert.equal(fs.statSync(path.join(state, "home", "last")).uid, keeperBase + 65534);
  assert.equal(fs.readFileSync(path.join(state, "home", "last"), "utf8"), "att-keep-3\n");
  assert.equal(hostUid(pa), ua, "alpha kept running through the agent restart");
});

void test("no user namespace (runtime.userns false): tasks run as --task-user on the host, as before", { timeout: 60_000 }, async (t) => {
  const { server, dataDir, start } = await setup(t, "tiffin-userns-off-");
  const detected = await detectRuntime(path.join(dataDir, "probe"));
  assert.ok(detected.runtime, "a runtime (crun or runc) on this host");
  await start({ runtimeDetection: { runtime: detected.runtime, problems: [], userns: false } });
  const a = testAssignment("att-plain-user", testSpec({ name: "flat", persist: true, command: sh("echo hi > /var/x; sleep 60") }));
  server.assign([a]);
  const pid = await waitFor("running", () => runningPid(server, a.attempt.id));
  assert.equal(hostUid(pid), 65534);
  await waitFor("state written", () => fs.existsSync(path.join(taskStateDir(dataDir, "flat", 0), "var", "x")));
  assert.equal(fs.statSync(path.join(taskStateDir(dataDir, "flat", 0), "var", "x")).uid, 65534);
  assert.equal(fs.existsSync(rangesFile(dataDir)), false, "no range given without a user namespace");
});
