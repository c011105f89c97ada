// The CLI through its real argv: `main(argv)` exactly as bin/tiffin.js calls it, against the real
// server (in process: real HTTP, real SQLite). A unit test of a handler did not catch that
// `pkg push --version 1` never reached it (the program's own -V/--version took it), so each command
// here is parsed from a command line. `logs`, `drain`/`undrain` and `plan` with real hosts are run
// by test/readme.test.ts against `tiffin dev`.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import type { TestContext } from "node:test";
import { removeTree } from "../pkg/index.ts";
import { startServer } from "../server/main.ts";
import { memoryIo } from "./io.ts";
import { main, wantsVersion } from "./main.ts";

/** Runs `tiffin ...argv` with `env`; the exit code and what it printed. */
async function tiffin(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIo(env);
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}


/** A real server in-process on a temp dir, removed after the test; `env` points the CLI at it. */
async function realServer(t: TestContext, prefix: string, more: (root: string) => Record<string, string> = () => ({})): Promise<{ root: string; env: Record<string, string> }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const server = await startServer({ dataDir: path.join(root, "server"), listen: "127.0.0.1:0", log: "silent" });
  t.after(async () => {
    await server.close();
    await removeTree(root);
  });
  return { root, env: { HOME: root, TIFFIN_ADDR: server.url, TIFFIN_TOKEN: server.adminToken, ...more(root) } };
}

void test("wantsVersion: -V/--version only before the command, after global options", () => {
  const cases: [string[], boolean][] = [
    [["--version"], true],
    [["-V"], true],
    [["--addr", "http://x:1", "--version"], true],
    [["--token=t", "-V"], true],
    [["pkg", "push", "./tool", "--name", "tool", "--version", "1"], false],
    [["pkg", "build", "--version", "2", "."], false],
    [["status", "-V"], false],
    [[], false],
  ];
  for (const [argv, want] of cases) assert.equal(wantsVersion(argv), want, argv.join(" "));
});

void test("tiffin --version prints the package's version; a command's own --version is the command's", async () => {
  const v = await tiffin({}, "--version");
  assert.equal(v.code, 0);
  assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
  const help = await tiffin({}, "--help");
  assert.match(help.out, /-V, --version/, "still in the help");
});

void test("pkg build|push|tag|ls|history|rm through argv against the real server", async (t) => {
  const { root, env } = await realServer(t, "tiffin-cli-argv-", (root) => ({ TIFFIN_PKG_CACHE: path.join(root, "cache") }));
  const dir = path.join(root, "tool");
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  fs.writeFileSync(path.join(dir, "bin", "tool"), "#!/bin/sh\necho tool \"$@\"\n", { mode: 0o755 });

  const build = await tiffin(env, "pkg", "build", dir, "--name", "tool", "--version", "0.9", "--entrypoint", "bin/tool");
  assert.equal(build.code, 0, build.err);
  assert.match(build.out, /^tool:0\.9 [0-9a-f]{64} \(1 file\(s\)/, "the command's --version, not the program's");

  // The README's own command (tour step 7).
  const push = await tiffin(env, "pkg", "push", dir, "--name", "tool", "--version", "1", "--entrypoint", "bin/tool");
  assert.equal(push.code, 0, push.err);
  assert.match(push.out, /^pushed tool:1 [0-9a-f]{64}: uploaded 1 of 1 pieces/, push.out);
  fs.writeFileSync(path.join(dir, "bin", "tool"), "#!/bin/sh\necho tool v2 \"$@\"\n", { mode: 0o755 });
  const push2 = await tiffin(env, "pkg", "push", "--version", "2", "--name", "tool", dir, "--json");
  assert.equal(push2.code, 0, push2.err);
  assert.equal((JSON.parse(push2.out) as { package: { version: string } }).package.version, "2", "--version before the directory");

  const tag = await tiffin(env, "pkg", "tag", "tool:stable", "1");
  assert.equal(tag.code, 0, tag.err);
  assert.equal(tag.out, "tool:stable -> 1\n");

  const ls = await tiffin(env, "pkg", "ls");
  assert.equal(ls.code, 0, ls.err);
  const rows = ls.out.trim().split("\n");
  assert.match(rows[0]!, /^NAME\s+VERSION\s+ID\s+SIZE\s+PIECES\s+TAGS/);
  assert.deepEqual(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 2)), [["tool", "1"], ["tool", "2"]]);
  assert.match(rows.find((r) => /^tool\s+1\s/.test(r))!, /\sstable(\s|$)/, "the tag shows on version 1");

  const history = await tiffin(env, "pkg", "history", "tool", "--json");
  assert.equal(history.code, 0, history.err);
  assert.deepEqual((JSON.parse(history.out) as { version: string }[]).map((p) => p.version), ["1", "2"]);

  const rm = await tiffin(env, "pkg", "rm", "tool:2");
  assert.equal(rm.code, 0, rm.err);
  assert.equal(rm.out, "removed tool:2\n");
  const after = await tiffin(env, "pkg", "history", "tool", "--json");
  assert.deepEqual((JSON.parse(after.out) as { version: string }[]).map((p) => p.version), ["1"]);
  const missing = await tiffin(env, "pkg", "rm", "tool:2");
  assert.equal(missing.code, 1);
  assert.match(missing.err, /^error\[TIFFIN_NOT_FOUND\]/);
});

