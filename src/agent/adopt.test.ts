// Re-adoption after a crash, against the fake server of test-fixtures.ts (not the real src/server): a
// kill -9 of an agent process must leave every task running with the same pid, and what earlier agents
// left in DIR/attempts is reported and cleaned up.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { HelperConfig, HelperStatus } from "../helper/protocol.ts";
import { helperConfig } from "./config.ts";
import { startAgent } from "./main.ts";
import type { AgentHandle } from "./main.ts";
import { alive, FakeServer, killAttempts, sleeperCommand, testAssignment, testLogger, testSpec, waitFor } from "./test-fixtures.ts";

const mainUrl = new URL("./main.ts", import.meta.url).href;

/** Runs an agent in its own process (so the test can kill -9 it); resolves once it has registered. */
function agentProcess(opts: { server: string; joinToken: string; dataDir: string }): Promise<ChildProcess> {
  const code = `
    const { startAgent } = await import(${JSON.stringify(mainUrl)});
    const { pino } = await import("pino");
    const o = JSON.parse(process.env.AGENT_OPTS);
    await startAgent({ ...o, name: "box-1", labels: {}, log: pino({ level: "silent" }) });
    process.stdout.write("ready\\n");`;
  const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", "--input-type=module", "-e", code], {
    cwd: path.dirname(new URL(mainUrl).pathname),
    env: { ...process.env, AGENT_OPTS: JSON.stringify(opts) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (b: Buffer) => b.toString().includes("ready") && resolve(child));
    child.once("exit", (c) => reject(new Error(`agent process exited with ${c}`)));
  });
}

void test("kill -9 of the agent, then a restart: every task keeps running with the same pid", async (t) => {
  const server = new FakeServer();
  server.timing.fenceMs = 2500;
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-agent-"));
  let child: ChildProcess | null = null;
  let agent: AgentHandle | null = null;
  t.after(async () => {
    child?.kill("SIGKILL");
    await agent?.close("leave-tasks");
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  child = await agentProcess({ server: server.url, joinToken: server.joinToken, dataDir });
  const as = [0, 1].map((i) => testAssignment(`att-k9-${i}`, testSpec({ command: sleeperCommand() }), { index: i }));
  server.assign(as);
  const pids = await waitFor("both running", () => {
    const ups = as.map((a) => server.updatesOf(a.attempt.id).find((u) => u.state === "running" && u.pid !== null));
    return ups.every(Boolean) ? ups.map((u) => u!.pid!) : null;
  });
  child.kill("SIGKILL");
  await new Promise((r) => child!.once("exit", r));
  child = null;
  const before = server.log.updates.length;
  agent = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, log: testLogger() });
  for (const [i, a] of as.entries()) {
    const u = await waitFor(`re-adopted ${a.attempt.id}`, () => server.log.updates.slice(before).find((x) => x.id === a.attempt.id && x.pid !== null));
    assert.equal(u.pid, pids[i]);
  }
  await new Promise((r) => setTimeout(r, 3000));
  for (const pid of pids) assert.ok(alive(pid), `task ${pid} still running past fenceMs`);
  assert.equal(server.log.updates.filter((u) => u.state === "failed" || u.state === "stopped" || u.state === "exited").length, 0);
});

void test("start-up reports what earlier agents left: final statuses, dead helpers; old directories are cleaned up", async (t) => {
  const server = new FakeServer();
  await server.up();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-agent-"));
  let agent: AgentHandle | null = null;
  t.after(async () => {
    await agent?.close("leave-tasks");
    killAttempts(dataDir);
    await server.down();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const spec = testSpec({ command: sleeperCommand() });
  const leave = (id: string, index: number, status: HelperStatus | null, reported: boolean, ageMs: number) => {
    const dir = path.join(dataDir, "attempts", id);
    fs.mkdirSync(dir, { recursive: true });
    const a = testAssignment(id, spec, { index });
    const cfg: HelperConfig = helperConfig(a, { ports: {}, hostName: "box-1", fenceMs: 2000, agentEnv: {} });
    fs.writeFileSync(path.join(dir, "attempt.json"), JSON.stringify(cfg));
    fs.writeFileSync(path.join(dir, "assignment.json"), JSON.stringify(a));
    if (status) fs.writeFileSync(path.join(dir, "status.json"), JSON.stringify(status));
    if (reported) fs.writeFileSync(path.join(dir, "reported"), "");
    const when = new Date(Date.now() - ageMs);
    fs.utimesSync(path.join(dir, "attempt.json"), when, when);
  };
  const base: HelperStatus = { attemptId: "", state: "running", helperPid: 999_999_9, pid: null, exitCode: null, signal: null, reason: null, startedAt: 1, endedAt: null };
  leave("att-exited", 0, { ...base, attemptId: "att-exited", state: "exited", exitCode: 3, endedAt: 2 }, false, 0);
  leave("att-dead", 1, { ...base, attemptId: "att-dead", state: "running", pid: 999_999_8 }, false, 0);
  leave("att-nothing", 2, null, false, 0);
  // Task 3 has five old attempts, all reported: the newest three stay.
  for (let i = 0; i < 5; i++) leave(`att-old-${i}`, 3, { ...base, attemptId: `att-old-${i}`, state: "exited", exitCode: 0, endedAt: 2 }, true, (5 - i) * 60_000);

  agent = await startAgent({ server: server.url, joinToken: server.joinToken, dataDir, name: "box-1", labels: {}, log: testLogger() });
  const exited = await waitFor("final status reported", () => server.updatesOf("att-exited")[0]);
  assert.equal(exited.state, "exited");
  assert.equal(exited.exitCode, 3);
  for (const id of ["att-dead", "att-nothing"]) {
    const u = await waitFor(`${id} reported`, () => server.updatesOf(id)[0]);
    assert.equal(u.state, "failed");
    assert.equal(u.reason, "helper died");
  }
  await waitFor("reported markers", () => ["att-exited", "att-dead", "att-nothing"].every((id) => fs.existsSync(path.join(dataDir, "attempts", id, "reported"))));
  await waitFor("old attempts cleaned", () => !fs.existsSync(path.join(dataDir, "attempts", "att-old-0")) && !fs.existsSync(path.join(dataDir, "attempts", "att-old-1")));
  for (const i of [2, 3, 4]) assert.ok(fs.existsSync(path.join(dataDir, "attempts", `att-old-${i}`)), `newest attempts kept (att-old-${i})`);
  assert.equal(server.updatesOf("att-old-4").length, 0, "already reported attempts are not reported again");
  // A desired set naming an attempt this host already finished does not start it again.
  server.assign([testAssignment("att-exited", spec)]);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(server.updatesOf("att-exited").length, 1);
});
