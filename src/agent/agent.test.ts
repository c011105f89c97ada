// The agent against a fake server (FakeServer in test-fixtures.ts: NOT the real src/server, a small
// node:http stand-in speaking the agent half of api/types.ts) with real helpers (src/helper/main.ts)
// and real task processes. Every test kills whatever it started, even when it fails.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { defaultSecretsRoot, secretsDirOf } from "../helper/secrets-dir.ts";
import { HelperNodeFlags } from "./helper-bundle.ts";
import { taskStateDir } from "./isolation.ts";
import type { AgentHandle } from "./main.ts";
import { alive, sleeperCommand, testAssignment, testSpec, waitFor } from "./test-fixtures.ts";
import type { FakeServer } from "./test-fixtures.ts";
import { agentEnv } from "./test-agents.ts";
import type { AgentEnv } from "./test-agents.ts";

function setup(t: TestContext): Promise<AgentEnv> {
  return agentEnv(t, { defaults: { labels: { rack: "r1", cluster: "c1" }, allowUnsandboxed: true } });
}

const running = (server: FakeServer, id: string) => server.updatesOf(id).find((u) => u.state === "running" && u.pid !== null);
const final = (server: FakeServer, id: string) => server.updatesOf(id).find((u) => u.state === "exited" || u.state === "stopped" || u.state === "failed");

void test("registers with its inventory, persists its identity, heartbeats, and re-registers when told", async (t) => {
  const { server, dataDir, start } = await setup(t);
  const agent = await start();
  assert.equal(agent.hostId, "host-1");
  const inv = server.log.registers[0]!.inventory;
  assert.equal(inv.name, "box-1");
  assert.equal(inv.cores, 4);
  assert.equal(inv.memoryMiB, 4096);
  // What the start-up probe found: this machine has crun/runc (tests need one), so never "none".
  assert.match(inv.runtime, /^(crun|runc) \d+\.\d+/);
  assert.equal(inv.address, agent.address);
  assert.deepEqual(inv.labels, { rack: "r1", cluster: "c1" });
  const saved = JSON.parse(fs.readFileSync(path.join(dataDir, "agent.json"), "utf8")) as { hostId: string; hostToken: string };
  assert.equal(saved.hostId, "host-1");
  assert.equal(saved.hostToken, "host-token-1");
  await waitFor("two heartbeats", () => server.log.heartbeats.length >= 2);
  assert.equal(server.log.heartbeats[0]?.hostId, "host-1");
  // The machine checks' first results ride with a heartbeat once, then only changes (none here).
  await waitFor("machine checks sent", () => server.log.heartbeats.some((h) => h.checks?.some((c) => c.name === "datadir" && c.status === "pass")));
  const sentAt = server.log.heartbeats.length;
  await waitFor("two more heartbeats", () => server.log.heartbeats.length >= sentAt + 2);
  assert.deepEqual(server.log.heartbeats.slice(sentAt).flatMap((h) => h.checks ?? []), [], "unchanged checks are not sent again");
  server.reregisterOnce = true;
  await waitFor("re-register", () => server.log.registers.length === 2);
  await waitFor("new token saved", () => fs.readFileSync(path.join(dataDir, "agent.json"), "utf8").includes("host-token-2"));
});

void test("a wrong join token is a TiffinError, not a hang", async (t) => {
  const { start } = await setup(t);
  await assert.rejects(start({ joinToken: "nope" }), { name: "TiffinError", code: "TIFFIN_UNAUTHORIZED" });
});

