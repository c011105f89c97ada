import assert from "node:assert/strict";
import { test } from "node:test";
import { expand, helperConfig, LOG_SEGMENT_BYTES, LOG_SEGMENTS_KEPT, portVar } from "./config.ts";
import { testAssignment, testSpec } from "./test-fixtures.ts";

const expandCases: { text: string; vars: Record<string, string>; want: string }[] = [
  { text: "--port=${PORT_HTTP}", vars: { PORT_HTTP: "20001" }, want: "--port=20001" },
  { text: "${TASK_INDEX}-${TASK_INDEX}", vars: { TASK_INDEX: "3" }, want: "3-3" },
  { text: "${UNKNOWN} stays", vars: {}, want: "${UNKNOWN} stays" },
  { text: "$TASK_INDEX is not a placeholder", vars: { TASK_INDEX: "3" }, want: "$TASK_INDEX is not a placeholder" },
  { text: "", vars: { A: "b" }, want: "" },
];
for (const c of expandCases) void test(`expand: ${JSON.stringify(c.text)}`, () => assert.equal(expand(c.text, c.vars), c.want));

const portCases: [string, string][] = [
  ["http", "PORT_HTTP"],
  ["admin-api", "PORT_ADMIN_API"],
  ["Metrics2", "PORT_METRICS2"],
];
for (const [name, want] of portCases) void test(`portVar(${name})`, () => assert.equal(portVar(name), want));

void test("helperConfig expands the command and assembles the environment", () => {
  const spec = testSpec({
    name: "api",
    command: ["srv", "--listen=:${PORT_HTTP}", "--id=${ATTEMPT_ID}", "--i=${TASK_INDEX}", "${NOPE}"],
    env: { URL: "http://x:${PORT_HTTP}/", PATH: "/job/bin", TASK_INDEX: "spoofed" },
    ports: ["http"],
    files: { "a.txt": { content: "hi", mode: 0o600 } },
  });
  const a = testAssignment("att-1", spec, { index: 2, version: 7 });
  const cfg = helperConfig(a, { ports: { http: 20005 }, hostName: "box", fenceMs: 9000, agentEnv: { PATH: "/usr/bin", HOME: "/root", SECRET: "x", LANG: "C.UTF-8" } });
  assert.deepEqual(cfg.command, ["srv", "--listen=:20005", "--id=att-1", "--i=2", "${NOPE}"]);
  assert.deepEqual(cfg.env, {
    PATH: "/job/bin",
    HOME: "/root",
    LANG: "C.UTF-8",
    URL: "http://x:20005/",
    TASK_INDEX: "2",
    TASK_ID: "api/2",
    JOB_NAME: "api",
    JOB_NAMESPACE: "default",
    JOB_VERSION: "7",
    ATTEMPT_ID: "att-1",
    HOST_NAME: "box",
    PORT_HTTP: "20005",
  });
  assert.equal((cfg.env as Record<string, string>)["SECRET"], undefined);
  assert.deepEqual(cfg.files, { "a.txt": { content: "hi", mode: 0o600 } });
  assert.deepEqual(cfg.ports, { http: 20005 });
  assert.equal(cfg.fenceMs, 9000);
  assert.deepEqual(cfg.stop, { signal: "SIGTERM", graceMs: 2000 });
  assert.equal(cfg.logSegmentBytes, LOG_SEGMENT_BYTES);
  assert.equal(cfg.logSegmentsKept, LOG_SEGMENTS_KEPT);
  assert.equal(LOG_SEGMENT_BYTES, 8 * 1024 * 1024);
  assert.equal(LOG_SEGMENTS_KEPT, 5);
});

void test("helperConfig: a job of another namespace sees its name, never the internal id", () => {
  const a = testAssignment("att-2", testSpec({ name: "api.team-a" }), { index: 2, version: 1 });
  const env = helperConfig(a, { ports: {}, hostName: "box", fenceMs: 9000, agentEnv: {} }).env as Record<string, string>;
  assert.deepEqual([env["TASK_ID"], env["JOB_NAME"], env["JOB_NAMESPACE"]], ["api/2", "api", "team-a"]);
});
