// End-to-end: `tiffin dev` as a user runs it — a server and three agents as child processes, the
// examples applied — then `tiffin status` and `tiffin hosts` through the context file it writes, and
// Ctrl-C leaving nothing running.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HostView, JobStatus } from "../src/api/types.ts";
import { ParentPollMs } from "../src/cli/command.ts";
import { killStrays, recordedPids } from "../src/cli/dev/strays.ts";
import { alive, freePort, processesMentioning, waitFor } from "./harness.ts";

const bin = join(import.meta.dirname, "..", "bin", "tiffin.js");

void test("tiffin dev: cluster up, examples running, status/hosts via the context file, Ctrl-C stops everything", { timeout: 90_000 }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), "tiffin-cli-dev-"));
  const data = join(home, "dev");
  const port = await freePort();
  const env = { ...process.env, TIFFIN_HOME: home, TIFFIN_ADDR: "", TIFFIN_TOKEN: "" };
  const dev = spawn(process.execPath, [bin, "dev", "--data", data, "--listen", `127.0.0.1:${port}`], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  dev.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  dev.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => dev.once("exit", (code) => resolve(code)));
  t.after(async () => {
    if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
    await killStrays(["dev-1", "dev-2", "dev-3"].map((n) => join(data, n)), 500);
    for (const pid of processesMentioning(home)) process.kill(pid, "SIGKILL");
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(home, { recursive: true, force: true });
  });

  const started = Date.now();
  await waitFor("tiffin dev to say it is ready", 60_000, () => {
    if (dev.exitCode !== null) throw new Error(`tiffin dev exited ${dev.exitCode}:\n${out}`);
    return /tiffin dev is ready/.test(out);
  }).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- output ---\n${out}`);
  });
  t.diagnostic(`ready after ${Date.now() - started} ms`);
  assert.doesNotMatch(out, /ExperimentalWarning/);
  assert.ok(existsSync(join(home, "context.json")), "context file written under TIFFIN_HOME");
  for (const name of ["server", "dev-1", "dev-2", "dev-3"]) assert.ok(existsSync(join(data, `${name}.log`)), `${name}.log`);

  // Later commands find the server through the context file alone.
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8", timeout: 20_000 });
    assert.equal(r.status, 0, `tiffin ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const status = JSON.parse(cli("status", "web", "--json")) as JobStatus;
  assert.equal(status.tasks.length, 3);
  for (const task of status.tasks) {
    assert.ok(["running", "healthy"].includes(task.state), `${task.id} is ${task.state}`);
    assert.ok(task.pid !== null && alive(task.pid), `${task.id} has a live pid`);
  }
  assert.equal(new Set(status.tasks.map((x) => x.hostId)).size, 3, "spread over the three racks");
  const hosts = JSON.parse(cli("hosts", "--json")) as HostView[];
  assert.deepEqual(hosts.map((h) => [h.name, h.status]), [["dev-1", "up"], ["dev-2", "up"], ["dev-3", "up"]]);
  assert.deepEqual(hosts.map((h) => h.domain.rack), ["r1", "r2", "r3"]);
  // Service discovery: the DNS address dev printed answers for the example web service, as the CLI does.
  const dns = /^ {2}dns +127\.0\.0\.1:(\d+) /m.exec(out)?.[1];
  assert.ok(dns, `dev prints its DNS address:\n${out}`);
  const endpoints = await waitFor("web's endpoints", 20_000, () => {
    const list = JSON.parse(cli("endpoints", "web", "--json")) as { ports: { port: number }[] }[];
    return list.length === 3 ? list : undefined;
  });
  const dig = spawnSync("dig", ["@127.0.0.1", "-p", dns, "web.service.tiffin", "SRV", "+short"], { encoding: "utf8", timeout: 10_000 });
  assert.deepEqual(dig.stdout.trim().split("\n").map((l) => Number(l.split(" ")[2])).sort(), endpoints.map((e) => e.ports[0]!.port).sort());
  assert.match(cli("services"), /web\s+3\s+http/);
  const pids = recordedPids(["dev-1", "dev-2", "dev-3"].map((n) => join(data, n)));
  assert.ok(pids.filter((p) => p.kind === "task").length >= 5, "web and worker tasks recorded");

  const stopping = Date.now();
  dev.kill("SIGINT");
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<string>((r) => (timer = setTimeout(() => r("timeout"), 40_000)))]);
  clearTimeout(timer);
  t.diagnostic(`stopped in ${Date.now() - stopping} ms`);
  assert.equal(code, 0, `tiffin dev exit code; output:\n${out}`);
  assert.match(out, /\nstopped\n/);
  assert.doesNotMatch(out, /left behind/, "agents stopped their own helpers and tasks");
  const left = pids.filter((p) => alive(p.pid)).map((p) => `${p.kind} ${p.pid}`);
  assert.deepEqual(left, [], "no helper or task pid from the data dirs is alive");
  assert.deepEqual(processesMentioning(home), [], "no process started for this data dir is alive");
});