void test("plan FILE through argv: the diff of a new job and why its tasks have no host yet; nothing is stored", async (t) => {
  const { root, env } = await realServer(t, "tiffin-cli-argv-plan-");
  const file = path.join(root, "hello.json");
  fs.writeFileSync(file, JSON.stringify({ name: "hello", command: ["sleep", "100"], replicas: 2 }));
  const plan = await tiffin(env, "plan", file);
  assert.equal(plan.code, 0, plan.err);
  assert.match(plan.out, /^job hello: new job, version 1\n/);
  assert.match(plan.out, /\n {2}\+ replicas = 2\n/);
  assert.match(plan.out, /unplaced:\n {2}hello\/0: no host fits \(no hosts are up\)\n {2}hello\/1: /);
  const json = await tiffin(env, "plan", file, "--json");
  assert.equal((JSON.parse(json.out) as { name: string; unplaced: unknown[] }[])[0]?.unplaced.length, 2);
  const jobs = await tiffin(env, "jobs", "--json");
  assert.deepEqual(JSON.parse(jobs.out), [], "plan wrote nothing");
});

void test("history --diff and status in the user's form; history --spec V applies unchanged; revert V", async (t) => {
  const { root, env } = await realServer(t, "tiffin-cli-revert-");
  const file = path.join(root, "web.yaml");
  const write = (memory: string, grace: string) =>
    fs.writeFileSync(file, `name: web\ncommand: ["sleep", "600"]\nreplicas: 0\nresources: { memory: ${memory} }\nstop: { grace: ${grace} }\n`);
  write("128Mi", "10s");
  assert.equal((await tiffin(env, "apply", file, "--no-wait")).code, 0);
  write("1Gi", "1m30s");
  assert.equal((await tiffin(env, "apply", file, "--no-wait")).code, 0);

  const diff = await tiffin(env, "history", "web", "--diff", "1", "2");
  assert.equal(diff.code, 0, diff.err);
  assert.match(diff.out, /resources\.memory = "128Mi" -> "1Gi"/);
  assert.match(diff.out, /stop\.grace = "10s" -> "1m30s"/);
  assert.doesNotMatch(diff.out, /memoryMiB|graceMs/);
  // plan's diff speaks the same form (it showed memoryMiB 1024 -> 512).
  write("512Mi", "1m30s");
  const plan = await tiffin(env, "plan", file);
  assert.equal(plan.code, 0, plan.err);
  assert.match(plan.out, /resources\.memory = "1Gi" -> "512Mi"/);
  assert.doesNotMatch(plan.out, /memoryMiB|graceMs/);
  write("1Gi", "1m30s");
  const hist = await tiffin(env, "history", "web");
  assert.match(hist.out, /resources\.memory "128Mi" -> "1Gi"/);
  const status = await tiffin(env, "status", "web");
  assert.match(status.out, /memory 1Gi/);
  assert.doesNotMatch(status.out, /MiB|Ms\b/);

  // The printed version is a spec file apply accepts as is; applying it back is version 3 = version 1.
  const printed = await tiffin(env, "history", "web", "--spec", "1");
  assert.equal(printed.code, 0, printed.err);
  assert.match(printed.out, /"memory": "128Mi"/);
  const back = path.join(root, "v1.json");
  fs.writeFileSync(back, printed.out);
  const reapplied = await tiffin(env, "apply", back, "--no-wait");
  assert.equal(reapplied.code, 0, reapplied.err);
  assert.match(reapplied.out, /version 3 applied/);

  // revert: version 2 current again as a new version 4, like `nomad job revert`.
  const revert = await tiffin(env, "revert", "web", "2", "--no-wait");
  assert.equal(revert.code, 0, revert.err);
  assert.match(revert.out, /job web: version 2 reverted as version 4/);
  const specs = await Promise.all([2, 4].map(async (v) => (await tiffin(env, "history", "web", "--spec", String(v))).out));
  assert.equal(specs[0], specs[1]);
  const again = await tiffin(env, "revert", "web", "4", "--no-wait");
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /already at version 4/);
  const missing = await tiffin(env, "revert", "web", "9");
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no version 9/);
});

