// One file per host: `npm run build:sea` makes build/tiffin (packaging/sea/build.ts); copied alone into
// an empty folder with no node_modules, it runs the server (its SQLite writer is a worker thread), an
// agent whose helpers are the executable itself, and the CLI: a job applied through it runs in a crun
// sandbox, and its logs come back, filtered by --grep (a worker thread of the agent). `agent install`
// writes a unit that runs the executable itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JobStatus } from "../src/api/types.ts";
import { alive, freePort, processesMentioning, waitFor } from "./harness.ts";

const root = join(import.meta.dirname, "..");

void test("the single executable, alone in a folder, runs the server, an agent with its helpers, and the CLI", { timeout: 240_000 }, async (t) => {
  const hasCrun = spawnSync("crun", ["--version"]).status === 0;
  const built = execFileSync(process.execPath, [join(root, "packaging", "sea", "build.ts")], { encoding: "utf8", timeout: 180_000 }).trim();
  const dir = mkdtempSync(join(tmpdir(), "tiffin-sea-"));
  const procs: ChildProcess[] = [];
  t.after(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGINT");
    await new Promise((r) => setTimeout(r, 3000));
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    for (const pid of processesMentioning(dir)) if (alive(pid)) process.kill(pid, "SIGKILL");
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(dir, { recursive: true, force: true });
  });
  const bin = join(dir, "bin");
  execFileSync("mkdir", [bin]);
  const exe = join(bin, "tiffin");
  copyFileSync(built, exe);
  execFileSync("chmod", ["755", exe]);
  assert.deepEqual(readdirSync(bin), ["tiffin"], "the executable is alone");
  // No Node on the PATH either: nothing it starts may lean on one.
  const env: NodeJS.ProcessEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: dir };
  let logs = "";
  const start = (args: string[]): ChildProcess => {
    const p = spawn(exe, args, { cwd: bin, env, stdio: ["ignore", "pipe", "pipe"] });
    p.stdout?.setEncoding("utf8").on("data", (c: string) => (logs += c));
    p.stderr?.setEncoding("utf8").on("data", (c: string) => (logs += c));
    procs.push(p);
    return p;
  };

  const port = await freePort();
  start(["server", "--data", join(dir, "server"), "--listen", `127.0.0.1:${port}`]);
  await waitFor("the server's tokens", 30_000, () => readdirSafe(join(dir, "server")).includes("join.token")).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${logs}`);
  });
  const addr = `http://127.0.0.1:${port}`;
  const cli = { ...env, TIFFIN_ADDR: addr, TIFFIN_TOKEN: readFileSync(join(dir, "server", "admin.token"), "utf8").trim() };
  const tiffin = (args: string[]): { code: number | null; out: string; err: string } => {
    const r = spawnSync(exe, args, { cwd: bin, env: cli, encoding: "utf8", timeout: 60_000 });
    return { code: r.status, out: r.stdout ?? "", err: r.stderr ?? "" };
  };
  // Installed as a service, the unit runs this very file (no npm package on the machine).
  const dry = tiffin(["agent", "install", "--dry-run", "--server", addr, "--join-token-file", join(dir, "server", "join.token")]);
  assert.equal(dry.code, 0, dry.err);
  assert.match(dry.out, new RegExp(`^ {4}ExecStart=${exe} agent$`, "m"));
  const agentArgs = ["agent", "--server", addr, "--join-token-file", join(dir, "server", "join.token"), "--data", join(dir, "agent"), "--name", "sea-1", "--listen", "127.0.0.1:0"];
  start(hasCrun ? agentArgs : [...agentArgs, "--unsandboxed-fallback"]);
  await waitFor("the agent to join", 60_000, () => tiffin(["hosts"]).out.includes(" up ")).catch((e: unknown) => {
    throw new Error(`${String(e)}\n${logs}`);
  });

  const spec = join(dir, "greeter.json");
  writeFileSync(spec, JSON.stringify({ name: "greeter", command: ["sh", "-c", "echo one; echo greeting two; exec sleep 3600"], resources: { cpu: 0.1, memory: "32Mi" } }));
  const applied = tiffin(["apply", spec]);
  assert.equal(applied.code, 0, `${applied.out}${applied.err}\n${logs}`);
  const task = await waitFor("the task to run", 60_000, () => {
    const r = tiffin(["status", "greeter", "--json"]);
    const first = r.code === 0 ? (JSON.parse(r.out) as JobStatus).tasks[0] : undefined;
    return first?.state === "running" && first.pid !== null ? first : undefined;
  });
  // In crun's sandbox the task has a pid namespace of its own.
  if (hasCrun) assert.notEqual(readlinkSync(`/proc/${task.pid}/ns/pid`), readlinkSync("/proc/self/ns/pid"), "the task runs in a sandbox");
  const helpers = processesMentioning(join(dir, "agent", "helper")).concat(processesMentioning(join(dir, "agent", "attempts")));
  const helperArgv = helpers.map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")).find((a) => a[1] === "helper");
  assert.ok(helperArgv, `a helper runs as \`tiffin helper\`: ${helpers.join(", ")}`);
  assert.equal(helperArgv[0], exe, "the helper is the executable itself");

  const out = await waitFor("the task's log", 30_000, () => {
    const r = tiffin(["logs", "greeter/0"]);
    return r.out.includes("greeting two") ? r.out : undefined;
  });
  assert.equal(out, "one\ngreeting two\n");
  const grep = tiffin(["logs", "greeter/0", "--grep", "^gr"]);
  assert.equal(grep.code, 0, grep.err);
  assert.equal(grep.out, "greeting two\n");
});

function readdirSafe(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}
