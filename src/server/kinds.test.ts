// The kinds registry: decode tables (good, not JSON, wrong field types with their paths, fields of a
// newer server kept) and the key layout.
import assert from "node:assert/strict";
import { test } from "node:test";
import { attempt, specOf, task } from "./testing/fixtures.ts";
import { Kinds, splitNumbered, taskKey, versionKey } from "./kinds.ts";
import type { Kind } from "./kinds.ts";

interface Case {
  name: string;
  kind: Kind<unknown>;
  text: string;
  /** Expected problem path, or null when the value decodes. */
  path: string | null;
  /** Part of the expected message. */
  message?: string;
}

const json = (v: unknown): string => JSON.stringify(v);
const cases: Case[] = [
  { name: "a task", kind: Kinds.task, text: json(task(0)), path: null },
  { name: "an attempt with usage", kind: Kinds.attempt, text: json(attempt("a1", 0, { usage: { at: 1, cpuSeconds: 1, cpuCores: null, memoryBytes: 5, memoryPeakBytes: null, pids: 3 } })), path: null },
  { name: "a job version", kind: Kinds.version, text: json({ name: "web", version: 1, spec: specOf(), createdAt: 0 }), path: null },
  { name: "a version stored before isolation fields", kind: Kinds.version, text: json({ name: "web", version: 1, spec: { ...specOf(), isolation: undefined, network: undefined }, createdAt: 0 }), path: null },
  { name: "not JSON", kind: Kinds.task, text: "{\"job\":", path: "", message: "not JSON" },
  { name: "a string hostId is a number", kind: Kinds.task, text: json({ ...task(0), hostId: 42 }), path: "hostId", message: "string" },
  { name: "a missing field", kind: Kinds.attempt, text: json({ ...attempt("a1", 0), state: undefined }), path: "state" },
  { name: "an unknown state", kind: Kinds.attempt, text: json({ ...attempt("a1", 0), state: "dancing" }), path: "state" },
  { name: "a nested field", kind: Kinds.version, text: json({ name: "web", version: 1, spec: specOf({ resources: { cpu: 1, memoryMiB: "big" as unknown as number, diskMiB: 1 } }), createdAt: 0 }), path: "spec.resources.memoryMiB" },
  { name: "an array element", kind: Kinds.task, text: json({ ...task(0), avoidHosts: ["h1", 7] }), path: "avoidHosts[1]" },
  { name: "null for an object", kind: Kinds.alloc, text: "null", path: "" },
  { name: "a host token is a JSON string", kind: Kinds.hostToken, text: json("tok"), path: null },
  { name: "an empty host token", kind: Kinds.hostToken, text: json(""), path: "" },
];

for (const c of cases) {
  void test(`decode: ${c.name}`, () => {
    const d = c.kind.decode("/k", c.text);
    if (c.path === null) {
      assert.ok(d.ok, d.ok ? "" : JSON.stringify(d.problem));
      return;
    }
    assert.ok(!d.ok, "expected a problem");
    assert.equal(d.problem.key, "/k");
    assert.equal(d.problem.path, c.path);
    if (c.message) assert.match(d.problem.message, new RegExp(c.message));
  });
}

void test("decode keeps fields a newer server wrote, so a read-modify-write does not drop them", () => {
  const d = Kinds.task.decode("/k", json({ ...task(0), fromTheFuture: { x: 1 } }));
  assert.ok(d.ok);
  assert.deepEqual(JSON.parse(Kinds.task.encode({ ...d.value, failures: 2 })).fromTheFuture, { x: 1 });
});

void test("keys: every kind's layout, and parseKey gives the parts back", () => {
  const cases: [Kind<unknown>, readonly (string | number)[], string][] = [
    [Kinds.job, ["web"], "/jobs/web"],
    [Kinds.version, ["web", 12], "/versions/web/0000000012"],
    [Kinds.task, ["a/b", 3], "/tasks/a/b/000003"],
    [Kinds.attempt, ["0k1f2"], "/attempts/0k1f2"],
    [Kinds.host, ["h1"], "/hosts/h1"],
    [Kinds.alive, ["h1"], "/alive/h1"],
    [Kinds.alloc, ["h1"], "/alloc/h1"],
    [Kinds.hostToken, ["h1"], "/hosttokens/h1"],
    [Kinds.secret, ["admin"], "/secrets/admin"],
    [Kinds.audit, [1700000000000, "x-1"], "/audit/1700000000000-x-1"],
    [Kinds.usage, ["web", 2, 60000], "/usage/web/000002/0000000060000"],
    [Kinds.package, ["tool", "1.0"], "/packages/tool/1.0"],
    [Kinds.packageTag, ["tool", "stable"], "/pkgtags/tool/stable"],
    [Kinds.pieceHolder, ["a".repeat(64), "srv1"], `/pieceholders/${"a".repeat(64)}/srv1`],
    [Kinds.leader, [], "/leader"],
    [Kinds.peerTokens, [], "/secrets/peer"],
  ];
  for (const [kind, parts, key] of cases) {
    assert.equal(kind.key(...parts), key, kind.name);
    assert.deepEqual(kind.parseKey(key), parts, kind.name);
  }
  for (const [kind, key] of [[Kinds.task, "/tasks/web"], [Kinds.task, "/jobs/web"], [Kinds.package, "/packages/tool"], [Kinds.audit, "/audit/x"], [Kinds.leader, "/leaderx"]] as const) {
    assert.equal(kind.parseKey(key), null, `${kind.name} ${key}`);
  }
});

void test("keys: numbers are zero-padded and split back", () => {
  assert.equal(versionKey("web", 12), "/versions/web/0000000012");
  assert.equal(taskKey("a/b", 3), "/tasks/a/b/000003");
  assert.deepEqual(splitNumbered(taskKey("a/b", 3), "/tasks/"), { name: "a/b", n: 3 });
  assert.equal(splitNumbered("/tasks/web", "/tasks/"), null);
});