void test("tiffin dev --allow-unsandboxed reaches its agents; tiffin dev killed with SIGKILL: its server and agents stop on their own", { timeout: 60_000 }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), "tiffin-cli-dev-kill-"));
  const data = join(home, "dev");
  const port = await freePort();
  const env = { ...process.env, TIFFIN_HOME: home, TIFFIN_ADDR: "", TIFFIN_TOKEN: "" };
  const dev = spawn(process.execPath, [bin, "dev", "--data", data, "--listen", `127.0.0.1:${port}`, "--agents", "2", "--no-examples", "--allow-unsandboxed"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  dev.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  dev.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
  t.after(() => {
    if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
    for (const pid of processesMentioning(home)) process.kill(pid, "SIGKILL");
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(home, { recursive: true, force: true });
  });
  await waitFor("tiffin dev to say it is ready", 60_000, () => {
    if (dev.exitCode !== null) throw new Error(`tiffin dev exited ${dev.exitCode}:\n${out}`);
    return /tiffin dev is ready/.test(out);
  });
  const children = processesMentioning(home);
  assert.ok(children.length >= 3, `a server and 2 agents run: ${children.length} processes`);
  // --allow-unsandboxed reaches the agents: they say so to the server (which places isolation "none"
  // jobs only there), and the data dir lets their task user (nobody) pass through to its work dir.
  const ctx = JSON.parse(readFileSync(join(home, "context.json"), "utf8")) as { addr: string; token: string };
  const hosts = (await (await fetch(`${ctx.addr}/v1/hosts`, { headers: { authorization: `Bearer ${ctx.token}` } })).json()) as { name: string; unsandboxed?: boolean }[];
  assert.deepEqual(hosts.map((h) => [h.name, h.unsandboxed]), [["dev-1", true], ["dev-2", true]]);
  assert.equal(statSync(data).mode & 0o777, 0o711);
  const killedAt = Date.now();
  dev.kill("SIGKILL");
  // They notice within ~0.5 s and stop as on SIGTERM (agents stop their tasks; none were started here).
  await waitFor("the server and agents to stop", 20_000, () => children.every((pid) => !alive(pid)));
  const took = Date.now() - killedAt;
  t.diagnostic(`children gone ${took} ms after SIGKILL of tiffin dev`);
  // A poll finds the parent gone (ParentPollMs), then a stop with no tasks (about 0.1 s) + 2 s for load.
  assert.ok(took <= ParentPollMs + 2000, `the server and agents stopped ${took} ms after tiffin dev was killed (they poll every ${ParentPollMs} ms)`);
});

