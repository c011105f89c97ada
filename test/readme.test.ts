// README.md, run as written, so it cannot drift: every `npx tiffin ...` of the tour through the real
// CLI (bin/tiffin.js, its real argv) against `tiffin dev` (the server and three agents as processes,
// as `npm run dev` starts them), the tour's hello.ts taken from its code block, the kills the tour
// suggests; the "Running it for real" commands with temp dirs and a free port; and every other
// `tiffin ...` the README names checked against the CLI's commands and options. A command added to
// the tour without a case here fails the first test.
import { test } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import type { HostView, JobStatus, TaskView } from "../src/api/types.ts";
import { killStrays } from "../src/cli/dev/strays.ts";
import { memoryIo } from "../src/cli/io.ts";
import { buildProgram } from "../src/cli/main.ts";
import { alive, freePort, processesMentioning, waitFor } from "./harness.ts";

const root = join(import.meta.dirname, "..");
const bin = join(root, "bin", "tiffin.js");
const readme = readFileSync(join(root, "README.md"), "utf8");

/** The README's section `title` (up to the next `## `). */
function section(title: string): string {
  const start = readme.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `README has a section "${title}"`);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** The fenced code blocks of `text` in language `lang`, line continuations joined. */
function blocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]!.replace(/\\\n\s*/g, ""));
}

/** Inline code spans of `text`, outside fenced blocks (line breaks inside a span become one space). */
function spans(text: string): string[] {
  return [...text.replace(/```[\s\S]*?```/g, "").matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\s+/g, " ").trim());
}

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** `tiffin ...args` as a user types it in `cwd`, with `env`; stdin from `input`. */
function tiffin(env: NodeJS.ProcessEnv, cwd: string, args: string[], opts: { input?: string; timeoutMs?: number; signalAfterMs?: number } = {}): Promise<Run> {
  const p = spawn(process.execPath, [bin, ...args], { env, cwd, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  p.stderr.setEncoding("utf8").on("data", (c: string) => (err += c));
  p.stdin.end(opts.input ?? "");
  const timers = [setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 90_000)];
  if (opts.signalAfterMs !== undefined) timers.push(setTimeout(() => p.kill("SIGINT"), opts.signalAfterMs));
  return new Promise((resolve) =>
    p.once("close", (code) => {
      timers.forEach(clearTimeout);
      resolve({ code, out, err });
    }),
  );
}

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.out}${r.err}`);
  return r.out;
}

/** The environment of a user with a fresh home: no TIFFIN_* settings, so the context file decides. */
function userEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  for (const k of ["TIFFIN_HOME", "TIFFIN_ADDR", "TIFFIN_TOKEN", "TIFFIN_PKG_CACHE"]) delete env[k];
  return env;
}

/** Splits a command span into words (the README's commands use no quotes). */
function words(cmd: string): string[] {
  return cmd.split(" ").filter((w) => w !== "");
}

/** Starts `tiffin dev` (what `npm run dev` runs) for a user whose home is `home`. */
async function startDev(t: TestContext, home: string): Promise<{ out: () => string; agentPid: (name: string) => number; stop: () => Promise<number | null> }> {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: Record<string, string> };
  assert.equal(pkg.scripts["dev"], "node bin/tiffin.js dev", "`npm run dev` is the command this test starts");
  const data = join(home, "dev");
  const port = await freePort();
  const dev = spawn(process.execPath, [bin, "dev", "--data", data, "--listen", `127.0.0.1:${port}`], { env: userEnv(home), cwd: home, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  dev.stdout.setEncoding("utf8").on("data", (c: string) => (out += c));
  dev.stderr.setEncoding("utf8").on("data", (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => dev.once("exit", (code) => resolve(code)));
  t.after(async () => {
    if (dev.exitCode === null && dev.signalCode === null) dev.kill("SIGKILL");
    await killStrays(["dev-1", "dev-2", "dev-3"].map((n) => join(data, n)), 500);
    for (const pid of processesMentioning(home)) process.kill(pid, "SIGKILL");
  });
  await waitFor("tiffin dev to say it is ready", 90_000, () => {
    if (dev.exitCode !== null) throw new Error(`tiffin dev exited ${dev.exitCode}:\n${out}`);
    return /tiffin dev is ready/.test(out);
  }).catch((err: unknown) => {
    throw new Error(`${String(err)}\n--- output ---\n${out}`);
  });
  return {
    out: () => out,
    // The latest pid tiffin dev printed for the agent (it prints the new one when it restarts it).
    agentPid: (name) => {
      const m = [...out.matchAll(new RegExp(`^ {2}${name} .*\\(pid (\\d+),`, "gm"))].pop();
      assert.ok(m, `tiffin dev printed ${name}'s pid:\n${out}`);
      return Number(m[1]);
    },
    stop: async () => {
      dev.kill("SIGINT");
      return await exited;
    },
  };
}

