import { afterEach, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCodes, TiffinError } from "../model/index.ts";
import { job } from "./index.ts";
import { displayPath } from "./evaluate.ts";
import { loadSpecFile } from "./load.ts";
import { validateJobSpec } from "./validate.ts";

let dir = "";
let bundles = "";
const savedTmp = process.env["TMPDIR"];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tiffin-load-test-"));
  // Bundles go to os.tmpdir(); point it at a folder of our own to see that they are removed.
  bundles = join(dir, "tmp");
  mkdirSync(bundles);
  process.env["TMPDIR"] = bundles;
});

afterEach(() => {
  if (savedTmp === undefined) delete process.env["TMPDIR"];
  else process.env["TMPDIR"] = savedTmp;
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function loadError(path: string): Promise<TiffinError> {
  try {
    await loadSpecFile(path);
  } catch (err) {
    assert.ok(err instanceof TiffinError, String(err));
    return err;
  }
  assert.fail("expected the load to fail");
}

void test("the sketch example and its team defaults load through esbuild", async () => {
  // From the repository (testdata/sketch), copied to a temp dir: nothing outside the checkout is read.
  for (const f of ["tiffin.ts", "team-defaults.ts"]) copyFileSync(join(import.meta.dirname, "testdata", "sketch", f), join(dir, f));
  const specs = await loadSpecFile(join(dir, "tiffin.ts"));
  assert.deepEqual(specs.map((s) => s.name), ["frontend", "indexer"]);
  const [frontend, indexer] = specs;
  // From team-defaults.ts, through the spread:
  assert.deepEqual(frontend?.resources, { cpu: 0.5, memoryMiB: 256, diskMiB: 1024 });
  assert.deepEqual(frontend?.restart, { backoffInitialMs: 200, backoffMaxMs: 30_000, moveAfterFailures: 5 });
  assert.equal(frontend?.health?.kind, "http");
  assert.deepEqual(frontend?.packages, ["frontend:stable"]);
  assert.deepEqual(indexer?.disconnect, { stopAfterMs: 4000 });
  assert.deepEqual(indexer?.resources, { cpu: 2, memoryMiB: 4096, diskMiB: 256 });
  for (const s of specs) assert.deepEqual(validateJobSpec(s), []);
  assert.deepEqual(readdirSync(bundles), [], "the temp bundle is removed");
});

void test("the examples `tiffin dev` applies (examples/tiffin.ts) load, valid, with their files", async () => {
  const specs = await loadSpecFile(join(import.meta.dirname, "..", "..", "examples", "tiffin.ts"));
  assert.deepEqual(specs.map((s) => s.name), ["web", "worker"]);
  for (const s of specs) assert.deepEqual(validateJobSpec(s), [], s.name);
  assert.match(specs[0]?.files["server.mjs"]?.content ?? "", /createServer/);
});

void test("a spec runs in its own process: it cannot touch the CLI's globals, and the job()/defaults() marks cross over", async () => {
  const path = write(
    "spec.ts",
    `import { defaults, job } from "tiffin";
     (globalThis as Record<string, unknown>)["__tiffinJobFn"] = job;
     const web = defaults({ replicas: 2 });
     export default [job({ ...web, name: "a", command: ["./a"] }), web];`,
  );
  const e = await loadError(path);
  assert.equal((globalThis as Record<string, unknown>)["__tiffinJobFn"], undefined);
  assert.deepEqual(e.problems.map((p) => [p.path, p.message]), [["jobs[1]", "this is a defaults(...) value, not a job: spread it into job({ ...defaults, name, command })"]]);
  assert.equal(typeof job, "function");
});

void test("JSON and YAML specs load", async () => {
  const json = write("spec.json", JSON.stringify([{ name: "a", command: ["./a"], resources: { memory: "1Gi" } }]));
  assert.equal((await loadSpecFile(json))[0]?.resources.memoryMiB, 1024);
  const yaml = write(
    "spec.yaml",
    `defaults: &web
  resources: { cpu: 0.5, memory: 256Mi }
  spread: cluster
---
name: b
<<: *web
command: [./b, --port, "\${PORT_HTTP}"]
ports: { http: {} }
health: { kind: http, port: http, path: /healthz, every: 2s }
---
name: c
command: ./c --once
`,
  );
  // Anchors do not cross documents: a load error, not a crash.
  const e = await loadError(yaml);
  assert.equal(e.code, ErrorCodes.SpecLoad);
  assert.match(e.message, /spec\.yaml: invalid YAML/);
  const yaml2 = write(
    "spec.yml",
    `- &web { name: b, command: [./b], resources: { cpu: 0.5, memory: 256Mi }, spread: cluster }
- { <<: *web, name: c, command: ./c --once }
`,
  );
  const specs = await loadSpecFile(yaml2);
  assert.deepEqual(specs.map((s) => [s.name, s.spread, s.resources.memoryMiB, s.command]), [
    ["b", "cluster", 256, ["./b"]],
    ["c", "cluster", 256, ["/bin/sh", "-c", "./c --once"]],
  ]);
});

void test("several YAML documents are several jobs", async () => {
  const path = write("multi.yaml", "name: a\ncommand: [./a]\n---\nname: b\ncommand: [./b]\nreplicas: 3\n");
  assert.deepEqual((await loadSpecFile(path)).map((s) => [s.name, s.replicas]), [["a", 1], ["b", 3]]);
});

void test("an invalid spec reports every problem with the file, path and value", async () => {
  const path = write(
    "spec.ts",
    `import { job } from "tiffin";
     export default [
       job({ name: "a", command: ["./a"] }),
       job({ name: "b", command: ["./b"], resources: { memory: "512MB" }, spread: "planet" as "rack" }),
     ];`,
  );
  const e = await loadError(path);
  assert.equal(e.code, ErrorCodes.SpecInvalid);
  assert.deepEqual(
    e.problems.map((p) => [p.file, p.path, p.value]),
    [
      [displayPath(path), "jobs[1].resources.memory", '"512MB"'],
      [displayPath(path), "jobs[1].spread", '"planet"'],
    ],
  );
  assert.match(e.message, /2 problems/);
});

void test("a spec that throws names the file and line, without a stack trace", async () => {
  const path = write("throws.ts", `import { job } from "tiffin";\nconst x: number = 1;\nthrow new Error("no database configured " + x);\nexport default job({ name: "a", command: ["a"] });\n`);
  const e = await loadError(path);
  assert.equal(e.code, ErrorCodes.SpecLoad);
  assert.match(e.message, /throws\.ts:3: the spec threw while being evaluated: no database configured 1/);
  assert.doesNotMatch(e.message, /\n\s+at /);
  assert.deepEqual(readdirSync(bundles), []);
});

void test("an error thrown in an imported module names that module", async () => {
  write("shared.ts", `export function pick(): string {\n  throw new TypeError("bad team");\n}\n`);
  const path = write("spec.ts", `import { job } from "tiffin";\nimport { pick } from "./shared";\nexport default job({ name: pick(), command: ["a"] });\n`);
  const e = await loadError(path);
  assert.match(e.message, /shared\.ts:2: the spec threw while being evaluated: TypeError: bad team/);
});

void test("a syntax error names the file, line and column", async () => {
  const path = write("broken.ts", `import { job } from "tiffin";\nexport default job({ name: "a", command: ["a"] ;\n`);
  const e = await loadError(path);
  assert.equal(e.code, ErrorCodes.SpecLoad);
  assert.match(e.message, /broken\.ts:2:\d+: Expected/);
  assert.notEqual(e.hint, null);
});

void test("a missing import, a missing file, an unknown type and bad JSON/YAML are load errors", async () => {
  const missingImport = write("spec.ts", `import { web } from "./nope";\nexport default web;\n`);
  assert.match((await loadError(missingImport)).message, /spec\.ts:1:\d+: Could not resolve "\.\/nope"/);
  const missing = await loadError(join(dir, "absent.ts"));
  assert.equal(missing.code, ErrorCodes.SpecLoad);
  assert.match(missing.message, /absent\.ts: no such file/);
  assert.match((await loadError(write("spec.txt", "x"))).message, /unsupported spec file type/);
  assert.match((await loadError(write("bad.json", "{ \"name\": }"))).message, /bad\.json: invalid JSON/);
  const yaml = await loadError(write("bad.yaml", "name: a\ncommand: [a\n"));
  assert.equal(yaml.code, ErrorCodes.SpecLoad);
  assert.match(yaml.message, /bad\.yaml:\d+:\d+: invalid YAML/);
});

void test("a file without a default export is explained", async () => {
  const e = await loadError(write("spec.mjs", `export const x = 1;\n`));
  assert.equal(e.code, ErrorCodes.SpecInvalid);
  assert.match(e.problems[0]?.message ?? "", /exports no job/);
});

void test("import.meta.dirname in a spec and in the modules it imports names each file's real folder", async () => {
  mkdirSync(join(dir, "shared"));
  writeFileSync(join(dir, "shared", "prog.txt"), "shared program");
  write("prog.txt", "main program");
  writeFileSync(
    join(dir, "shared", "lib.ts"),
    'import { readFileSync } from "node:fs";\nimport { join } from "node:path";\nexport const shared = readFileSync(join(import.meta.dirname, "prog.txt"), "utf8");\n',
  );
  const path = write(
    "spec.ts",
    'import { readFileSync } from "node:fs";\nimport { job } from "tiffin";\nimport { shared } from "./shared/lib.ts";\n' +
      'export default job({ name: "x", command: ["true"], env: { MAIN: readFileSync(new URL("./prog.txt", import.meta.url), "utf8"), SHARED: shared } });\n',
  );
  const [spec] = await loadSpecFile(path);
  assert.equal(spec?.env["MAIN"], "main program");
  assert.equal(spec?.env["SHARED"], "shared program");
});

void test("a spec that never finishes evaluating is a load error, at once or after the timeout, not a hang", async () => {
  const unsettled = write("unsettled.ts", 'import { job } from "tiffin";\nawait new Promise(() => {});\nexport default job({ name: "a", command: ["a"] });\n');
  const hangs = write("hangs.ts", 'import { job } from "tiffin";\nsetInterval(() => {}, 1000);\nawait new Promise(() => {});\nexport default job({ name: "a", command: ["a"] });\n');
  const saved = process.env["TIFFIN_SPEC_TIMEOUT_MS"];
  // The unsettled await is found at once whatever the timeout: a long one keeps a loaded machine's
  // slow evaluation from reaching it first; the endless loop needs the short one.
  process.env["TIFFIN_SPEC_TIMEOUT_MS"] = "20000";
  try {
    const e = await loadError(unsettled);
    assert.equal(e.code, ErrorCodes.SpecLoad);
    assert.match(e.message, /unsettled\.ts: the spec never finished evaluating: a top-level await never settled/);
    process.env["TIFFIN_SPEC_TIMEOUT_MS"] = "300";
    const h = await loadError(hangs);
    assert.equal(h.code, ErrorCodes.SpecLoad);
    assert.match(h.message, /hangs\.ts: the spec did not finish evaluating within 300 ms/);
  } finally {
    if (saved === undefined) delete process.env["TIFFIN_SPEC_TIMEOUT_MS"];
    else process.env["TIFFIN_SPEC_TIMEOUT_MS"] = saved;
  }
  assert.deepEqual(readdirSync(bundles), []);
});

void test("a JSON or YAML spec that starts with a byte-order mark loads (issue 10 item 12)", async () => {
  const json = write("bom.json", `\uFEFF${JSON.stringify({ name: "a", command: ["./a"] })}`);
  assert.deepEqual((await loadSpecFile(json)).map((s) => s.name), ["a"]);
  const yaml = write("bom.yaml", "\uFEFFname: b\ncommand: [./b]\n");
  assert.deepEqual((await loadSpecFile(yaml)).map((s) => s.name), ["b"]);
});

void test("a large non-ASCII value crosses from the evaluator intact (no character cut at a pipe chunk)", async () => {
  const text = "é🙂ü".repeat(60_000);
  const path = write("utf8.ts", `import { job } from "tiffin";\nexport default job({ name: "a", command: ["a"], files: { "t.txt": ${JSON.stringify(text)} } });\n`);
  const [spec] = await loadSpecFile(path);
  assert.equal(spec?.files["t.txt"]?.content, text);
});
