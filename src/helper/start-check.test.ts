import { test } from "node:test";
import assert from "node:assert/strict";
import { incurableStartProblems, isIncurableError } from "./start-check.ts";

void test("incurableStartProblems names each field the kernel would refuse", () => {
  const ok = { command: ["sh", "-c", "x".repeat(131_071)], env: { PATH: "/bin" }, files: { "a/b": { content: "", mode: 0o644 }, "a/c": { content: "", mode: 0o644 } } };
  assert.deepEqual(incurableStartProblems(ok), []);
  const bad = {
    command: ["sh\0", "x".repeat(131_072)],
    env: { A: "a\0", B: "y".repeat(131_070) },
    files: { a: { content: "", mode: 0o644 }, "a/b": { content: "", mode: 0o644 }, ["n".repeat(256)]: { content: "", mode: 0o644 } },
  };
  assert.deepEqual(
    incurableStartProblems(bad).map((p) => p.split(":")[0]),
    ["command[0]", "command[1]", "env.A", "env.B", `files["${"n".repeat(256)}"]`, 'files["a/b"]'],
  );
});

void test("isIncurableError: what every retry would meet again, not what another host or a later try may not", () => {
  const cases: [unknown, boolean][] = [
    [Object.assign(new Error("x"), { code: "E2BIG" }), true],
    [Object.assign(new Error("x"), { code: "ENAMETOOLONG" }), true],
    [Object.assign(new Error("x"), { code: "ENOTDIR" }), true],
    [Object.assign(new TypeError("x"), { code: "ERR_INVALID_ARG_VALUE" }), true],
    [Object.assign(new Error("x"), { code: "ENOENT" }), false],
    [Object.assign(new Error("x"), { code: "EACCES" }), false],
    [Object.assign(new Error("x"), { code: "ENOSPC" }), false],
    [new Error("no code"), false],
    [null, false],
  ];
  for (const [e, want] of cases) assert.equal(isIncurableError(e), want, String((e as { code?: string } | null)?.code));
});
