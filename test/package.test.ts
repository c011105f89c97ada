// The package as users get it: `npm pack` (which builds dist/ through `prepack`), the tarball installed
// globally into a temporary prefix, and the installed `tiffin` run through its real argv from a folder
// outside the repository: version and help, on an older Node too (it re-runs on its own Node 24), a server, an agent and
// the CLI running a TypeScript spec that imports "tiffin", and a user's spec repository type-checked
// against the installed types. Installing fetches the dependencies through npm (its cache first);
// where the registry cannot be reached and the cache lacks them, the tests skip saying so.
import { test, before, after } from "node:test";
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort, waitFor } from "./harness.ts";

const root = join(import.meta.dirname, "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
const dir = mkdtempSync(join(tmpdir(), "tiffin-package-"));
chmodSync(dir, 0o711); // as /var/lib: the isolation "none" task (as nobody) reaches its work dir under it
const prefix = join(dir, "prefix");
const installedBin = join(prefix, "bin", "tiffin");
/** A user's environment: Node 24 first on PATH (as the installed `#!/usr/bin/env node` needs), a fresh HOME. */
const userEnv: NodeJS.ProcessEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${join(prefix, "bin")}:${process.env["PATH"] ?? ""}`, HOME: dir };
for (const k of ["TIFFIN_HOME", "TIFFIN_ADDR", "TIFFIN_TOKEN", "TIFFIN_PKG_CACHE", "npm_config_prefix"]) delete userEnv[k];

let tarball = "";
let files: string[] = [];
/** Why the installed package cannot be tested here, or null. */
let unavailable: string | null = null;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Run {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? dir, env: opts.env ?? userEnv, encoding: "utf8", timeout: opts.timeoutMs ?? 120_000 });
  return { code: r.status, out: r.stdout ?? "", err: `${r.stderr ?? ""}${r.error ? String(r.error) : ""}` };
}

function ok(r: Run, what: string): string {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.out}${r.err}`);
  return r.out;
}

/** npm failing for want of the network (and of a cached copy), not because of the package. */
function offline(r: Run): boolean {
  return /ENOTCACHED|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH/.test(r.err);
}

function skipIfUnavailable(t: TestContext): boolean {
  if (unavailable === null) return false;
  t.skip(unavailable);
  return true;
}

before(async () => {
  if (spawnSync("npm", ["--version"], { env: userEnv }).status !== 0) {
    unavailable = "npm is not on PATH";
    return;
  }
  const packed = run("npm", ["pack", "--json", "--pack-destination", dir], { cwd: root, timeoutMs: 300_000 });
  ok(packed, "npm pack");
  const info = (JSON.parse(packed.out.slice(packed.out.indexOf("["))) as { filename: string; files: { path: string }[] }[])[0];
  assert.ok(info, packed.out);
  tarball = join(dir, info.filename);
  files = info.files.map((f) => f.path);
  const install = run("npm", ["install", "--global", "--prefer-offline", "--no-audit", "--no-fund", "--prefix", prefix, tarball], { timeoutMs: 300_000 });
  if (install.code !== 0 && offline(install)) unavailable = `npm cannot fetch the dependencies here: ${install.err.split("\n")[0] ?? ""}`;
  else ok(install, "npm install --global");
});

after(() => {
  if (!process.env["TIFFIN_KEEP_TEST_DIRS"]) rmSync(dir, { recursive: true, force: true });
});

