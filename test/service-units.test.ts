// `tiffin server install` and `tiffin agent install` as a user runs them, with --root (systemd is not
// this machine's init, so nothing can be started): the files they write pass `systemd-analyze
// verify`, `systemctl --root` enabled them, --dry-run writes nothing, uninstall removes them and keeps
// the data. Then the test does what the written units tell systemd to do: it runs each ExecStart with
// the unit's Environment= and its EnvironmentFile (paths under the root, systemd's PATH, on which
// `node` is the machine's own, possibly older than 24), sends KillSignal to the agent's main process
// alone (KillMode=process), runs ExecStart again (Restart=), and checks that the task kept its pid and
// attempt, and its helper too, past the helpers' fencing time. SIGINT then stops the tasks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { JobStatus, TaskView } from "../src/api/types.ts";
import { alive, exitedOrAfter, freePort, processesMentioning, readdirSafe, waitFor } from "./harness.ts";

const root = join(import.meta.dirname, "..");
const bin = join(root, "bin", "tiffin.js");
/** The PATH systemd gives a service. */
const systemdPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** `KEY=value` lines of a unit, last one wins; Environment= lines apart, in order. */
function unitSettings(file: string): { settings: Map<string, string>; environment: [string, string][] } {
  const settings = new Map<string, string>();
  const environment: [string, string][] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    settings.set(m[1]!, m[2]!);
    const e = m[1] === "Environment" ? /^([A-Z_]+)=(.*)$/.exec(m[2]!) : null;
    if (e) environment.push([e[1]!, e[2]!]);
  }
  return { settings, environment };
}

/** An environment file's assignments (values as written: install quotes none of these). */
function envFile(file: string): [string, string][] {
  return readFileSync(file, "utf8").split("\n").flatMap((line) => {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    return m ? [[m[1]!, m[2]!] as [string, string]] : [];
  });
}

/** A unit's process as systemd starts it: ExecStart split into words, the environment from the unit's
 * Environment= then its EnvironmentFile (which overrides), %H expanded, machine paths under `under`. */
function unitProcess(under: string, unitName: string, home: string): { argv: string[]; env: NodeJS.ProcessEnv; settings: Map<string, string> } {
  const { settings, environment } = unitSettings(join(under, "etc/systemd/system", unitName));
  const envPath = (settings.get("EnvironmentFile") ?? "").replace(/^-/, "");
  const env: NodeJS.ProcessEnv = { PATH: systemdPath, HOME: home };
  for (const [k, v] of [...environment, ...envFile(join(under, envPath))]) env[k] = v.replaceAll("%H", hostname()).replace(/^\/(etc|var)\//, `${under}/$1/`);
  return { argv: (settings.get("ExecStart") ?? "").split(/\s+/), env, settings };
}

function cli(args: string[], env: NodeJS.ProcessEnv = { PATH: process.env["PATH"] ?? "", HOME: tmpdir() }): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
}