void test("tiffin dev | tee, then Ctrl-C: a closed stdout neither crashes it nor leaves helpers; `logs --follow | head` ends quietly; the displaced context comes back", { timeout: 120_000 }, async (t) => {
  const home = mkdtempSync(join(tmpdir(), "tiffin-cli-dev-pipe-"));
  const data = join(home, "dev");
  const port = await freePort();
  const env = { ...process.env, TIFFIN_HOME: home, TIFFIN_ADDR: "", TIFFIN_TOKEN: "" };
  // An earlier `tiffin dev` (this test process stands in for it: its pid is alive) owns the context.
  const earlier = `${JSON.stringify({ addr: "http://127.0.0.1:1", token: "earlier", devPid: process.pid }, null, 2)}\n`;
  writeFileSync(join(home, "context.json"), earlier, { mode: 0o600 });
  const dev = spawn(process.execPath, [bin, "dev", "--data", data, "--listen", `127.0.0.1:${port}`, "--agents", "2", "--no-examples"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  dev.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  dev.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exited = new Promise<number | null>((resolve) => dev.once("exit", (code) => resolve(code)));
  const agentDirs = ["dev-1", "dev-2"].map((n) => join(data, n));
  t.after(async () => {
    if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
    await killStrays(agentDirs, 500);
    for (const pid of processesMentioning(home)) process.kill(pid, "SIGKILL");
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(home, { recursive: true, force: true });
  });
  await waitFor("tiffin dev to say it is ready", 60_000, () => {
    if (dev.exitCode !== null) throw new Error(`tiffin dev exited ${dev.exitCode}:\n${out}${err}`);
    return /tiffin dev is ready/.test(out);
  });
  const ctx = JSON.parse(readFileSync(join(home, "context.json"), "utf8")) as { addr: string; devPid: number };
  assert.deepEqual([ctx.addr, ctx.devPid], [`http://127.0.0.1:${port}`, dev.pid], "the newest tiffin dev's context is in force");
  assert.match(out, /context now points here instead of http:\/\/127\.0\.0\.1:1/);

  const spec = join(home, "ticker.json");
  writeFileSync(spec, JSON.stringify({ name: "ticker", command: ["sh", "-c", "while :; do echo tick; sleep 0.1; done"], replicas: 2, resources: { cpu: 0.1, memory: "16Mi", disk: "16Mi" } }));
  const apply = spawnSync(process.execPath, [bin, "apply", spec, "--wait", "30s"], { env, encoding: "utf8", timeout: 40_000 });
  assert.equal(apply.status, 0, `apply: ${apply.stdout}${apply.stderr}`);

  // `tiffin logs ticker/0 --follow | head -1`: the reader goes away after its first line.
  const logs = spawn(process.execPath, [bin, "logs", "ticker/0", "--follow"], { env, stdio: ["ignore", "pipe", "pipe"] });
  let logsErr = "";
  logs.stderr.setEncoding("utf8").on("data", (c: string) => (logsErr += c));
  const logsExit = new Promise<[number | null, string | null]>((resolve) => logs.once("exit", (code, sig) => resolve([code, sig])));
  await new Promise<void>((resolve) => logs.stdout.once("data", () => resolve()));
  logs.stdout.destroy();
  let logsTimer: NodeJS.Timeout | undefined;
  const logsEnd = await Promise.race([logsExit, new Promise<string>((r) => (logsTimer = setTimeout(() => r("still running"), 10_000)))]);
  clearTimeout(logsTimer);
  if (logsEnd === "still running") logs.kill("SIGKILL");
  assert.deepEqual(logsEnd, [0, null], `logs --follow after its reader left: ${logsErr}`);
  assert.equal(logsErr, "", "quietly: no EPIPE, no stack trace");

  // `npm run dev | tee log` and Ctrl-C: the tee is gone, tiffin dev gets SIGINT and must still stop
  // its agents (which stop their tasks) instead of crashing on its next write.
  const pids = recordedPids(agentDirs);
  assert.ok(pids.filter((p) => p.kind === "helper").length >= 2, "helpers recorded");
  dev.stdout.destroy();
  dev.kill("SIGINT");
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([exited, new Promise<string>((r) => (timer = setTimeout(() => r("timeout"), 40_000)))]);
  clearTimeout(timer);
  assert.equal(code, 0, `tiffin dev exit code; stderr:\n${err}`);
  assert.doesNotMatch(err, /EPIPE|\n\s+at /, "no crash");
  assert.doesNotMatch(err, /left behind/, "the agents stopped their own helpers and tasks");
  const left = pids.filter((p) => alive(p.pid)).map((p) => `${p.kind} ${p.pid}`);
  assert.deepEqual(left, [], "no helper or task is alive once tiffin dev has exited");
  assert.equal(readFileSync(join(home, "context.json"), "utf8"), earlier, "the earlier tiffin dev's context is back");
});
