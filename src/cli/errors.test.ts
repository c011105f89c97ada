import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorCodes, TiffinError } from "../model/errors.ts";
import { startFakeApi } from "../api/fake.ts";
import { exitCodeFor, formatError } from "./errors.ts";
import { memoryIo } from "./io.ts";
import { main } from "./main.ts";

void test("a TiffinError prints code, message, each problem with file/path/value, and the hint; no stack", () => {
  const err = new TiffinError(ErrorCodes.SpecInvalid, "tiffin.ts has 2 problems", {
    hint: "see the JSON schema",
    problems: [
      { file: "tiffin.ts", path: "jobs[0].resources.memory", message: "expected a size", value: '"512MB"' },
      { file: "tiffin.ts", path: "jobs[1].name", message: "required", value: null },
    ],
  });
  assert.equal(
    formatError(err),
    [
      "error[TIFFIN_SPEC_INVALID]: tiffin.ts has 2 problems",
      '  tiffin.ts: jobs[0].resources.memory: expected a size (got "512MB")',
      "  tiffin.ts: jobs[1].name: required",
      "hint: see the JSON schema",
      "",
    ].join("\n"),
  );
  assert.doesNotMatch(formatError(err), /\bat .*\.ts:\d+/);
});

void test("exit codes: 2 for spec, usage and too-large errors, 1 for the rest", () => {
  const cases: [unknown, number][] = [
    [new TiffinError(ErrorCodes.SpecInvalid, "x"), 2],
    [new TiffinError(ErrorCodes.SpecLoad, "x"), 2],
    [new TiffinError(ErrorCodes.Usage, "x"), 2],
    // The request is too large for the server: the user's spec or upload must change (issue 10 item 8).
    [new TiffinError(ErrorCodes.TooLarge, "x"), 2],
    [new TiffinError(ErrorCodes.Unavailable, "x"), 1],
    [new TiffinError(ErrorCodes.Timeout, "x"), 1],
    [new Error("bug"), 1],
  ];
  for (const [err, code] of cases) assert.equal(exitCodeFor(err), code, String(err));
});

void test("a bug shows its stack only with TIFFIN_DEBUG", () => {
  const err = new Error("boom");
  assert.doesNotMatch(formatError(err), /errors\.test\.ts/);
  assert.match(formatError(err, true), /errors\.test\.ts/);
});

void test("`tiffin plan` of an invalid spec: exit 2, every problem with its file and value, nothing sent", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tiffin-cli-err-"));
  // A fake with no routes: any request that reached it would fail the command, so "nothing is sent" is shown.
  const api = await startFakeApi({});
  t.after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await api.close();
  });
  const file = join(dir, "bad.ts");
  writeFileSync(file, `import { job } from "tiffin";\nexport default job({ name: "web", command: ["x"], resources: { memory: "512MB" }, replicas: -1 } as never);\n`);
  const io = memoryIo({ TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_HOME: dir });
  const code = await main(["plan", file], io);
  assert.equal(code, 2);
  assert.match(io.stderr, /^error\[TIFFIN_SPEC_INVALID\]: /);
  assert.match(io.stderr, /bad\.ts: .*resources\.memory: .*\(got "512MB"\)/);
  assert.match(io.stderr, /replicas/);
  assert.doesNotMatch(io.stderr, /\n\s+at /, "no stack trace");
  assert.equal(io.stdout, "");
  assert.equal(api.requests.length, 0, "nothing was sent to the server");
});

void test("unknown options and missing arguments are usage errors (exit 2)", async () => {
  for (const argv of [["status"], ["jobs", "--nope"], ["frobnicate"]]) {
    const io = memoryIo({ TIFFIN_HOME: "/nonexistent" });
    assert.equal(await main(argv, io), 2, argv.join(" "));
    assert.match(io.stderr, /^error\[TIFFIN_USAGE\]: /, argv.join(" "));
    assert.match(io.stderr, /hint: run `tiffin --help`/);
  }
});

void test("--help prints usage and exits 0", async () => {
  const io = memoryIo({});
  assert.equal(await main(["--help"], io), 0);
  assert.match(io.stdout, /Usage: tiffin/);
  assert.match(io.stdout, /apply/);
  assert.doesNotMatch(io.stdout, /helper/, "the helper command is hidden");
});

void test("a server error is printed with its code and hint, exit 1", async (t) => {
  // A scripted fake (src/api/fake.ts): the exact bytes of an error body, so the printed line can be
  // compared whole. Real servers' errors through argv: src/cli/argv.test.ts (pkg rm of a missing version).
  const api = await startFakeApi({
    "GET /v1/jobs/nope": { status: 404, body: { error: { code: "TIFFIN_NOT_FOUND", message: 'no job "nope"', hint: "`tiffin jobs` lists them", problems: [] } } },
  });
  t.after(() => api.close());
  const io = memoryIo({ TIFFIN_ADDR: api.url, TIFFIN_TOKEN: "t", TIFFIN_HOME: "/nonexistent" });
  assert.equal(await main(["status", "nope"], io), 1);
  assert.equal(io.stderr, 'error[TIFFIN_NOT_FOUND]: no job "nope"\nhint: `tiffin jobs` lists them\n');
});

void test("a refused token says where the token came from", async (t) => {
  // A fake that refuses every token: only the CLI's hint is under test, not the server's check.
  const api = await startFakeApi({
    "GET /v1/jobs": { status: 401, body: { error: { code: "TIFFIN_UNAUTHORIZED", message: "bad token", hint: null, problems: [] } } },
  });
  t.after(() => api.close());
  const io = memoryIo({ TIFFIN_ADDR: api.url, TIFFIN_HOME: "/nonexistent" });
  assert.equal(await main(["jobs"], io), 1);
  assert.match(io.stderr, /hint: no token given: set TIFFIN_TOKEN/);
});

void test("problems already listed in the message are not printed twice", () => {
  const p = { file: "a.ts", path: "replicas", message: "too small", value: "-1" };
  const err = new TiffinError(ErrorCodes.SpecInvalid, "a.ts: 1 problem in the spec:\n  a.ts: replicas: too small (got -1)", { problems: [p] });
  assert.equal(formatError(err), "error[TIFFIN_SPEC_INVALID]: a.ts: 1 problem in the spec:\n  a.ts: replicas: too small (got -1)\n");
});
