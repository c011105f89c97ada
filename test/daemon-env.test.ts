// The daemons as a service manager runs them, through real argv: every flag of `tiffin server` and
// `tiffin agent` also comes from TIFFIN_<FLAG> (a flag given wins), `--log-level` (or
// TIFFIN_LOG_LEVEL) sets how much the server, the agent and its helpers log, and all three write the
// same JSON lines on stderr (pino: level, time, component, pid, msg; stdout keeps the one line a
// daemon prints for people at start).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { HostView } from "../src/api/types.ts";
import { alive, freePort, processesMentioning, waitFor } from "./harness.ts";

const root = join(import.meta.dirname, "..");
const bin = join(root, "bin", "tiffin.js");

/** The JSON log lines of `text`; fails on any line that is not one. */
function jsonLines(text: string, who: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      throw new Error(`${who} wrote a line that is not JSON: ${l}`);
    }
  });
}

/** Checks the one format: pino's numeric level and epoch ms, our component, the pid, a message. */
function assertFormat(lines: Record<string, unknown>[], component: string): void {
  assert.ok(lines.length > 0, `${component} logged`);
  for (const l of lines) {
    assert.equal(typeof l["level"], "number", JSON.stringify(l));
    assert.equal(typeof l["time"], "number", JSON.stringify(l));
    assert.equal(l["component"], component, JSON.stringify(l));
    assert.equal(typeof l["pid"], "number", JSON.stringify(l));
    assert.equal(typeof l["msg"], "string", JSON.stringify(l));
  }
}

void test("server and agent take every flag from TIFFIN_<FLAG>, flags win, and server, agent and helper log one JSON format at --log-level", { timeout: 240_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-daemon-env-"));
  const procs: ChildProcess[] = [];
  t.after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 3000));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    for (const pid of processesMentioning(dir)) if (alive(pid)) process.kill(pid, "SIGKILL");
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(dir, { recursive: true, force: true });
  });
  const base: NodeJS.ProcessEnv = { ...process.env, HOME: dir };
  for (const k of Object.keys(base)) if (k.startsWith("TIFFIN_")) delete base[k];
  const start = (args: string[], env: NodeJS.ProcessEnv): { proc: ChildProcess; out: () => string; err: () => string } => {
    let out = "";
    let err = "";
    const proc = spawn(process.execPath, [bin, ...args], { env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    proc.stdout?.setEncoding("utf8").on("data", (c: string) => (out += c));
    proc.stderr?.setEncoding("utf8").on("data", (c: string) => (err += c));
    procs.push(proc);
    return { proc, out: () => out, err: () => err };
  };

  // The server: data dir and listen address from the environment only, at warn. Its data dir lets
  // others in, which it narrows with a warning: a line to see at warn.
  mkdirSync(join(dir, "server"));
  chmodSync(join(dir, "server"), 0o755);
  const port = await freePort();
  const server = start(["server"], { TIFFIN_DATA: join(dir, "server"), TIFFIN_LISTEN: `127.0.0.1:${port}`, TIFFIN_LOG_LEVEL: "warn" });
  const addr = `http://127.0.0.1:${port}`;
  await waitFor("the server from its environment", 30_000, async () => (await fetch(`${addr}/healthz`).catch(() => null))?.ok === true).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${server.err()}`);
  });
  const cli = { ...base, TIFFIN_ADDR: addr, TIFFIN_TOKEN: readFileSync(join(dir, "server", "admin.token"), "utf8").trim() };
  const tiffin = (args: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [bin, ...args], { env: cli, encoding: "utf8", timeout: 60_000 });
    return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
  };

  // The agent: server, token file, data, labels and name from the environment, but --name given
  // too (it wins), and debug logging for it and its helpers.
  const agent = start(["agent", "--name", "from-flag", "--log-level", "debug"], {
    TIFFIN_SERVER: addr,
    TIFFIN_JOIN_TOKEN_FILE: join(dir, "server", "join.token"),
    TIFFIN_DATA: join(dir, "agent"),
    TIFFIN_NAME: "from-env",
    TIFFIN_LABELS: "rack=env-rack",
    TIFFIN_LISTEN: "127.0.0.1:0",
    TIFFIN_LOG_LEVEL: "error",
    TIFFIN_ALLOW_UNSANDBOXED: "1",
  });
  const host = await waitFor("the agent to join", 60_000, () => {
    const r = tiffin(["hosts", "--json"]);
    return r.code === 0 ? (JSON.parse(r.out) as HostView[]).find((h) => h.status === "up") : undefined;
  }).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${agent.out()}${agent.err()}`);
  });
  assert.equal(host.name, "from-flag", "the flag wins over TIFFIN_NAME");
  assert.equal(host.labels["rack"], "env-rack", "TIFFIN_LABELS reached the agent");

  const spec = join(dir, "sleeper.json");
  writeFileSync(spec, JSON.stringify({ name: "sleeper", command: ["sh", "-c", "echo hi; exec sleep 3600"], isolation: "none", resources: { cpu: 0.1, memory: "16Mi" } }));
  const applied = tiffin(["apply", spec]);
  assert.equal(applied.code, 0, `${applied.out}${applied.err}`);
  const helperLog = await waitFor("the helper's log", 30_000, () => {
    const helperDir = join(dir, "agent", "helper");
    const text = readdirSafe(helperDir).filter((f) => f.endsWith(".log")).map((f) => readFileSync(join(helperDir, f), "utf8")).join("");
    return text.includes("\n") ? text : undefined;
  });

  // The agent at debug (the flag beat TIFFIN_LOG_LEVEL=error), its helper too, the server at warn.
  // (Polled: the spawnSync calls above held this process's event loop, so its pipes are behind.)
  await waitFor("the agent's debug lines", 15_000, () => agent.err().includes('"level":20')).catch(() => assert.fail(`the agent logs at debug: ${agent.err()}`));
  assertFormat(jsonLines(agent.err(), "the agent"), "agent");
  // A machine with a working runtime hears no warning that it has none (the agent said so on every start).
  if (agent.err().includes('"msg":"sandbox runtime"')) assert.doesNotMatch(agent.err(), /no working OCI runtime/);
  const helperLines = jsonLines(helperLog, "the helper");
  assertFormat(helperLines, "helper");
  assert.ok(helperLines.some((l) => l["level"] === 20), "the helper logs at debug, as its agent");

  server.proc.kill("SIGINT");
  await new Promise((r) => server.proc.once("exit", r));
  const serverLines = jsonLines(server.err(), "the server");
  assertFormat(serverLines, "server");
  assert.ok(serverLines.some((l) => l["msg"] === "data directory let other users in: narrowed to 0700"), server.err());
  assert.ok(serverLines.every((l) => (l["level"] as number) >= 40), `the server logs nothing under warn: ${server.err()}`);

  // A bad level is a usage error, naming the flag.
  const bad = spawnSync(process.execPath, [bin, "server", "--data", join(dir, "bad"), "--log-level", "loud"], { env: base, encoding: "utf8", timeout: 30_000 });
  assert.equal(bad.status, 2, bad.stderr);
  assert.match(bad.stderr, /--log-level/);
});

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}