void test("the tarball holds the build, the bin, examples, schema, docs and unit files; no sources, tests or benches", (t) => {
  if (unavailable === "npm is not on PATH") return void t.skip(unavailable);
  for (const f of ["bin/tiffin.js", "bin/pkg-run-fast.js", "dist/cli/main.js", "dist/spec/index.js", "dist/spec/index.d.ts", "dist/helper/main.js", "dist/state/sqlite-worker.js", "dist/agent/grep-worker.js", "dist/spec/eval-child.js", "examples/tiffin.ts", "schema/job.schema.json", "README.md", "LICENSE", "CHANGELOG.md", "docs/operations.md", "packaging/systemd/tiffin-agent.service", "package.json", "web/dist/index.html"]) {
    assert.ok(files.includes(f), `the tarball has ${f}`);
  }
  const stray = files.filter((f) => /\.test\.|(^|\/)(test|bench|src)\//.test(f) || /(^|\/)(testkit|test-fixtures|fake|conformance[^/]*|testing)\.(js|d\.ts)$/.test(f) || f.startsWith("dist/server/testing/"));
  assert.deepEqual(stray, [], "no tests, test helpers, benches or TypeScript sources");
});

void test("the installed tiffin runs outside the repository: `tiffin version --client`, `tiffin dev --help`, `tiffin help apply`", (t) => {
  if (skipIfUnavailable(t)) return;
  assert.equal(ok(run(installedBin, ["version", "--client"]), "tiffin version --client").trim(), `client  ${pkg.version}`);
  assert.match(ok(run("tiffin", ["dev", "--help"]), "tiffin dev --help"), /^Usage: tiffin dev \[options\]/);
  assert.match(ok(run("tiffin", ["help", "apply"]), "tiffin help apply"), /^Usage: tiffin apply/);
});

/** A Node older than 24 on this machine (Debian's /usr/bin/node is 18 or 20), or undefined. */
const oldNode = ["/usr/bin/node", "/usr/local/bin/node"].find((n) => Number(spawnSync(n, ["-p", "process.versions.node.split('.')[0]"], { encoding: "utf8" }).stdout?.trim()) < 24);
/** The user's environment with that older Node first on PATH: `#!/usr/bin/env node` finds it. */
const oldNodeEnv: NodeJS.ProcessEnv = oldNode ? { ...userEnv, PATH: `${dirname(oldNode)}:${join(prefix, "bin")}:${userEnv["PATH"] ?? ""}` } : userEnv;

void test("on a Node older than 24 the installed tiffin runs on the Node 24 it brings (the `node` dependency), exit codes passed through", (t) => {
  if (skipIfUnavailable(t)) return;
  if (!oldNode) return void t.skip("no Node older than 24 on this machine");
  assert.match(run("node", ["--version"], { env: oldNodeEnv }).out, /^v(1\d|2[0-3])\./, "the older Node is the one on PATH");
  assert.equal(ok(run("tiffin", ["version", "--client"], { env: oldNodeEnv }), "tiffin version --client on the older Node").trim(), `client  ${pkg.version}`);
  writeFileSync(join(dir, "bad.json"), JSON.stringify({ name: "bad", command: ["x"], replicas: -1 }));
  const bad = run("tiffin", ["validate", "bad.json"], { env: oldNodeEnv });
  assert.equal(bad.code, 2, `a spec problem exits 2 through the re-run:\n${bad.out}${bad.err}`);
  assert.match(bad.err, /replicas/);
});

void test("the installed server, agent and CLI run a TypeScript spec that imports tiffin, and show its log (with an older Node first on PATH, where the machine has one)", { timeout: 180_000 }, async (t) => {
  if (skipIfUnavailable(t)) return;
  // Every `tiffin` below starts on the machine's older Node (when there is one) and re-runs itself on
  // the package's own Node 24; signals reach the daemons through that first process.
  const userEnv = oldNodeEnv;
  const port = await freePort();
  const addr = `http://127.0.0.1:${port}`;
  const procs: ChildProcess[] = [];
  const daemon = (args: string[], log: string): ChildProcess => {
    const p = spawn("tiffin", args, { cwd: dir, env: userEnv, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout?.setEncoding("utf8").on("data", (c: string) => (out += c));
    p.stderr?.setEncoding("utf8").on("data", (c: string) => (out += c));
    p.once("exit", () => writeFileSync(join(dir, log), out));
    procs.push(p);
    return p;
  };
  t.after(async () => {
    // SIGINT stops the agent's tasks before it leaves; then the server.
    for (const p of procs.reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      p.kill("SIGINT");
      await Promise.race([new Promise((r) => p.once("exit", r)), new Promise((r) => setTimeout(r, 15_000))]);
      p.kill("SIGKILL");
    }
  });
  daemon(["server", "--data", join(dir, "server"), "--listen", `127.0.0.1:${port}`], "server.log");
  await waitFor("the server's join token", 30_000, () => {
    try {
      return readFileSync(join(dir, "server", "join.token"), "utf8").trim() !== "";
    } catch {
      return false;
    }
  });
  daemon(["agent", "--server", addr, "--join-token-file", join(dir, "server", "join.token"), "--data", join(dir, "agent"), "--name", "pkg-1", "--allow-unsandboxed"], "agent.log");
  const env = { ...userEnv, TIFFIN_ADDR: addr, TIFFIN_TOKEN: readFileSync(join(dir, "server", "admin.token"), "utf8").trim() };
  await waitFor("the agent to join", 60_000, () => /pkg-1\s+\S+\s+up\b/.test(run("tiffin", ["hosts"], { env }).out));
  const specs = join(dir, "specs");
  mkdirSync(specs);
  writeFileSync(
    join(specs, "hello.ts"),
    `import { job } from "tiffin";\nconst greeting: string = "hello from";\nexport default job({ name: "hello", command: ["sh", "-c", \`echo ${"${greeting}"} $TASK_ID; exec sleep 300\`], isolation: "none", resources: { cpu: 0.1, memory: "32Mi" } });\n`,
  );
  ok(run("tiffin", ["apply", "hello.ts"], { cwd: specs, env, timeoutMs: 120_000 }), "tiffin apply hello.ts");
  await waitFor("the task's log", 30_000, () => run("tiffin", ["logs", "hello/0"], { env }).out.includes("hello from hello/0"));
  assert.match(readFileSync(join(dir, "agent", "agent.json"), "utf8"), /pkg-1/);
  // The installed server serves the dashboard the package ships (web/dist), script and all.
  const page = await fetch(`${addr}/ui/`);
  assert.equal(page.status, 200, "the installed server serves /ui/");
  const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
  assert.ok(script, "the page names its script");
  assert.equal((await fetch(`${addr}${script}`)).status, 200, `${script} is served`);
  // SIGTERM to the first process (what systemd sends to a unit's main pid) reaches the server, which
  // stops and exits 0.
  const server = procs[0]!;
  const exited = new Promise<number | null>((r) => server.once("exit", (c) => r(c)));
  server.kill("SIGTERM");
  assert.equal(await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("still running after 15 s"), 15_000))]), 0, "the server stopped on SIGTERM");
});