void test("README tour: every `npx tiffin` command, the spec and the kills, run against `tiffin dev` as written", { timeout: 600_000 }, async (t) => {
  const tour = section("A ten-minute tour");
  const home = mkdtempSync(join(tmpdir(), "tiffin-readme-"));
  t.after(() => {
    if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(home, { recursive: true, force: true });
  });
  const env = userEnv(home);
  const step = (name: string): void => t.diagnostic(`${((Date.now() - began) / 1000).toFixed(1)} s: ${name}`);
  const began = Date.now();

  // The commands the tour shows, each with the case below that runs it.
  const shown = new Set(spans(tour).filter((s) => /(^|\| )npx tiffin /.test(s)));
  const cases = new Set<string>();
  const run = async (cmd: string, opts: { input?: string; signalAfterMs?: number; timeoutMs?: number } = {}): Promise<Run> => {
    assert.ok(shown.has(cmd), `the README shows \`${cmd}\``);
    cases.add(cmd);
    const pipe = /^echo (.*) \| (npx tiffin .*)$/.exec(cmd);
    const argv = words(pipe ? pipe[2]! : cmd).slice(2);
    return await tiffin(env, home, argv, pipe ? { ...opts, input: `${pipe[1]}\n` } : opts);
  };
  const cli = (...args: string[]): Promise<Run> => tiffin(env, home, args);
  const status = async (job: string): Promise<JobStatus> => JSON.parse(ok(await cli("status", job, "--json"), `status ${job}`)) as JobStatus;
  const hosts = async (): Promise<HostView[]> => JSON.parse(ok(await cli("hosts", "--json"), "hosts")) as HostView[];
  const runningOn = (s: JobStatus): Map<string, TaskView> => new Map(s.tasks.filter((x) => ["running", "healthy"].includes(x.state) && x.pid !== null).map((x) => [x.id, x]));

  // "With `npm run dev` running in one terminal ... a context file (`~/.tiffin/context.json`)".
  const dev = await startDev(t, home);
  step("tiffin dev ready");
  assert.ok(statSync(join(home, ".tiffin", "context.json")).isFile(), "~/.tiffin/context.json");

  // 1. See the machines.
  const hostTable = ok(await run("npx tiffin hosts"), "hosts");
  for (const name of ["dev-1", "dev-2", "dev-3"]) assert.match(hostTable, new RegExp(`\\b${name}\\b.*\\bup\\b`), hostTable);
  assert.deepEqual((await hosts()).map((h) => [h.name, h.status, h.domain.rack]), [["dev-1", "up", "r1"], ["dev-2", "up", "r2"], ["dev-3", "up", "r3"]]);

  // 2. Write a spec: hello.ts from its code block; then the mistakes the tour suggests.
  const spec = blocks(tour, "ts").find((b) => b.startsWith("// hello.ts"));
  assert.ok(spec, "the tour's hello.ts block");
  writeFileSync(join(home, "hello.ts"), spec);
  const bad = spec.replace("replicas: 3", "replicas: -1").replace('memory: "128Mi"', 'memory: "lots"');
  assert.notEqual(bad, spec);
  writeFileSync(join(home, "bad.ts"), bad);
  const refused = await cli("plan", "bad.ts");
  assert.equal(refused.code, 2, `a bad spec is a spec error: ${refused.out}${refused.err}`);
  assert.match(refused.err, /bad\.ts.*replicas/, "file and field path, all at once");
  assert.match(refused.err, /bad\.ts.*resources\.memory.*lots/);
  assert.equal((await status("hello").catch(() => null)) === null, true, "nothing reached the server");

  // 3. Plan, then apply; history; change replicas, apply again, diff.
  const plan = ok(await run("npx tiffin plan hello.ts"), "plan");
  assert.match(plan, /^job hello: new job, version 1$/m);
  assert.equal((plan.match(/^ {2}hello\/\d\s+start\s+-> dev-\d \(rack r\d\)\s/gm) ?? []).length, 3, plan);
  ok(await run("npx tiffin apply hello.ts"), "apply");
  step("hello applied");
  const first = await status("hello");
  assert.equal(runningOn(first).size, 3, "every task runs once apply returns");
  assert.equal(new Set(first.tasks.map((x) => x.hostName)).size, 3, "spread over the racks");
  assert.match(ok(await run("npx tiffin history hello"), "history"), /^\s*1\s/m);
  writeFileSync(join(home, "hello.ts"), spec.replace("replicas: 3", "replicas: 4"));
  ok(await cli("apply", "hello.ts"), "apply again");
  const diff = ok(await run("npx tiffin history hello --diff 1 2"), "history --diff");
  assert.match(diff, /replicas.*3.*4/, diff);
  // The printed version 1 is a spec file apply takes unchanged; revert makes it current as version 3.
  const v1 = ok(await run("npx tiffin history hello --spec 1"), "history --spec");
  writeFileSync(join(home, "hello-v1.json"), v1);
  assert.match(ok(await cli("plan", "hello-v1.json"), "plan of the printed version"), /replicas = 4 -> 3/);
  assert.match(ok(await run("npx tiffin revert hello 1"), "revert"), /^job hello: version 1 reverted as version 3$/m);
  const reverted = await status("hello");
  assert.equal(reverted.version, 3);
  assert.equal([...runningOn(reverted).values()].filter((x) => x.version === 3).length, 3, "revert waits until version 3 runs");
  assert.match(ok(await run("npx tiffin history hello"), "history"), /^3\s.*revert to version 1/m);

  // 4. Look at it: status, logs (follow until Ctrl-C; --stderr, --attempt, --tail).
  const table = ok(await run("npx tiffin status hello"), "status");
  const hello = await status("hello");
  const t0 = hello.tasks.find((x) => x.index === 0)!;
  assert.ok(t0.pid !== null && alive(t0.pid), "the pid status shows is a live process");
  assert.match(table, new RegExp(`hello/0\\s.*${t0.hostName}.*\\b${t0.pid}\\b.*http=${t0.ports["http"]}`), table);
  assert.equal(await (await fetch(`http://127.0.0.1:${t0.ports["http"]}/`)).text(), "hi", "the task answers on its port");
  const follow = await run("npx tiffin logs hello/0 --follow", { signalAfterMs: 1500 });
  assert.equal(follow.code, 0, `logs --follow ends on Ctrl-C: ${follow.err}`);
  ok(await cli("logs", "hello/0", "--stderr", "--tail", "5", "--attempt", t0.attemptId!), "logs --stderr --tail --attempt");
  // `tiffin top`: piped, it prints its table once (every task of every job); --json, one job's tasks with
  // their CPU and memory against the spec's limits.
  const top = ok(await run("npx tiffin top"), "top");
  assert.match(top, new RegExp(`hello/0\\s.*${t0.hostName}`), top);
  const topJson = JSON.parse(ok(await run("npx tiffin top hello --json"), "top --json")) as { job: string; index: number; memoryLimitBytes: number }[];
  assert.deepEqual(topJson.filter((x) => x.job === "hello").map((x) => [x.index, x.memoryLimitBytes]).sort(), [[0, 128 << 20], [1, 128 << 20], [2, 128 << 20]]);

  // Get inside: a shell in the sandbox (stdin is not a terminal here), stdin piped, the exit code back.
  const sh = await run("npx tiffin exec hello/0 -- sh", { input: 'echo "inside $TASK_ID"; exit 3\n' });
  assert.equal(sh.code, 3, `the command's exit code comes back: ${sh.err}`);
  assert.equal(sh.out, "inside hello/0\n");
  assert.equal(ok(await run("echo hi | npx tiffin exec hello/0 -- cat"), "exec cat"), "hi\n");
  const ctx = JSON.parse(readFileSync(join(home, ".tiffin", "context.json"), "utf8")) as { addr: string; token: string };
  const audit = (await (await fetch(`${ctx.addr}/v1/audit`, { headers: { authorization: `Bearer ${ctx.token}` } })).json()) as { action: string; job: string; index: number; command: string[]; exitCode: number | null }[];
  assert.deepEqual(audit.filter((a) => a.action === "exec" && a.job === "hello" && a.index === 0).map((a) => [a.command.join(" "), a.exitCode]), [["sh", 3], ["cat", 0]], "every exec is in the audit log");
  step("looked at it");

  // 5. Break things. `kill -9` a task's pid: a new attempt within seconds, the old one ended by SIGKILL.
  process.kill(t0.pid, "SIGKILL");
  const healed = await waitFor("hello/0 to run again", 20_000, async () => {
    const x = (await status("hello")).tasks.find((y) => y.index === 0)!;
    return x.attemptId !== t0.attemptId && ["running", "healthy"].includes(x.state) && x.pid !== null ? x : undefined;
  });
  assert.equal(healed.attempts.find((a) => a.id === t0.attemptId)?.signal, "SIGKILL", "the old attempt ended by SIGKILL");
  step("task killed and restarted");

  // `npx tiffin restart hello`: what releases a parked task also gives running ones a new attempt.
  const beforeRestart = await status("hello");
  ok(await run("npx tiffin restart hello"), "restart");
  await waitFor("every hello task restarted", 30_000, async () => {
    const now = await status("hello");
    return now.tasks.every((x) => x.attemptId !== beforeRestart.tasks.find((y) => y.index === x.index)?.attemptId && ["running", "healthy"].includes(x.state)) ? now : undefined;
  });
  step("job restarted");

  // `kill -USR2 <pid>` of an agent: it announces its absence, tiffin dev starts it again, and it
  // re-adopts its running tasks: same pids.
  assert.ok(spans(tour).includes("kill -USR2 <pid>"), "the tour shows `kill -USR2 <pid>`");
  const before = [...runningOn(await status("web")).values()].filter((x) => x.hostName === "dev-2").map((x) => x.pid);
  assert.ok(before.length > 0, "web runs on dev-2");
  const upgraded = dev.agentPid("dev-2");
  process.kill(upgraded, "SIGUSR2");
  await waitFor("dev-2 to exit for its upgrade", 20_000, () => !alive(upgraded));
  await waitFor("dev-2 started again and up", 40_000, async () => dev.out().includes("dev-2 exited") && (await hosts()).find((h) => h.name === "dev-2")?.status === "up" && (await hosts()).find((h) => h.name === "dev-2")!.lastHeartbeatAt! > Date.now() - 2000);
  const after = [...runningOn(await status("web")).values()].filter((x) => x.hostName === "dev-2").map((x) => x.pid);
  assert.deepEqual(after, before, "the same task processes, re-adopted");
  step("agent upgraded");

  // `kill -9` an agent: down after 5 s, its tasks run elsewhere (`npx tiffin status web`); tiffin dev
  // starts it again after 10 s and it stops nothing twice.
  const victim = dev.agentPid("dev-1");
  const webBefore = await status("web");
  const moved = webBefore.tasks.filter((x) => x.hostName === "dev-1").map((x) => x.id);
  assert.ok(moved.length > 0, "web runs on dev-1");
  process.kill(victim, "SIGKILL");
  const killedAt = Date.now();
  await waitFor("web's tasks to run elsewhere", 30_000, async () => {
    const s = await status("web");
    return s.tasks.length === 3 && s.tasks.every((x) => x.hostName !== "dev-1" && ["running", "healthy"].includes(x.state)) ? s : undefined;
  });
  step(`web moved off dev-1 in ${Date.now() - killedAt} ms`);
  const webTable = ok(await run("npx tiffin status web"), "status web");
  for (const id of moved) assert.match(webTable, new RegExp(`^${id}\\s+dev-[23]\\s`, "m"), webTable);
  // dev-1 is down by now (its tasks moved); tiffin dev starts it again 10 s after it died.
  assert.match(dev.out(), /dev-1 exited \(SIGKILL\); starting it again in 10 s/);
  await waitFor("dev-1 up again", 40_000, async () => (await hosts()).find((h) => h.name === "dev-1")?.status === "up");
  const web = await status("web");
  assert.equal(runningOn(web).size, 3, "web still runs 3 tasks after dev-1 came back");
  step("agent killed and back");

  // 6. Drain a host: its tasks move elsewhere; undrain opens it again.
  assert.match(ok(await run("npx tiffin drain dev-1"), "drain"), /dev-1.*draining/);
  await waitFor("no task left on dev-1", 120_000, async () => {
    for (const job of ["web", "worker", "hello"]) if ((await status(job)).tasks.some((x) => x.hostName === "dev-1")) return undefined;
    return true;
  });
  assert.equal((await hosts()).find((h) => h.name === "dev-1")?.draining, true);
  // `tiffin hosts dev-1` shows the drain again (and the host's machine checks).
  assert.match(ok(await run("npx tiffin hosts dev-1"), "hosts HOST"), /^host dev-1 \(\S+\): up, draining$/m);
  ok(await run("npx tiffin undrain dev-1"), "undrain");
  assert.equal((await hosts()).find((h) => h.name === "dev-1")?.draining, false);
  step("drained and undrained");

  // 7. Ship a package: push, pin it in a spec, the task finds it read-only; pkg run from the cache.
  mkdirSync(join(home, "tool", "bin"), { recursive: true });
  writeFileSync(join(home, "tool", "bin", "tool"), '#!/bin/sh\necho "tool says $*"\n');
  chmodSync(join(home, "tool", "bin", "tool"), 0o755);
  assert.match(ok(await run("npx tiffin pkg push ./tool --name tool --version 1 --entrypoint bin/tool"), "pkg push"), /^pushed tool:1 /);
  writeFileSync(join(home, "uses-tool.ts"), `import { job } from "tiffin";\nexport default job({ name: "uses-tool", command: ["sh", "-c", "$TIFFIN_PKG_TOOL/bin/tool from-task; exec sleep 300"], packages: ["tool:1"], resources: { cpu: 0.1, memory: "32Mi" } });\n`);
  ok(await cli("apply", "uses-tool.ts"), "apply uses-tool.ts");
  await waitFor("the task ran the package's entry point", 30_000, async () => ok(await cli("logs", "uses-tool/0"), "logs").includes("tool says from-task"));
  // --grep runs in the agent process's grep thread (src/agent/log-filter.ts).
  assert.equal(ok(await cli("logs", "uses-tool/0", "--grep", "^tool says"), "logs --grep"), "tool says from-task\n");
  const write = await cli("exec", "uses-tool/0", "--", "sh", "-c", 'touch "$TIFFIN_PKG_TOOL/x"');
  assert.notEqual(write.code, 0, "the package is read-only in the task");
  const pkgRun = await run("npx tiffin pkg run tool:1 -- ARGS");
  assert.equal(pkgRun.code, 0, pkgRun.err);
  assert.equal(pkgRun.out, "tool says ARGS\n");
  step("package shipped");

  assert.deepEqual([...shown].filter((c) => !cases.has(c)), [], "every command of the tour ran");

  // Ctrl-C stops everything.
  assert.equal(await dev.stop(), 0, dev.out());
  assert.deepEqual(processesMentioning(home), [], "nothing left running");
});

