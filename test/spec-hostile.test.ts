// Hostile spec files through the real `tiffin` command (issue 10, item 10): whatever a spec does while
// it is evaluated (hang, exit, throw oddly, allocate without end, print), `plan` and `apply` end with
// exit 2 naming the file (and the line where it is known), print no Node stack, keep stdout clean
// and leave no bundle behind.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeApi } from "../src/api/fake.ts";
import type { FakeApi } from "../src/api/fake.ts";

const bin = fileURLToPath(new URL("../bin/tiffin.js", import.meta.url));
let dir = "";
let tmp = "";
let api: FakeApi;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tiffin-hostile-"));
  tmp = join(dir, "tmp");
  mkdirSync(tmp);
  api = await startFakeApi({
    "POST /v1/plan": (_req, res, body) => {
      const spec = (JSON.parse(body) as { spec: { name: string } }).spec;
      res.end(JSON.stringify({ name: spec.name, current: null, version: 1, changed: true, diff: [], placements: [], unplaced: [] }));
    },
    "POST /v1/jobs": (_req, res, body) => {
      const spec = (JSON.parse(body) as { spec: { name: string } }).spec;
      res.end(JSON.stringify({ name: spec.name, version: 1, changed: true, revision: 1 }));
    },
  });
});
after(async () => {
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `tiffin ARGS` with a fresh HOME and TMPDIR; kills it after `limitMs` (a hang). */
function tiffin(args: string[], env: Record<string, string> = {}, limitMs = 60_000): Promise<Run> {
  const started = Date.now();
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: dir,
    env: { ...process.env, HOME: dir, TMPDIR: tmp, TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_HOME: join(dir, "home"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
  return new Promise((resolve) => {
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

function spec(name: string, body: string): string {
  writeFileSync(join(dir, name), `import { job } from "tiffin";\n${body}\n`);
  return name;
}

const ok = 'export default job({ name: "a", command: ["./a"] });';

/** The failure looks like a Tiffin error: exit 2, the file named, no Node stack, nothing left in TMPDIR. */
function assertSpecError(r: Run, file: string, message: RegExp): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  assert.match(r.stderr, /^error\[TIFFIN_SPEC_LOAD\]: /m, r.stderr);
  assert.ok(r.stderr.includes(file), `names ${file}: ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /\n\s+at .*:\d+:\d+\)?\n|node:internal|bug in tiffin|FATAL ERROR/, r.stderr);
  assert.equal(r.stdout, "");
  assert.deepEqual(readdirSync(tmp), [], "no bundle is left in TMPDIR");
}

void test("a never-settling top-level await ends in exit 2 naming the file, not exit 13", async () => {
  const f = spec("tla.ts", `await new Promise(() => {});\n${ok}`);
  assertSpecError(await tiffin(["plan", f]), "tla.ts", /never finished|top-level await/);
});

void test("a leftover setInterval or open server does not keep the CLI running", async () => {
  const f = spec("interval.ts", `setInterval(() => {}, 1000);\nimport { createServer } from "node:net";\ncreateServer().listen(0, "127.0.0.1");\n${ok}`);
  const r = await tiffin(["plan", f, "--json"], {}, 20_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { name: string }[])[0]?.name, "a");
});

void test("a spec that loops forever is stopped at the time limit: exit 2", async () => {
  const f = spec("loop.ts", `while (true) {}\n${ok}`);
  const r = await tiffin(["plan", f], { TIFFIN_SPEC_TIMEOUT_MS: "1500" }, 30_000);
  assertSpecError(r, "loop.ts", /did not finish evaluating within 1500 ms/);
});

void test("process.exit(0) in a spec makes apply exit 2 naming the line, having applied nothing", async () => {
  const before = api.requests.length;
  const f = spec("exits.ts", `const x = 1;\nif (x) process.exit(0);\n${ok}`);
  assertSpecError(await tiffin(["apply", f, "--no-wait"]), "exits.ts", /exits\.ts:3: .*process\.exit\(0\)/);
  assert.equal(api.requests.length, before, "nothing was sent");
});

void test("throwing getters, Proxies and odd throws are spec errors with the line, not bugs in tiffin", async () => {
  const cases: [string, string, RegExp][] = [
    ["getter.ts", `export default { name: "a", get command(): string[] {\n  throw new Error("no command");\n} };`, /getter\.ts:3: .*no command/],
    ["proxy.ts", `export default new Proxy({}, { ownKeys() {\n  throw new RangeError("trap");\n} });`, /proxy\.ts:3: .*RangeError: trap/],
    ["proto.ts", `export default new Proxy({}, { getPrototypeOf() { throw 7; } });`, /proto\.ts.*threw 7|proto\.ts.*: 7/],
    ["null.ts", `throw null;`, /null\.ts.*null/],
    ["odd.ts", `throw { toString() { throw new Error("x"); } };`, /odd\.ts.*threw/],
    ["symbol.ts", `throw Symbol("s");`, /symbol\.ts.*Symbol\(s\)/],
  ];
  const runs = await Promise.all(cases.map(([f, body]) => tiffin(["plan", spec(f, body)])));
  cases.forEach(([f, , message], i) => assertSpecError(runs[i] as Run, f, message));
});

void test("late throws and unhandled rejections are spec errors without a raw stack", async () => {
  const cases: [string, string, RegExp][] = [
    ["reject.ts", `void Promise.reject(new Error("lost"));\n${ok}`, /reject\.ts:2: .*lost/],
    ["late.ts", `setTimeout(() => {\n  throw new Error("late");\n}, 0);\n${ok}`, /late\.ts:3: .*late/],
  ];
  const runs = await Promise.all(cases.map(([f, body]) => tiffin(["plan", spec(f, body)])));
  cases.forEach(([f, , message], i) => assertSpecError(runs[i] as Run, f, message));
});

void test("unbounded allocation is stopped at the memory limit: exit 2, not SIGABRT", async () => {
  const f = spec("alloc.ts", `const keep: number[][] = [];\nwhile (true) keep.push(new Array(100_000).fill(1));\n${ok}`);
  const r = await tiffin(["plan", f], { TIFFIN_SPEC_MEMORY_MIB: "96" });
  assertSpecError(r, "alloc.ts", /more than 96 MiB/);
  const g = spec("buffers.ts", `const keep: Buffer[] = [];\nwhile (true) keep.push(Buffer.alloc(1 << 24, 1));\n${ok}`);
  assertSpecError(await tiffin(["plan", g], { TIFFIN_SPEC_MEMORY_MIB: "96" }), "buffers.ts", /more than 96 MiB/);
});

void test("console output of a spec goes to stderr, so plan --json stays JSON", async () => {
  const f = spec("chatty.ts", `console.log("hello from the spec");\nprocess.stdout.write("raw\\n");\n${ok}`);
  const r = await tiffin(["plan", f, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { name: string }[])[0]?.name, "a");
  assert.match(r.stderr, /hello from the spec\nraw\n/);
  assert.deepEqual(readdirSync(tmp), []);
});

void test("the spec's process does not outlive a CLI killed with SIGKILL while the spec loops", async () => {
  const f = spec("orphan.ts", `while (true) {}\n${ok}`);
  const child = spawn(process.execPath, [bin, "plan", f], {
    cwd: dir,
    env: { ...process.env, HOME: dir, TMPDIR: tmp, TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_SPEC_TIMEOUT_MS: "600000" },
    stdio: "ignore",
  });
  const pid = child.pid ?? 0;
  const evaluators = (): number[] =>
    readdirSync("/proc")
      .filter((p) => /^\d+$/.test(p))
      .filter((p) => {
        try {
          // The evaluator, not esbuild's service (which ends with its stdin).
          return readFileSync(`/proc/${p}/status`, "utf8").includes(`\nPPid:\t${pid}\n`) && readFileSync(`/proc/${p}/cmdline`, "utf8").includes("--eval");
        } catch {
          return false;
        }
      })
      .map(Number);
  let found: number[] = [];
  for (let i = 0; i < 200 && found.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    found = evaluators();
  }
  assert.ok(found.length > 0, "the evaluator child started");
  const exited = new Promise((r) => child.on("exit", r));
  process.kill(pid, "SIGKILL");
  await exited;
  let alive = found;
  for (let i = 0; i < 100 && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter((p) => {
      try {
        return !readFileSync(`/proc/${p}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
      } catch {
        return false;
      }
    });
  }
  for (const p of alive) process.kill(p, "SIGKILL");
  assert.deepEqual(alive, [], "the evaluator was left running");
});