void test("versions record who applied them (TIFFIN_USER, else the OS user) and apply -m / revert -m messages", async (t) => {
  const { root, env } = await realServer(t, "tiffin-cli-who-", () => ({ TIFFIN_USER: "ada" }));
  const file = path.join(root, "web.json");
  fs.writeFileSync(file, JSON.stringify({ name: "web", command: ["sleep", "1"], replicas: 0 }));
  assert.equal((await tiffin(env, "apply", file, "--no-wait", "-m", "first cut")).code, 0);
  fs.writeFileSync(file, JSON.stringify({ name: "web", command: ["sleep", "2"], replicas: 0 }));
  assert.equal((await tiffin({ ...env, TIFFIN_USER: "" }, "apply", file, "--no-wait")).code, 0);
  const revert = await tiffin({ ...env, TIFFIN_USER: "grace" }, "revert", "web", "1", "--no-wait", "--message", "sleep 2 broke it");
  assert.equal(revert.code, 0, revert.err);
  const versions = JSON.parse((await tiffin(env, "history", "web", "--json")).out) as { version: number; by: string | null; message: string | null }[];
  assert.deepEqual(versions.map((v) => [v.version, v.by, v.message]), [
    [3, "grace", "sleep 2 broke it (revert to version 1)"],
    [2, os.userInfo().username, null],
    [1, "ada", "first cut"],
  ]);
  const table = await tiffin(env, "history", "web");
  assert.match(table.out, /^\s*1\s.*\bada\b.*first cut/m);
  const bad = await tiffin(env, "apply", file, "--no-wait", "-m", "x".repeat(2000));
  assert.equal(bad.code, 1);
  assert.match(bad.err, /message/);
});

void test("revert brings back the very package bytes the version pinned, whatever its tag says now", async (t) => {
  const { root, env } = await realServer(t, "tiffin-cli-revert-pins-", (root) => ({ TIFFIN_PKG_CACHE: path.join(root, "cache") }));
  const dir = path.join(root, "tool");
  fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
  for (const v of ["1", "2"]) {
    fs.writeFileSync(path.join(dir, "bin", "tool"), `#!/bin/sh\necho tool ${v}\n`, { mode: 0o755 });
    assert.equal((await tiffin(env, "pkg", "push", dir, "--name", "tool", "--version", v, "--entrypoint", "bin/tool")).code, 0);
  }
  const file = path.join(root, "web.json");
  const apply = async (tagged: string, command: string) => {
    assert.equal((await tiffin(env, "pkg", "tag", "tool:stable", tagged)).code, 0);
    fs.writeFileSync(file, JSON.stringify({ name: "web", command: [command], replicas: 0, packages: ["tool:stable"] }));
    const r = await tiffin(env, "apply", file, "--no-wait");
    assert.equal(r.code, 0, r.err);
  };
  await apply("1", "one");
  await apply("2", "two");
  const revert = await tiffin(env, "revert", "web", "1", "--no-wait");
  assert.equal(revert.code, 0, revert.err);
  const pinned = async (v: number) => {
    const res = await fetch(`${env["TIFFIN_ADDR"]}/v1/jobs/web/versions/${v}`, { headers: { authorization: `Bearer ${env["TIFFIN_TOKEN"]}` } });
    return ((await res.json()) as { spec: { pinned: { version: string }[] } }).spec.pinned.map((p) => p.version);
  };
  assert.deepEqual(await Promise.all([1, 2, 3].map(pinned)), [["1"], ["2"], ["1"]], "version 3 runs tool:1, as version 1 did");
  // Applying the printed spec instead resolves the tag afresh: that is apply, not revert.
  const printed = await tiffin(env, "history", "web", "--spec", "1");
  fs.writeFileSync(file, printed.out);
  assert.equal((await tiffin(env, "apply", file, "--no-wait")).code, 0);
  assert.deepEqual(await pinned(4), ["2"]);
});