void test("install and uninstall under --root: verified units, enabled offline, the flags as TIFFIN_ lines; --dry-run writes nothing", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-install-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const img = join(dir, "root");
  writeFileSync(join(dir, "join.token"), "the-token\n");
  const agentArgs = ["agent", "install", "--root", img, "--bin", bin, "--server", "http://10.0.0.1:7070", "--join-token-file", join(dir, "join.token"), "--labels", "rack=r1", "--log-level", "debug"];
  const dry = cli([...agentArgs, "--dry-run"]);
  assert.equal(dry.code, 0, dry.err);
  const envShown = dry.out.slice(dry.out.indexOf("agent.env (0600):\n")).split("\n").slice(1, 5).map((l) => l.trim());
  assert.deepEqual(envShown.slice(1).sort(), ["TIFFIN_LABELS=rack=r1", "TIFFIN_LOG_LEVEL=debug", "TIFFIN_SERVER=http://10.0.0.1:7070"], dry.out);
  assert.match(dry.out, /would write .*join\.token \(0600\): the join token\n/);
  assert.doesNotMatch(dry.out, /the-token/, "the token is not printed");
  assert.match(dry.out, /would run: systemctl --root=.* enable tiffin-agent\.service/);
  assert.ok(!existsSync(img), "--dry-run wrote nothing");

  for (const args of [agentArgs, ["server", "install", "--root", img, "--bin", bin, "--listen", "0.0.0.0:7070"]]) {
    const r = cli(args);
    assert.equal(r.code, 0, `${args.join(" ")}: ${r.out}${r.err}`);
    assert.match(r.out, /^enabled tiffin-(agent|server)\.service under /m);
  }
  const mode = (p: string): string => (statSync(join(img, p)).mode & 0o777).toString(8);
  assert.equal(mode("etc/tiffin/agent.env"), "600");
  assert.equal(mode("etc/tiffin/join.token"), "600");
  assert.equal(readFileSync(join(img, "etc/tiffin/join.token"), "utf8"), "the-token\n");
  assert.equal(mode("var/lib/tiffin-agent"), "700");
  assert.equal(mode("var/lib/tiffin"), "700");
  assert.deepEqual(envFile(join(img, "etc/tiffin/server.env")), [["TIFFIN_LISTEN", "0.0.0.0:7070"]]);
  for (const u of ["tiffin-agent.service", "tiffin-server.service"]) {
    assert.equal(readlinkSync(join(img, "etc/systemd/system/multi-user.target.wants", u)), `/etc/systemd/system/${u}`, `${u} enabled`);
  }
  if (spawnSync("systemd-analyze", ["--version"]).status !== 0) t.diagnostic("systemd-analyze is not installed: units not verified");
  else {
    const units = ["tiffin-server.service", "tiffin-agent.service"].map((u) => join(img, "etc/systemd/system", u));
    const v = spawnSync("systemd-analyze", ["verify", ...units], { encoding: "utf8" });
    assert.equal(v.status, 0, `${v.stdout}${v.stderr}`);
    assert.equal(v.stderr.trim(), "", "no warnings");
  }

  writeFileSync(join(img, "var/lib/tiffin-agent/agent.json"), "{}");
  for (const role of ["agent", "server"]) {
    const r = cli([role, "uninstall", "--root", img]);
    assert.equal(r.code, 0, `${r.out}${r.err}`);
    assert.match(r.out, /kept the data dir/);
  }
  for (const gone of ["etc/systemd/system/tiffin-agent.service", "etc/systemd/system/tiffin-server.service", "etc/tiffin/agent.env", "etc/tiffin/server.env", "etc/tiffin/join.token", "etc/systemd/system/multi-user.target.wants/tiffin-agent.service"]) {
    assert.ok(!existsSync(join(img, gone)), `${gone} removed`);
  }
  assert.ok(existsSync(join(img, "var/lib/tiffin-agent/agent.json")), "the agent's data stays");

  const noToken = cli(["agent", "install", "--root", img, "--server", "http://10.0.0.1:7070"]);
  assert.equal(noToken.code, 2);
  assert.match(noToken.err, /^error\[TIFFIN_USAGE\]: tiffin agent install needs the join token\nhint: pass --join-token-file/);
});

