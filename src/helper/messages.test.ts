import assert from "node:assert/strict";
import { test } from "node:test";
import { parseHelperConfig } from "./config.ts";
import { LineSplitter, parseAgentMessage, parseHelperMessage } from "./messages.ts";

void test("parseAgentMessage accepts the protocol and nothing else", () => {
  const cases: [string, string, unknown][] = [
    ["ping", `{"type":"ping"}`, { type: "ping" }],
    ["ping with awayUntil", `{"type":"ping","awayUntil":123}`, { type: "ping", awayUntil: 123 }],
    ["ping with bad awayUntil", `{"type":"ping","awayUntil":"soon"}`, null],
    ["ping answering probe 7", `{"type":"ping","seq":7}`, { type: "ping", seq: 7 }],
    ["ping with both", `{"type":"ping","awayUntil":123,"seq":7}`, { type: "ping", awayUntil: 123, seq: 7 }],
    ["ping with bad seq", `{"type":"ping","seq":1.5}`, null],
    ["stop", `{"type":"stop","reason":"rollout"}`, { type: "stop", reason: "rollout" }],
    ["deliberate stop", `{"type":"stop","reason":"rollout","deliberate":true}`, { type: "stop", reason: "rollout", deliberate: true }],
    ["stop without reason", `{"type":"stop"}`, null],
    ["ack", `{"type":"ack"}`, { type: "ack" }],
    ["unknown type", `{"type":"reboot"}`, null],
    ["not json", `ping`, null],
    ["json null", `null`, null],
  ];
  for (const [name, line, want] of cases) assert.deepEqual(parseAgentMessage(line), want, name);
});

void test("parseHelperMessage (the agent's check of what a helper sends) takes a full status and nothing else", () => {
  const status = { attemptId: "a1", state: "running", helperPid: 10, pid: 11, exitCode: null, signal: null, reason: null, startedAt: 1, endedAt: null };
  const line = (s: unknown): string => JSON.stringify({ type: "status", status: s });
  assert.deepEqual(parseHelperMessage(line(status)), { type: "status", status });
  assert.deepEqual(parseHelperMessage(line({ ...status, endCause: "oom", usage: null })), { type: "status", status: { ...status, endCause: "oom", usage: null } });
  for (const [name, bad] of [
    ["unknown state", { ...status, state: "dancing" }],
    ["pid as text", { ...status, pid: "11" }],
    ["missing exitCode", { ...status, exitCode: undefined }],
    ["unknown end cause", { ...status, endCause: "gremlins" }],
  ] as const) assert.equal(parseHelperMessage(line(bad)), null, name);
  assert.equal(parseHelperMessage(`{"type":"status"`), null, "torn line");
});

void test("LineSplitter joins chunks into lines and refuses endless lines", () => {
  const s = new LineSplitter(10);
  assert.deepEqual(s.push(`{"a"`), []);
  assert.deepEqual(s.push(`:1}\n\n{"b":2}\n{"c`), [`{"a":1}`, `{"b":2}`]);
  assert.deepEqual(s.push(`":3}\n`), [`{"c":3}`]);
  assert.equal(s.push("x".repeat(11)), null);
});

void test("parseHelperConfig names every problem", () => {
  const r = parseHelperConfig({ attemptId: "", command: [], env: { A: 1 }, fenceMs: 0 });
  assert.equal(r.ok, false);
  if (r.ok) return;
  for (const field of ["attemptId", "command", "env", "files", "ports", "stop", "fenceMs", "logSegmentBytes", "logSegmentsKept"]) {
    assert.ok(
      r.problems.some((p) => p.startsWith(`attempt.json: ${field}:`) || p.startsWith(`attempt.json: ${field}.`)),
      `${field} reported in ${r.problems.join("; ")}`,
    );
  }
});

void test("parseHelperConfig checks a sandbox whole, its optional fields too", () => {
  const runtime = { name: "crun", path: "/usr/bin/crun", version: "1.8", rootless: false, stateDir: null };
  const sandbox = { runtime, network: "host", readOnlyPaths: [], mounts: [], limits: { cpu: 1, memoryMiB: 64, pids: 100 }, cgroupParent: "/tiffin" };
  const base = {
    attemptId: "a1", job: "web", index: 0, command: ["sleep", "1"], env: {}, files: {}, ports: {}, health: null,
    stop: { signal: "SIGTERM", graceMs: 1000 }, fenceMs: 5000, logSegmentBytes: 1 << 20, logSegmentsKept: 3,
  };
  assert.ok(parseHelperConfig({ ...base, sandbox }).ok);
  assert.ok(parseHelperConfig({ ...base, sandbox: { ...sandbox, user: { uid: 65534, gid: 65534, userns: null }, capabilities: ["CAP_CHOWN"], stateDir: null } }).ok);
  const cases: [string, unknown, string][] = [
    ["a uid that is text", { ...sandbox, user: { uid: "root", gid: 0, userns: null } }, "sandbox.user.uid"],
    ["capabilities as one string", { ...sandbox, capabilities: "CAP_SYS_ADMIN" }, "sandbox.capabilities"],
    ["hidden paths as an object", { ...sandbox, hiddenPaths: { a: 1 } }, "sandbox.hiddenPaths"],
    ["a relative cgroup parent", { ...sandbox, cgroupParent: "tiffin" }, "sandbox.cgroupParent"],
  ];
  for (const [name, sb, path] of cases) {
    const r = parseHelperConfig({ ...base, sandbox: sb });
    assert.equal(r.ok, false, name);
    if (!r.ok) assert.ok(r.problems.some((p) => p.startsWith(`attempt.json: ${path}`)), `${name}: ${r.problems.join("; ")}`);
  }
  const bad = parseHelperConfig({ ...base, health: { kind: "http", port: "web" } });
  assert.equal(bad.ok, false, "a health check without its timing");
});