void test("a user's spec repository gets the types with `npm install --save-dev` and a standard tsconfig", { timeout: 180_000 }, (t) => {
  if (skipIfUnavailable(t)) return;
  const repo = join(dir, "user-repo");
  mkdirSync(repo);
  writeFileSync(join(repo, "package.json"), JSON.stringify({ name: "my-specs", private: true, type: "module" }));
  ok(run("npm", ["install", "--save-dev", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: repo, timeoutMs: 300_000 }), "npm install --save-dev");
  writeFileSync(join(repo, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "es2022", module: "nodenext", strict: true, noEmit: true }, include: ["*.ts"] }));
  writeFileSync(join(repo, "web.ts"), `import { job, http } from "tiffin";\nexport default job({ name: "web", command: ["web"], replicas: 2, ports: { http: {} }, health: http({ port: "http" }) });\n`);
  // The user's own TypeScript: this repository's compiler, run in the user's folder.
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  ok(run(process.execPath, [tsc, "-p", "."], { cwd: repo }), "tsc in the user's repository");
  writeFileSync(join(repo, "typo.ts"), `import { job } from "tiffin";\nexport default job({ name: "web", command: ["web"], replicas: "two" });\n`);
  const bad = run(process.execPath, [tsc, "-p", "."], { cwd: repo });
  assert.equal(bad.code, 2, `a wrong field type fails the user's type-check:\n${bad.out}`);
  assert.match(bad.out, /typo\.ts\(2,\d+\): error TS2322/);
});