void test("an assignment starts a helper and task; statuses reach the server with pid and ports; desired stop stops it", async (t) => {
  const { server, dataDir, start } = await setup(t);
  await start();
  const a = testAssignment("att-run-1", testSpec({ command: sleeperCommand(), ports: ["http"] }));
  server.assign([a]);
  const up = await waitFor("running status with pid", () => running(server, a.attempt.id));
  assert.ok(alive(up.pid!), "task pid is alive");
  const port = up.ports["http"]!;
  assert.ok(port >= 20000 && port <= 29999, `port ${port} in the default range`);
  const cfg = JSON.parse(fs.readFileSync(path.join(dataDir, "attempts", a.attempt.id, "attempt.json"), "utf8")) as { env: Record<string, string> };
  assert.equal(cfg.env["PORT_HTTP"], String(port));
  assert.equal(cfg.env["TASK_ID"], "web/0");
  // The helper runs from the agent's plain JavaScript bundle (no type stripping: ~35 MiB less each).
  const dir = path.join(dataDir, "attempts", a.attempt.id);
  const helperPid = Number(fs.readFileSync(path.join(dir, "helper.pid"), "utf8"));
  const argv = fs.readFileSync(`/proc/${helperPid}/cmdline`, "utf8").split("\0").filter((s) => s !== "");
  // A shared helper process (the default, --tasks-per-helper 8): `BUNDLE --pool SOCKET --max 8 DIR`.
  assert.deepEqual(argv.slice(0, -6), [process.execPath, ...HelperNodeFlags]);
  assert.match(argv.at(-6)!, new RegExp(`^${path.join(dataDir, "helper")}/helper-[0-9a-f]+\\.mjs$`));
  assert.deepEqual(argv.slice(-5, -3), ["--pool", argv.at(-4)]);
  assert.match(argv.at(-4)!, new RegExp(`^${path.join(dataDir, "helper")}/pool-[0-9a-f]+\\.sock$`));
  assert.deepEqual(argv.slice(-3), ["--max", "8", dir]);

  server.assign([{ ...a, attempt: { ...a.attempt, desired: "stop", state: "running" } }]);
  const end = await waitFor("final status", () => final(server, a.attempt.id));
  assert.equal(end.state, "stopped", "a stop the server asked for is no failure");
  assert.match(end.reason ?? "", /stopped by server/);
  assert.equal(end.pid, up.pid);
  await waitFor("task gone", () => !alive(up.pid!));
  // After the ack the helper exits and the directory is marked reported.
  await waitFor("reported marker", () => fs.existsSync(path.join(dataDir, "attempts", a.attempt.id, "reported")));
  await waitFor("helper exited", () => !fs.existsSync(path.join(dataDir, "attempts", a.attempt.id, "helper.pid")));
});

void test("an attempt dropped from the desired set is stopped; one not due yet waits for startAfter; --state-keep collects the state of tasks gone from the host, not of tasks here", async (t) => {
  const { server, dataDir, start } = await setup(t);
  // Persisted state (spec persist) of a task long gone from this host, and of the task about to run.
  const gone = taskStateDir(dataDir, "old", 3);
  const here = taskStateDir(dataDir, "web", 1);
  for (const d of [gone, here]) fs.mkdirSync(path.join(d, "var"), { recursive: true });
  await start({ stateKeepMs: 400, packageGcEveryMs: 150 });
  const a = testAssignment("att-drop-1", testSpec({ command: sleeperCommand() }));
  const later = testAssignment("att-later-1", testSpec({ command: sleeperCommand() }), { index: 1, startAfter: Date.now() + 1500 });
  server.assign([a, later]);
  await waitFor("first running", () => running(server, a.attempt.id));
  assert.equal(server.updatesOf(later.attempt.id).length, 0, "not started before startAfter");
  server.assign([later]);
  const end = await waitFor("dropped attempt final", () => final(server, a.attempt.id));
  assert.match(end.reason ?? "", /no longer assigned/);
  const up = await waitFor("later attempt running", () => running(server, later.attempt.id));
  assert.ok(up.pid !== null);
  await waitFor("the gone task's state collected", () => !fs.existsSync(gone));
  assert.ok(fs.existsSync(here), "the running task's state stays");
  assert.ok(fs.existsSync(path.join(dataDir, "state", "last-used.json")), "when each task was last in use is kept");
});

void test("leave-tasks, then a new agent on the same dir re-adopts the task with the same pid", async (t) => {
  const { server, start } = await setup(t);
  server.timing.fenceMs = 2500;
  const first = await start();
  const a = testAssignment("att-adopt-1", testSpec({ command: sleeperCommand() }));
  server.assign([a]);
  const up = await waitFor("running", () => running(server, a.attempt.id));
  await first.close("leave-tasks");
  const before = server.log.updates.length;
  await start();
  const again = await waitFor("status from re-adopted helper", () => server.log.updates.slice(before).find((u) => u.id === a.attempt.id && u.pid !== null));
  assert.equal(again.pid, up.pid);
  assert.equal(again.state, "running");
  // Past the fence the task still runs: the new agent pings its helper.
  await new Promise((r) => setTimeout(r, 3000));
  assert.ok(alive(up.pid!), "task survived the agent's restart and the fence period");
  assert.equal(final(server, a.attempt.id), undefined);
});