void test("the installed agent unit signals the agent alone, with SIGTERM, and the agent's SIGTERM leaves its tasks to the next agent", { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-unit-restart-"));
  const img = join(dir, "root");
  const procs: ChildProcess[] = [];
  t.after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGINT");
    await exitedOrAfter(procs, 3000);
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(dir, { recursive: true, force: true });
  });
  // The server unit, installed with a free loopback port, run as systemd would.
  const port = await freePort();
  assert.equal(cli(["server", "install", "--root", img, "--bin", bin, "--listen", `127.0.0.1:${port}`]).code, 0);
  const server = unitProcess(img, "tiffin-server.service", dir);
  assert.deepEqual(server.argv, [bin, "server"]);
  const serverData = server.env["TIFFIN_DATA"]!;
  procs.push(spawn(server.argv[0]!, server.argv.slice(1), { env: server.env, stdio: "ignore" }));
  await waitFor("the server's tokens", 30_000, () => readdirSafe(serverData).includes("join.token"));
  const cliEnv = { PATH: process.env["PATH"] ?? "", HOME: dir, TIFFIN_ADDR: `http://127.0.0.1:${port}`, TIFFIN_TOKEN: readFileSync(join(serverData, "admin.token"), "utf8").trim() };

  // The agent unit, installed with this server, its join token and a fixed port, run as systemd would.
  const agentPort = await freePort();
  const installed = cli(["agent", "install", "--root", img, "--bin", bin, "--server", `http://127.0.0.1:${port}`, "--join-token-file", join(serverData, "join.token"), "--listen", `0.0.0.0:${agentPort}`, "--allow-unsandboxed"]);
  assert.equal(installed.code, 0, installed.err);
  const agent = unitProcess(img, "tiffin-agent.service", dir);
  assert.equal(agent.settings.get("KillMode"), "process", "stopping the unit must not signal the helpers");
  const killSignal = (agent.settings.get("KillSignal") ?? "SIGTERM") as NodeJS.Signals;
  assert.equal(killSignal, "SIGTERM");
  assert.deepEqual(agent.argv, [bin, "agent"], "every flag comes from the environment");
  assert.equal(agent.env["TIFFIN_NAME"], hostname());
  let stderr = "";
  const startAgent = (): ChildProcess => {
    const p = spawn(agent.argv[0]!, agent.argv.slice(1), { env: agent.env, stdio: ["ignore", "ignore", "pipe"] });
    p.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    procs.push(p);
    return p;
  };
  const first = startAgent();
  await waitFor("the agent to join", 60_000, () => tiffin(cliEnv, ["hosts"]).out.includes(" up ")).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${stderr}`);
  });
  assert.match(tiffin(cliEnv, ["hosts", "--json"]).out, new RegExp(`:${agentPort}"`), "the agent listens where agent.env says");

  const spec = join(dir, "sleeper.json");
  writeFileSync(spec, JSON.stringify({ name: "sleeper", command: ["sh", "-c", "echo sleeper started; exec sleep 3600"], isolation: "none", resources: { cpu: 0.1, memory: "16Mi" } }));
  const applied = tiffin(cliEnv, ["apply", spec], 120_000);
  assert.equal(applied.code, 0, `${applied.out}${applied.err}`);
  const before = await waitFor("the task to run", 30_000, () => running(cliEnv));
  const helpers = processesMentioning(join(agent.env["TIFFIN_DATA"]!, "helper"));
  assert.ok(helpers.length === 1, `one helper runs: ${helpers.join(", ")}`);

  // systemctl restart: KillSignal to the main process only, then ExecStart again.
  first.kill(killSignal);
  const [code] = await new Promise<[number | null]>((r) => first.once("exit", (c) => r([c])));
  assert.equal(code, 0, stderr);
  assert.ok(alive(before.pid!), "the task still runs once the agent is gone");
  assert.match(stderr, /SIGTERM: leaving tasks running/);
  // Longer than a helper waits for pings when no absence is announced (fencing, 3 s).
  await new Promise((r) => setTimeout(r, 4500));
  assert.ok(alive(before.pid!), "the task outlives the helpers' fencing time while the agent is away");
  assert.ok(helpers.every(alive), "the helper still runs");
  const second = startAgent();
  const after = await waitFor("the restarted agent to report the task", 60_000, () => {
    const r = running(cliEnv);
    return r && r.attemptId === before.attemptId && tiffin(cliEnv, ["hosts"]).out.includes(" up ") ? r : undefined;
  });
  assert.equal(after.pid, before.pid, "same task process");
  assert.ok(alive(before.pid!));
  const logs = tiffin(cliEnv, ["logs", "sleeper/0"]);
  assert.equal(logs.out.trim(), "sleeper started", `the server reaches the new agent for the adopted task's log: ${logs.err}`);

  // The explicit stop: SIGINT stops the tasks, then the agent.
  second.kill("SIGINT");
  const [code2] = await new Promise<[number | null]>((r) => second.once("exit", (c) => r([c])));
  assert.equal(code2, 0, stderr);
  await waitFor("the task to stop", 15_000, () => !alive(before.pid!));
});

function tiffin(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 30_000): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: "utf8", timeout: timeoutMs });
  return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
}

/** The sleeper's task when it runs with a pid, else undefined. */
function running(env: NodeJS.ProcessEnv): TaskView | undefined {
  const r = tiffin(env, ["status", "sleeper", "--json"]);
  if (r.code !== 0) return undefined;
  const task = (JSON.parse(r.out) as JobStatus).tasks[0];
  return task?.state === "running" && task.pid !== null ? task : undefined;
}

