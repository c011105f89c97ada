// Parity of the helper's derived checkers (checks.ts: JSON Schema from the zod schemas, checked without
// zod) with zod itself: a corpus of valid attempt.json files, socket messages and statuses, and every
// mutant of each (a field dropped, retyped, out of range, an unknown key added). Both must accept and
// reject the same values, return the same data when they accept (unknown keys stripped), and a
// rejection must name a field on the mutated path.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { z } from "zod";
import { compileJsonSchema } from "../model/json-check.ts";
import type { JsonChecker } from "../model/json-check.ts";
import { helperChecks, schemasBundled } from "./checks.ts";
import { helperConfigSchema } from "./config-schema.ts";
import { deriveHelperJsonSchemas } from "./json-schemas.ts";
import { agentMessageSchema, helperMessageSchema, helperStatusSchema } from "./protocol-schema.ts";

const runtime = { name: "crun", path: "/usr/bin/crun", version: "1.8", rootless: false, stateDir: null };
const sandbox = { runtime, network: "host", readOnlyPaths: ["/opt/node"], mounts: [{ host: "/srv", task: "/data", writable: false }], limits: { cpu: 0.5, memoryMiB: 64, pids: 100 }, cgroupParent: "/tiffin" };
const plain = {
  attemptId: "a1", job: "web", index: 0, command: ["sleep", "1"], env: { A: "1" }, files: { "conf/x": { content: "hi", mode: 420 } }, ports: { web: 8080 },
  health: null, stop: { signal: "SIGTERM", graceMs: 1000 }, fenceMs: 5000, logSegmentBytes: 1 << 20, logSegmentsKept: 3,
};
const timing = { intervalMs: 1000, timeoutMs: 500, failures: 3, graceMs: 0, action: "restart" };
const status = { attemptId: "a1", state: "running", helperPid: 10, pid: 11, exitCode: null, signal: null, reason: null, startedAt: 1, endedAt: null };
const usage = { at: 5, cpuSeconds: 1.5, cpuCores: 0.2, memoryBytes: 1024, memoryPeakBytes: null, pids: 3 };

const corpus: [string, z.ZodType, keyof ReturnType<typeof helperChecks>, unknown][] = [
  ["plain config", helperConfigSchema, "config", plain],
  ["http check", helperConfigSchema, "config", { ...plain, health: { kind: "http", port: "web", path: "/", ...timing } }],
  ["tcp check", helperConfigSchema, "config", { ...plain, health: { kind: "tcp", port: "web", ...timing, action: "move" } }],
  ["command check", helperConfigSchema, "config", { ...plain, health: { kind: "command", run: ["true"], ...timing } }],
  ["sandbox", helperConfigSchema, "config", { ...plain, sandbox }],
  ["sandbox, every option", helperConfigSchema, "config", {
    ...plain, notice: "n", usageSampleMs: 5000, diskLimitMiB: 10, diskCheckMs: 100,
    sandbox: { ...sandbox, user: { uid: 65534, gid: 65534, userns: { hostBase: 1e9, size: 65536 } }, capabilities: ["CAP_CHOWN"], hiddenPaths: ["/x"], stateDir: "/s", layoutCache: "/l" },
  }],
  ["sandbox null", helperConfigSchema, "config", { ...plain, sandbox: null }],
  ["ping", agentMessageSchema, "agentMessage", { type: "ping" }],
  ["ping, all fields", agentMessageSchema, "agentMessage", { type: "ping", awayUntil: 123, seq: 7 }],
  ["stop", agentMessageSchema, "agentMessage", { type: "stop", reason: "r", deliberate: true }],
  ["ack", agentMessageSchema, "agentMessage", { type: "ack" }],
  ["status message", helperMessageSchema, "helperMessage", { type: "status", status }],
  ["final status message", helperMessageSchema, "helperMessage", { type: "status", status: { ...status, state: "failed", endCause: "oom", incurable: true, usage } }],
  ["probe", helperMessageSchema, "helperMessage", { type: "ping", seq: 3 }],
  ["status.json", helperStatusSchema, "status", { ...status, usage }],
];

type Path = (string | number)[];