void test("disconnect policy: the at-most-one task stops when the server is gone, the default task keeps running; the final status is delivered later", async (t) => {
  const { server, dataDir, start } = await setup(t);
  server.timing.fenceMs = 60_000;
  await start();
  const once = testAssignment("att-once-1", testSpec({ name: "once", command: sleeperCommand(), disconnect: { stopAfterMs: 1000 } }));
  const keep = testAssignment("att-keep-1", testSpec({ name: "keep", command: sleeperCommand() }));
  server.assign([once, keep]);
  const upOnce = await waitFor("once running", () => running(server, once.attempt.id));
  const upKeep = await waitFor("keep running", () => running(server, keep.attempt.id));
  await server.down();
  await waitFor("at-most-one task stopped", () => !alive(upOnce.pid!), 10_000);
  // The helper writes the final status a moment after the task is gone (pipes drained, sandbox removed).
  const statusFile = path.join(dataDir, "attempts", once.attempt.id, "status.json");
  const status = await waitFor("final status written", () => {
    const s = JSON.parse(fs.readFileSync(statusFile, "utf8")) as { state: string; reason: string };
    return s.state === "running" ? null : s;
  });
  assert.equal(status.state, "failed");
  assert.match(status.reason, /disconnected from server for 1000ms/);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(alive(upKeep.pid!), "the default-policy task keeps running without the server");
  await server.up();
  const end = await waitFor("final status delivered once the server is back", () => final(server, once.attempt.id), 20_000);
  assert.match(end.reason ?? "", /disconnected from server/);
  assert.equal(final(server, keep.attempt.id), undefined);
});

