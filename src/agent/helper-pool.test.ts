// Shared helper processes through the agent (helper-pool.ts), against the fake server: attempts are
// packed K to a process; a kill -9 of one process ends its tasks (reported "helper died") and nobody
// else's; a restarted (upgraded) agent adopts what runs, starts new processes for new attempts, and the
// old process ends with its last attempt.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import net from "node:net";
import { ask, HelperPool } from "./helper-pool.ts";
import { helperAlive } from "./helpers.ts";
import { defaultHelperCommand } from "./main.ts";
import { alive, sleeperCommand, testAssignment, testSpec, waitFor } from "./test-fixtures.ts";
import type { FakeServer } from "./test-fixtures.ts";
import { agentEnv } from "./test-agents.ts";
import type { AgentEnv } from "./test-agents.ts";

function setup(t: TestContext): Promise<AgentEnv> {
  return agentEnv(t);
}

const runningPid = (server: FakeServer, id: string): number | null => server.updatesOf(id).find((u) => u.state === "running" && u.pid !== null)?.pid ?? null;
const ended = (server: FakeServer, id: string) => server.updatesOf(id).find((u) => u.state === "exited" || u.state === "stopped" || u.state === "failed");
const helperOf = (dataDir: string, id: string): number => Number(fs.readFileSync(path.join(dataDir, "attempts", id, "helper.pid"), "utf8"));