/** Replacement values: each type, and numbers and strings at and past the usual bounds. */
const replacements: unknown[] = [null, true, 0, -1, 1, 1.5, 99, 2 ** 53, 1e21, "", "x", "/abs", "SIGTERM", "ping", "running", [], ["x"], {}, { a: 1 }];

function* paths(v: unknown, at: Path = []): Generator<Path> {
  yield at;
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* paths(v[i], [...at, i]);
  else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) yield* paths(x, [...at, k]);
}

/** A copy of `v` with the value at `path` replaced (or, with `drop`, removed). */
function mutate(v: unknown, path: Path, to: unknown, drop = false): unknown {
  if (path.length === 0) return to;
  const [head, ...rest] = path;
  const copy = (Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) }) as Record<string | number, unknown>;
  if (drop && rest.length === 0) {
    if (Array.isArray(copy)) copy.splice(head as number, 1);
    else delete copy[head as string];
  } else copy[head as string] = mutate(copy[head as string], rest, to, drop);
  return copy;
}

function* mutants(v: unknown): Generator<[string, unknown, Path]> {
  for (const p of paths(v)) {
    const name = p.join(".") || "(root)";
    if (p.length > 0) yield [`drop ${name}`, mutate(v, p, undefined, true), p];
    for (const r of replacements) yield [`${name} = ${JSON.stringify(r)}`, mutate(v, p, r), p];
    yield [`${name} + unknown key`, mutate(v, [...p, "zz_unknown"], 1), p];
  }
}

function agree(name: string, schema: z.ZodType, check: JsonChecker, value: unknown, mutated: Path): boolean {
  const want = schema.safeParse(value);
  const got = check(value);
  assert.equal(got.ok, want.success, `${name}: zod ${want.success ? "accepts" : "rejects"}, the derived checker ${got.ok ? "accepts" : "rejects"}: ${JSON.stringify(value)}`);
  if (got.ok && want.success) assert.deepEqual(got.value, want.data, `${name}: the same data`);
  if (!got.ok) {
    // On the mutated field, above it, or beside it (a union's tag changed: the new branch's fields).
    const related = (p: Path): boolean => p.every((s, i) => i >= mutated.length || s === mutated[i]) || mutated.slice(0, -1).every((s, i) => s === p[i]);
    assert.ok(got.problems.length > 0 && got.problems.some((p) => related(p.path)), `${name}: a problem on ${mutated.join(".")}: ${JSON.stringify(got.problems)}`);
  }
  return got.ok;
}

void test("the derived checkers and zod agree on every valid value and every mutant of one", () => {
  const checks = helperChecks();
  let accepted = 0;
  let rejected = 0;
  for (const [name, schema, which, value] of corpus) {
    assert.ok(agree(name, schema, checks[which], value, []), `${name} is valid`);
    for (const [what, m, p] of mutants(value)) {
      if (agree(`${name}: ${what}`, schema, checks[which], m, p)) accepted++;
      else rejected++;
    }
  }
  // Both outcomes are exercised in bulk (a checker that accepts or refuses everything fails above).
  assert.ok(accepted > 100 && rejected > 1000, `accepted ${accepted}, rejected ${rejected}`);
});

void test("from source the checks are derived from the zod schemas at first use; the bundle carries them instead", () => {
  assert.equal(schemasBundled(), false);
  assert.deepEqual(deriveHelperJsonSchemas().config, deriveHelperJsonSchemas().config);
  // Each derived schema uses only the subset the checker knows (compile throws otherwise).
  for (const s of Object.values(deriveHelperJsonSchemas())) compileJsonSchema(s);
});

void test("problems name the field: a discriminated union by its tag, a nested field by its path", () => {
  const { agentMessage, config } = helperChecks();
  assert.deepEqual(agentMessage({ type: "reboot" }), { ok: false, problems: [{ path: ["type"], message: `expected one of "ping", "stop", "ack"` }] });
  assert.deepEqual(agentMessage({ type: "stop" }), { ok: false, problems: [{ path: ["reason"], message: "expected string, got nothing" }] });
  const r = config({ ...plain, sandbox: { ...sandbox, user: { uid: -1, gid: 0, userns: null } } });
  assert.deepEqual(r, { ok: false, problems: [{ path: ["sandbox", "user", "uid"], message: "expected a number >= 0" }] });
});
