// The exec session's lines checked by schema, by table: each shape of ExecInput and ExecFrame taken,
// a field missing or of the wrong type refused (the agent drops such a line instead of acting on it).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseExecFrame, parseExecInput } from "./exec-wire.ts";

void test("parseExecInput takes the protocol's input lines and nothing else", () => {
  const cases: [string, unknown, boolean][] = [
    ["stdin", { type: "stdin", data: "aGk=" }, true],
    ["eof", { type: "eof" }, true],
    ["resize", { type: "resize", cols: 80, rows: 24 }, true],
    ["signal", { type: "signal", signal: "SIGINT" }, true],
    ["stdin without data", { type: "stdin" }, false],
    ["stdin with a number", { type: "stdin", data: 5 }, false],
    ["resize with text sizes", { type: "resize", cols: "80", rows: 24 }, false],
    ["resize to zero", { type: "resize", cols: 0, rows: 24 }, false],
    ["an unknown type", { type: "teleport" }, false],
    ["an output frame", { type: "exit", code: 0, signal: null }, false],
  ];
  for (const [name, v, ok] of cases) assert.equal(parseExecInput(JSON.stringify(v)) !== null, ok, name);
  assert.equal(parseExecInput("{\"type\":"), null, "not JSON");
});

void test("parseExecFrame takes the protocol's output lines and nothing else", () => {
  const cases: [string, unknown, boolean][] = [
    ["stdout", { type: "stdout", data: "aGk=" }, true],
    ["stderr", { type: "stderr", data: "" }, true],
    ["exit", { type: "exit", code: null, signal: "SIGKILL" }, true],
    ["error", { type: "error", message: "gone" }, true],
    ["exit without signal", { type: "exit", code: 0 }, false],
    ["error without message", { type: "error" }, false],
    ["an input line", { type: "eof" }, false],
  ];
  for (const [name, v, ok] of cases) assert.equal(parseExecFrame(JSON.stringify(v)) !== null, ok, name);
});