void test("a shared process that got the request but did not answer keeps the attempt: no second helper for the same directory", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-pool-"));
  const socket = path.join(dir, "pool-x.sock");
  const silent = net.createServer(() => {}); // reads nothing, answers nothing
  await new Promise<void>((r) => silent.listen(socket, r));
  t.after(() => {
    silent.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  assert.equal(await ask(path.join(dir, "none.sock"), "/a/1", 300), "unreachable");
  assert.equal(await ask(socket, "/a/1", 300), "no answer");
  const pool = new HelperPool(dir, 8, 300);
  const command = ["/bin/false"]; // were another helper started, launch would answer its pid
  pool.adopt(process.pid, [...command, "--pool", socket, "--max", "8", "/a/0"], "/a/0");
  assert.deepEqual(await pool.launch(command, "/a/1"), { pid: process.pid });
  assert.deepEqual(pool.processes(), [], "and it gets nothing more");
});

void test("K = 2: four tasks in two shared processes; kill -9 of one ends its two tasks (helper died), the other two run on", { timeout: 60_000 }, async (t) => {
  const { server, dataDir, start } = await setup(t);
  await start({ tasksPerHelper: 2 });
  const as = [0, 1, 2, 3].map((i) => testAssignment(`att-pool-${i}`, testSpec({ command: sleeperCommand() }), { index: i }));
  server.assign(as);
  const pids = await waitFor("all running", () => {
    const ps = as.map((a) => runningPid(server, a.attempt.id));
    return ps.every((p) => p !== null) ? (ps as number[]) : null;
  });
  const helpers = as.map((a) => helperOf(dataDir, a.attempt.id));
  const byProcess = new Map<number, number[]>();
  helpers.forEach((h, i) => byProcess.set(h, [...(byProcess.get(h) ?? []), i]));
  assert.equal(byProcess.size, 2, `two processes, two tasks each: ${JSON.stringify([...byProcess])}`);
  for (const idx of byProcess.values()) assert.equal(idx.length, 2);
  // How the agent tells a live helper from a dead one or a reused pid: for an attempt handed over the
  // control socket too (its directory is not on the process's command line).
  for (const [i, a] of as.entries()) assert.ok(helperAlive(helpers[i]!, path.join(dataDir, "attempts", a.attempt.id)), `helper of ${a.attempt.id} seen alive`);
  assert.equal(helperAlive(helpers[0]!, path.join(os.tmpdir(), "elsewhere", "attempts", "x")), false);
  const [victim, other] = [...byProcess.keys()] as [number, number];
  process.kill(victim, "SIGKILL");
  for (const i of byProcess.get(victim)!) {
    const end = await waitFor(`${as[i]!.attempt.id} reported`, () => ended(server, as[i]!.attempt.id));
    assert.equal(end.reason, "helper died");
    await waitFor(`task ${pids[i]} gone`, () => !alive(pids[i]!), 5000);
  }
  await new Promise((r) => setTimeout(r, 1000));
  for (const i of byProcess.get(other)!) {
    assert.ok(alive(pids[i]!), `task of the other process (${as[i]!.attempt.id}) runs on`);
    assert.equal(ended(server, as[i]!.attempt.id), undefined);
  }
  assert.ok(alive(other));
});

void test("K = 1: a process per task, as before", { timeout: 60_000 }, async (t) => {
  const { server, dataDir, start } = await setup(t);
  await start({ tasksPerHelper: 1 });
  const as = [0, 1].map((i) => testAssignment(`att-solo-${i}`, testSpec({ command: sleeperCommand() }), { index: i }));
  server.assign(as);
  await waitFor("both running", () => as.every((a) => runningPid(server, a.attempt.id) !== null));
  const helpers = as.map((a) => helperOf(dataDir, a.attempt.id));
  assert.notEqual(helpers[0], helpers[1]);
  for (const [i, h] of helpers.entries()) {
    const argv = fs.readFileSync(`/proc/${h}/cmdline`, "utf8").split("\0").filter((s) => s !== "");
    assert.equal(argv.includes("--pool"), false);
    assert.equal(argv.at(-1), path.join(dataDir, "attempts", as[i]!.attempt.id));
  }
});

void test("an agent whose helper command is `tiffin helper` shares processes too", { timeout: 60_000 }, async (t) => {
  const { server, dataDir, start } = await setup(t);
  const tiffin = fileURLToPath(new URL("../../bin/tiffin.js", import.meta.url));
  await start({ tasksPerHelper: 2, helperCommand: [process.execPath, tiffin, "helper"] });
  const as = [0, 1].map((i) => testAssignment(`att-cli-${i}`, testSpec({ command: sleeperCommand() }), { index: i }));
  server.assign(as);
  await waitFor("both running", () => as.every((a) => runningPid(server, a.attempt.id) !== null));
  assert.equal(helperOf(dataDir, as[0]!.attempt.id), helperOf(dataDir, as[1]!.attempt.id));
});

void test("an agent restarted with the same helper hands new attempts to its predecessor's shared process while it has room", { timeout: 60_000 }, async (t) => {
  const { server, dataDir, start } = await setup(t);
  const first = await start({ tasksPerHelper: 3 });
  const as = [0, 1, 2, 3].map((i) => testAssignment(`att-re-${i}`, testSpec({ command: sleeperCommand() }), { index: i }));
  server.assign(as.slice(0, 2));
  await waitFor("two running", () => as.slice(0, 2).every((a) => runningPid(server, a.attempt.id) !== null));
  const old = helperOf(dataDir, as[0]!.attempt.id);
  await first.close("leave-tasks");
  await start({ tasksPerHelper: 3 });
  server.assign(as);
  await waitFor("four running", () => as.every((a) => runningPid(server, a.attempt.id) !== null));
  // The two new ones start together, in either order: one fills the old process (same bundle), the other
  // finds it full.
  const fresh = as.slice(2).map((a) => helperOf(dataDir, a.attempt.id));
  assert.deepEqual(fresh.map((h) => h === old).sort(), [false, true], `old process ${old}, new attempts in ${fresh.join(", ")}`);
});

void test("an upgraded agent adopts the shared process's attempts, starts a new process for new ones, and the old one ends with its last attempt", { timeout: 60_000 }, async (t) => {
  const { server, dataDir, start } = await setup(t);
  const first = await start({ tasksPerHelper: 4 });
  const old = [0, 1].map((i) => testAssignment(`att-up-${i}`, testSpec({ command: sleeperCommand() }), { index: i }));
  server.assign(old);
  const pids = await waitFor("both running", () => {
    const ps = old.map((a) => runningPid(server, a.attempt.id));
    return ps.every((p) => p !== null) ? (ps as number[]) : null;
  });
  const oldHelper = helperOf(dataDir, old[0]!.attempt.id);
  assert.equal(helperOf(dataDir, old[1]!.attempt.id), oldHelper, "both in one process");
  await first.close("upgrade", 5000);
  // The new agent runs another helper (here the TypeScript source instead of the bundle).
  const before = server.log.updates.length;
  await start({ tasksPerHelper: 4, helperCommand: defaultHelperCommand() });
  for (const [i, a] of old.entries()) {
    const u = await waitFor(`re-adopted ${a.attempt.id}`, () => server.log.updates.slice(before).find((x) => x.id === a.attempt.id && x.pid !== null));
    assert.equal(u.pid, pids[i]);
  }
  const fresh = testAssignment("att-up-2", testSpec({ command: sleeperCommand() }), { index: 2 });
  server.assign([...old, fresh]);
  await waitFor("new attempt running", () => runningPid(server, fresh.attempt.id));
  const newHelper = helperOf(dataDir, fresh.attempt.id);
  assert.notEqual(newHelper, oldHelper, "a new attempt never goes to the old agent's process");
  server.assign([...old.map((a) => ({ ...a, attempt: { ...a.attempt, desired: "stop" as const, state: "running" as const } })), fresh]);
  for (const a of old) await waitFor(`${a.attempt.id} stopped`, () => ended(server, a.attempt.id));
  await waitFor("the old process ended with its last attempt", () => !alive(oldHelper), 10_000);
  assert.ok(alive(newHelper));
  assert.ok(alive(runningPid(server, fresh.attempt.id)!));
});

void test("ask: a reply that is no PoolReply counts as no answer (the process may have taken the attempt), never as a refusal", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tiffin-ask-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const cases: [string, string][] = [
    ['{"status":"ok"}\n', "no answer"],
    ['{"ok":false,"reason":"busy"}\n', "no answer"],
    ['{"ok":false,"reason":"full"}\n', "full"],
    ['{"ok":true}\n', "ok"],
  ];
  for (const [i, [line, want]] of cases.entries()) {
    const socket = path.join(dir, `p${i}.sock`);
    const srv = net.createServer((c) => c.end(line));
    await new Promise<void>((r) => srv.listen(socket, r));
    const got = await ask(socket, "/x", 2000);
    srv.close();
    assert.equal(typeof got === "string" ? got : got.ok ? "ok" : got.reason, want, line);
  }
});
