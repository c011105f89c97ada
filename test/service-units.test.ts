// packaging/systemd: the unit files pass `systemd-analyze verify`, and what `systemctl restart
// tiffin-agent` does to the agent keeps every task running. systemd is not this machine's init, so the
// test does what the units tell systemd to do: it runs the server unit's ExecStart (server.env's
// flags on a free loopback port) and the agent unit's (agent.env's flags, temp paths, this server),
// sends KillSignal to the agent's main process alone (KillMode=process), runs ExecStart again
// (Restart=), and checks that the task kept its pid and attempt, and its helper too, past the
// helpers' fencing time. SIGINT then stops the tasks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { JobStatus, TaskView } from "../src/api/types.ts";
import { alive, freePort, processesMentioning, readdirSafe, waitFor } from "./harness.ts";

const root = join(import.meta.dirname, "..");
const bin = join(root, "bin", "tiffin.js");
const unitsDir = join(root, "packaging", "systemd");
const units = ["tiffin-server.service", "tiffin-agent.service"];

/** `KEY=value` lines of a unit's [Service] section (and any other), last one wins; ExecStart as written. */
function unitSettings(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** An environment file's assignments. */
function envFile(file: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

/** ExecStart as systemd expands it: `${X}` one word, `$X` split on whitespace, `%H` the host name. */
function expandExec(line: string, env: Map<string, string>): string[] {
  return line.split(/\s+/).filter((w) => w !== "").flatMap((w) => {
    const one = /^\$\{([A-Z_]+)\}$/.exec(w);
    if (one) return [env.get(one[1]!) ?? ""];
    const split = /^\$([A-Z_]+)$/.exec(w);
    if (split) return (env.get(split[1]!) ?? "").split(/\s+/).filter((x) => x !== "");
    return [w.replaceAll("%H", hostname())];
  });
}

void test("the unit files pass systemd-analyze verify", (t) => {
  if (spawnSync("systemd-analyze", ["--version"]).status !== 0) return void t.skip("systemd-analyze is not installed (Debian: apt-get install systemd)");
  // verify checks that ExecStart's binary exists: point it at this checkout's bin, nothing else changes.
  const dir = mkdtempSync(join(tmpdir(), "tiffin-units-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const u of units) writeFileSync(join(dir, u), readFileSync(join(unitsDir, u), "utf8").replaceAll("/usr/local/bin/tiffin ", `${bin} `));
  const r = spawnSync("systemd-analyze", ["verify", ...units.map((u) => join(dir, u))], { encoding: "utf8" });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.equal(r.stderr.trim(), "", "no warnings");
});

void test("the agent unit signals the agent alone, with SIGTERM, and the agent's SIGTERM leaves its tasks to the next agent", { timeout: 240_000 }, async (t) => {
  const agentUnit = unitSettings(join(unitsDir, "tiffin-agent.service"));
  assert.equal(agentUnit.get("KillMode"), "process", "stopping the unit must not signal the helpers");
  const killSignal = (agentUnit.get("KillSignal") ?? "SIGTERM") as NodeJS.Signals;
  assert.equal(killSignal, "SIGTERM");
  const exec = agentUnit.get("ExecStart");
  assert.ok(exec?.startsWith("/usr/local/bin/tiffin agent "), exec);

  const dir = mkdtempSync(join(tmpdir(), "tiffin-unit-restart-"));
  const procs: ChildProcess[] = [];
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
  for (const k of ["TIFFIN_HOME", "TIFFIN_ADDR", "TIFFIN_TOKEN"]) delete env[k];
  t.after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 3000));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(dir, { recursive: true, force: true });
  });
  // The server unit's ExecStart with server.env's flags, on a free port and a temp data dir.
  const port = await freePort();
  const serverEnv = envFile(join(unitsDir, "server.env"));
  assert.match(serverEnv.get("TIFFIN_SERVER_FLAGS") ?? "", /--listen 0\.0\.0\.0:7070/);
  serverEnv.set("TIFFIN_SERVER_FLAGS", (serverEnv.get("TIFFIN_SERVER_FLAGS") ?? "").replace("0.0.0.0:7070", `127.0.0.1:${port}`));
  const serverArgv = expandExec(unitSettings(join(unitsDir, "tiffin-server.service")).get("ExecStart") ?? "", serverEnv).map((w) =>
    w.replace("/usr/local/bin/tiffin", bin).replace("/var/lib/tiffin", join(dir, "server")),
  );
  assert.deepEqual(serverArgv.slice(1, 2), ["server"]);
  const server = spawn(process.execPath, serverArgv, { env, stdio: "ignore" });
  procs.push(server);
  await waitFor("the server's tokens", 30_000, () => readdirSafe(join(dir, "server")).includes("join.token"));
  const etc = join(dir, "etc-tiffin");
  mkdirSync(etc);
  copyFileSync(join(dir, "server", "join.token"), join(etc, "join.token"));
  chmodSync(join(etc, "join.token"), 0o600);
  const cli = { ...env, TIFFIN_ADDR: `http://127.0.0.1:${port}`, TIFFIN_TOKEN: readFileSync(join(dir, "server", "admin.token"), "utf8").trim() };

  // The unit's ExecStart, as systemd would run it with agent.env, this server, and temp paths.
  const unitEnv = envFile(join(unitsDir, "agent.env"));
  unitEnv.set("TIFFIN_SERVER", `http://127.0.0.1:${port}`);
  const agentPort = await freePort();
  assert.match(unitEnv.get("TIFFIN_AGENT_FLAGS") ?? "", /--listen 0\.0\.0\.0:7071/);
  unitEnv.set("TIFFIN_AGENT_FLAGS", (unitEnv.get("TIFFIN_AGENT_FLAGS") ?? "").replace("0.0.0.0:7071", `0.0.0.0:${agentPort}`));
  const argv = expandExec(exec!, unitEnv).map((w) =>
    w.replace("/usr/local/bin/tiffin", bin).replace("/etc/tiffin/join.token", join(etc, "join.token")).replace("/var/lib/tiffin-agent", join(dir, "agent")),
  );
  assert.deepEqual(argv.slice(1, 3), ["agent", "--server"]);
  const startAgent = (): ChildProcess => {
    const p = spawn(process.execPath, argv, { env, stdio: ["ignore", "ignore", "pipe"] });
    p.stderr?.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    procs.push(p);
    return p;
  };
  let stderr = "";
  const first = startAgent();
  await waitFor("the agent to join", 60_000, () => tiffin(cli, ["hosts"]).out.includes(" up ")).catch((err: unknown) => {
    throw new Error(`${String(err)}\n${argv.join(" ")}\n${stderr}`);
  });

  const spec = join(dir, "sleeper.json");
  writeFileSync(spec, JSON.stringify({ name: "sleeper", command: ["sh", "-c", "echo sleeper started; exec sleep 3600"], isolation: "none", resources: { cpu: 0.1, memory: "16Mi" } }));
  const applied = tiffin(cli, ["apply", spec], 120_000);
  assert.equal(applied.code, 0, `${applied.out}${applied.err}`);
  const before = await waitFor("the task to run", 30_000, () => running(cli));
  const helpers = processesMentioning(join(dir, "agent", "helper"));
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
    const r = running(cli);
    return r && r.attemptId === before.attemptId && tiffin(cli, ["hosts"]).out.includes(" up ") ? r : undefined;
  });
  assert.equal(after.pid, before.pid, "same task process");
  assert.ok(alive(before.pid!));
  const logs = tiffin(cli, ["logs", "sleeper/0"]);
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