void test("logs endpoint streams the task's output with the host token, rejects others", async (t) => {
  const { server, start } = await setup(t);
  const agent = await start();
  const a = testAssignment("att-logs-1", testSpec({ command: sleeperCommand(), ports: ["http"] }));
  server.assign([a]);
  const up = await waitFor("running", () => running(server, a.attempt.id));
  const base = `http://${agent.address}/v1/logs`;
  const token = "host-token-1";
  const get = (p: string, tok = token) => fetch(`${base}/${p}`, { headers: { authorization: `Bearer ${tok}` } });
  const text = await waitFor("stdout in the logs", async () => {
    const r = await get(`${a.attempt.id}?stream=stdout`);
    const body = await r.text();
    return r.status === 200 && body.includes("hello from web/0") ? body : null;
  });
  assert.match(text, new RegExp(`port ${up.ports["http"]}`));
  // Each stream is flushed on its own timer: stderr may reach the disk a little after stdout.
  const err = await waitFor("stderr in the logs", async () => {
    const body = await (await get(`${a.attempt.id}?stream=stderr&tail=1`)).text();
    return body === "" ? null : body;
  });
  assert.equal(err, "to stderr\n");
  assert.equal((await get(`${a.attempt.id}?stream=stdout`, "wrong")).status, 401);
  assert.equal((await fetch(`${base}/${a.attempt.id}`)).status, 401);
  assert.equal((await get("no-such-attempt")).status, 404);
  assert.equal((await get(`${a.attempt.id}?stream=bogus`)).status, 400);
  // follow=1 keeps the response open; reading the first chunk proves it streams.
  const ac = new AbortController();
  const r = await fetch(`${base}/${a.attempt.id}?follow=1`, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  const reader = r.body!.getReader();
  const first = await reader.read();
  assert.match(Buffer.from(first.value!).toString(), /hello from web\/0/);
  ac.abort();
});

void test("close('stop-tasks') stops every task and reports the final statuses", async (t) => {
  const { server, start } = await setup(t);
  const agent = await start();
  const a = testAssignment("att-stopall-1", testSpec({ command: sleeperCommand() }));
  server.assign([a]);
  const up = await waitFor("running", () => running(server, a.attempt.id));
  await agent.close("stop-tasks");
  assert.ok(!alive(up.pid!), "task stopped before close returned");
  const end = final(server, a.attempt.id);
  assert.ok(end, "final status reported before close returned");
  assert.match(end.reason ?? "", /agent stopping/);
});

void test("close('upgrade') announces the absence: the server gets upgradeMs and helpers do not fence", async (t) => {
  const { server, start } = await setup(t);
  server.timing.fenceMs = 1000;
  const agent = await start();
  const a = testAssignment("att-upgrade-1", testSpec({ command: sleeperCommand() }));
  server.assign([a]);
  const up = await waitFor("running", () => running(server, a.attempt.id));
  await agent.close("upgrade", 6000);
  assert.ok(server.log.heartbeats.some((h) => h.upgradeMs === 6000));
  await new Promise((r) => setTimeout(r, 2500));
  assert.ok(alive(up.pid!), "task still running past fenceMs during the announced upgrade");
  const before = server.log.updates.length;
  await start();
  const again = await waitFor("re-adopted", () => server.log.updates.slice(before).find((u) => u.id === a.attempt.id && u.pid !== null));
  assert.equal(again.pid, up.pid);
});

void test("leave-tasks without a new agent: the helper fences its task after fenceMs", async (t) => {
  const { server, dataDir, start } = await setup(t);
  server.timing.fenceMs = 1000;
  const agent = await start();
  const a = testAssignment("att-fence-1", testSpec({ command: sleeperCommand() }));
  server.assign([a]);
  const up = await waitFor("running", () => running(server, a.attempt.id));
  await agent.close("leave-tasks");
  await waitFor("fenced", () => !alive(up.pid!), 10_000);
  // The final status follows the task's end by a moment (pipes drained, sandbox removed).
  const status = await waitFor("final status", () => {
    const st = JSON.parse(fs.readFileSync(path.join(dataDir, "attempts", a.attempt.id, "status.json"), "utf8")) as { reason: string | null };
    return st.reason === null ? null : st;
  });
  assert.match(status.reason ?? "", /fenced/);
});

void test("a helper that cannot start or dies at once is reported failed, not left pending", async (t) => {
  const { server, start } = await setup(t);
  const a = testAssignment("att-nohelper-1", testSpec({ command: sleeperCommand() }));
  const agent = await start({ helperCommand: ["/nonexistent/tiffin-helper"] });
  server.assign([a]);
  const end = await waitFor("failed report", () => final(server, a.attempt.id));
  assert.match(end.reason ?? "", /helper could not start/);
  await agent.close("leave-tasks");

  const b = testAssignment("att-deadhelper-1", testSpec({ command: sleeperCommand() }));
  await start({ helperCommand: [process.execPath, "-e", "process.exit(3)"] });
  server.assign([b]);
  const end2 = await waitFor("helper died report", () => final(server, b.attempt.id));
  assert.equal(end2.state, "failed");
  assert.equal(end2.reason, "helper died");
});

void test("a start the kernel refuses reaches the server as an incurable failure, with the reason (issue 10 item 8)", async (t) => {
  const { server, start } = await setup(t);
  const a = testAssignment("att-nul-1", testSpec({ command: sleeperCommand(), env: { A: "x\0y" }, isolation: "none" }));
  await start();
  server.assign([a]);
  const end = await waitFor("failed report", () => final(server, a.attempt.id));
  assert.equal(end.state, "failed");
  assert.match(end.reason ?? "", /^start failed: .*env\.A: an env value may not contain a NUL byte/);
  assert.equal(end.incurable, true);
});

void test("a helper killed under its task: reported 'helper died' and the orphaned task is killed", async (t) => {
  const { server, dataDir, start } = await setup(t);
  await start();
  const a = testAssignment("att-orphan-1", testSpec({ command: sleeperCommand() }));
  server.assign([a]);
  const up = await waitFor("running", () => running(server, a.attempt.id));
  const helperPid = Number(fs.readFileSync(path.join(dataDir, "attempts", a.attempt.id, "helper.pid"), "utf8"));
  process.kill(helperPid, "SIGKILL");
  const end = await waitFor("failed report", () => final(server, a.attempt.id));
  assert.equal(end.reason, "helper died");
  await waitFor("orphaned task killed", () => !alive(up.pid!), 5000);
});

void test("a helper killed with kill -9: its task's secrets leave the tmpfs as soon as the agent learns it died", async (t) => {
  const { server, dataDir, start } = await setup(t);
  await start();
  const value = "pw-kill9-okapi-3391";
  const spec = testSpec({ command: sleeperCommand(), isolation: "none", secretEnv: { DB_PASSWORD: "default/db" }, secretFiles: { "db.pw": "default/db" } });
  const a = { ...testAssignment("att-secret-kill9-1", spec), secrets: { "default/db": Buffer.from(value).toString("base64") } };
  server.assign([a]);
  const up = await waitFor("running", () => running(server, a.attempt.id));
  const dir = secretsDirOf(defaultSecretsRoot(), path.join(dataDir, "attempts", a.attempt.id));
  // The secret file lives on the tmpfs while the task runs (the task may read it again at any time).
  assert.equal(fs.readFileSync(path.join(dir, "files", "db.pw"), "utf8"), value);
  assert.ok(!fs.existsSync(path.join(dir, "secrets.json")), "the helper took secrets.json before the task started");
  const helperPid = Number(fs.readFileSync(path.join(dataDir, "attempts", a.attempt.id, "helper.pid"), "utf8"));
  process.kill(helperPid, "SIGKILL");
  const end = await waitFor("failed report", () => final(server, a.attempt.id));
  assert.equal(end.reason, "helper died");
  // Gone by the time the end is reported, not when the attempt's directory is pruned (maybe never).
  assert.ok(!fs.existsSync(dir), `the secrets dir ${dir} outlived its helper`);
  await waitFor("orphaned task killed", () => !alive(up.pid!), 5000);
});

void test("logs stay whole across an agent restart (the helper keeps catching), and a helper killed under its task loses none of what it had written", async (t) => {
  const { server, dataDir, start } = await setup(t);
  server.timing.fenceMs = 60_000;
  const first = await start();
  // Numbered lines every 10 ms: a gap or a garbled line shows.
  const counter = [process.execPath, "-e", "let i = 0; setInterval(() => console.log('line ' + i++), 10)"];
  const a = testAssignment("att-loglines-1", testSpec({ command: counter }));
  server.assign([a]);
  await waitFor("running", () => running(server, a.attempt.id));
  const lines = async (agent: AgentHandle): Promise<number[]> => {
    // The fake server hands out host-token-N on the Nth registration: the latest is the agent's.
    const r = await fetch(`http://${agent.address}/v1/logs/${a.attempt.id}?stream=stdout`, { headers: { authorization: `Bearer host-token-${server.log.registers.length}` } });
    assert.equal(r.status, 200);
    const text = await r.text();
    return text.split("\n").filter((l) => l !== "").map((l) => {
      const m = /^line (\d+)$/.exec(l);
      assert.ok(m, `a whole line: ${JSON.stringify(l)}`);
      return Number(m[1]);
    });
  };
  const contiguous = (ns: number[]): void => ns.forEach((n, i) => assert.equal(n, i, `line ${i} is line ${n}`));
  await new Promise((r) => setTimeout(r, 500));
  await first.close("leave-tasks");
  // No agent for a second: the helper goes on catching the task's output.
  await new Promise((r) => setTimeout(r, 1000));
  const second = await start();
  await new Promise((r) => setTimeout(r, 600)); // past the catcher's flush interval
  const afterRestart = await lines(second);
  contiguous(afterRestart);
  assert.ok(afterRestart.length >= 100, `lines from before, during and after the agent's absence: ${afterRestart.length}`);

  const helperPid = Number(fs.readFileSync(path.join(dataDir, "attempts", a.attempt.id, "helper.pid"), "utf8"));
  await new Promise((r) => setTimeout(r, 600));
  const beforeKill = (await lines(second)).length;
  process.kill(helperPid, "SIGKILL");
  await waitFor("failed report", () => final(server, a.attempt.id));
  const afterKill = await lines(second);
  contiguous(afterKill);
  assert.ok(afterKill.length >= beforeKill, `what was readable before the kill still is: ${afterKill.length} >= ${beforeKill}`);
});

void test("without a working runtime and with --unsandboxed-fallback, a sandboxed task runs as a plain process and says so in the inventory and its log", async (t) => {
  const { server, start } = await setup(t);
  // Every machine these tests run on has crun: the detection's answer is given instead (the rest is real).
  const agent = await start({ runtimeDetection: { runtime: null, problems: ["crun: not installed", "runc: not installed"] }, unsandboxedFallback: true });
  assert.equal(server.log.registers.at(-1)?.inventory.runtime, "none (tasks run unsandboxed)");
  const a = testAssignment("att-unsandboxed-1", testSpec({ command: sleeperCommand() }));
  assert.notEqual(a.spec.isolation, "none", "the spec asks for a sandbox");
  server.assign([a]);
  const up = await waitFor("running", () => running(server, a.attempt.id));
  assert.ok(alive(up.pid!));
  const token = `host-token-${server.log.registers.length}`;
  const err = await waitFor("the notice in the task's stderr log", async () => {
    const body = await (await fetch(`http://${agent.address}/v1/logs/${a.attempt.id}?stream=stderr`, { headers: { authorization: `Bearer ${token}` } })).text();
    return body.includes("to stderr") ? body : null;
  });
  assert.match(err, /^\[tiffin\] running UNSANDBOXED on host box-1: no OCI runtime works here \(crun: not installed; runc: not installed\)/);
});