void test("README 'Running it for real': the server and agent commands as written (temp dirs, a free port; HTTPS: the printed CA hash, the CLI's context pins it)", { timeout: 120_000 }, async (t) => {
  const [block] = blocks(section("Running it for real"), "sh");
  assert.ok(block);
  const lines = block.split("\n").filter((l) => l.startsWith("tiffin "));
  assert.equal(lines.length, 2, block);
  const dir = mkdtempSync(join(tmpdir(), "tiffin-readme-real-"));
  const port = await freePort();
  let caHash = "sha256:HASH";
  // The server listens on every interface as written (HTTPS by default there); everything here dials it on loopback.
  const local = (line: string): string[] =>
    words(
      line
        .replace(/\s+#.*$/, "")
        .replaceAll("/var/lib/tiffin-agent", join(dir, "agent"))
        .replaceAll("/var/lib/tiffin", join(dir, "server"))
        .replaceAll("0.0.0.0:7070", `0.0.0.0:${port}`)
        .replaceAll("SERVER:7070", `127.0.0.1:${port}`)
        .replaceAll("sha256:HASH", caHash)
        .replaceAll("join.token", join(dir, "server", "join.token"))
        .replaceAll("$(hostname)", hostname()),
    ).slice(1);
  const procs = lines.map(() => null as ReturnType<typeof spawn> | null);
  t.after(() => {
    procs.forEach((p) => p?.kill("SIGKILL"));
    for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  const env = userEnv(dir);
  procs[0] = spawn(process.execPath, [bin, ...local(lines[0]!)], { env, stdio: ["ignore", "pipe", "ignore"] });
  let printed = "";
  procs[0].stdout?.setEncoding("utf8").on("data", (c: string) => (printed += c));
  caHash = await waitFor("the server to print its CA's hash", 20_000, () => /TLS: cluster CA (sha256:[0-9a-f]{64})/.exec(printed)?.[1]);
  for (const f of ["admin.token", "join.token"]) assert.equal(statSync(join(dir, "server", f)).mode & 0o777, 0o600, `${f} is 0600`);
  procs[1] = spawn(process.execPath, [bin, ...local(lines[1]!)], { env, stdio: "ignore" });
  const token = readFileSync(join(dir, "server", "admin.token"), "utf8").trim();
  assert.ok(token !== "");
  const added = await tiffin(env, dir, ["context", "add", "real", "--server", `https://127.0.0.1:${port}`, "--token-file", join(dir, "server", "admin.token"), "--ca-hash", caHash, "--use"]);
  assert.equal(added.code, 0, added.err);
  const cliEnv = env;
  const h = await waitFor("the agent to join", 30_000, async () => {
    const r = await tiffin(cliEnv, dir, ["hosts", "--json"]);
    return r.code === 0 ? (JSON.parse(r.out) as HostView[]).find((x) => x.name === hostname() && x.status === "up") : undefined;
  });
  assert.deepEqual(h.labels, { region: "eu", datacenter: "dc1", cluster: "c1", rack: "r12" });
  for (const p of procs) p?.kill("SIGTERM");
});

/** The command `path` names under the program, or null. */
function findCommand(program: Command, path: string[]): Command | null {
  let c: Command | undefined = program;
  for (const name of path) c = c?.commands.find((x) => x.name() === name);
  return c ?? null;
}

void test("README: every `tiffin ...` it names is a command, with options the command has", () => {
  const { program } = buildProgram(memoryIo(), { exitCode: 0, daemon: false });
  const globals = program.options.map((o) => o.long);
  const mentions = [
    ...spans(readme).filter((s) => /^(npx )?tiffin /.test(s)).map((s) => s.replace(/^npx /, "")),
    ...blocks(readme, "sh").flatMap((b) => b.split("\n")).filter((l) => l.startsWith("tiffin ")),
  ];
  assert.ok(mentions.length >= 10, `found ${mentions.length} mentions`);
  for (const mention of mentions) {
    const ws = words(mention.replace(/\s+#.*$/, ""));
    // `tiffin pkg build|push|tag|ls`: each alternative.
    const alternatives = ws[2]?.includes("|") ? ws[2].split("|").map((a) => [ws[1]!, a, ...ws.slice(3)]) : [ws.slice(1)];
    for (const w of alternatives) {
      const path: string[] = [];
      let cmd: Command = program;
      for (const word of w) {
        const sub = cmd.commands.find((x) => x.name() === word);
        if (!sub) break;
        path.push(word);
        cmd = sub;
      }
      assert.ok(path.length > 0 && findCommand(program, path), `\`${mention}\`: ${w[0]} is a tiffin command`);
      const known = new Set([...cmd.options.map((o) => o.long), ...globals, "--help"]);
      const own = w.includes("--") ? w.slice(0, w.indexOf("--")) : w; // after --: the task's command
      for (const flag of own.filter((x) => x.startsWith("--")).map((x) => x.split("=")[0]!)) {
        assert.ok(known.has(flag), `\`${mention}\`: tiffin ${path.join(" ")} has no ${flag}`);
      }
    }
  }
});
