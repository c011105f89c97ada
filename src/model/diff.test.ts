import { test } from "node:test";
import assert from "node:assert/strict";
import { diffJson, formatDiff, formatPath } from "./diff.ts";
import type { DiffLine } from "./diff.ts";

const cases: { name: string; before: unknown; after: unknown; lines: DiffLine[] }[] = [
  { name: "equal values", before: { a: [1, { b: 2 }] }, after: { a: [1, { b: 2 }] }, lines: [] },
  { name: "key order ignored", before: { a: 1, b: 2 }, after: { b: 2, a: 1 }, lines: [] },
  {
    name: "nested change",
    before: { resources: { cpu: 1, memoryMiB: 128 } },
    after: { resources: { cpu: 1, memoryMiB: 256 } },
    lines: [{ path: "resources.memoryMiB", op: "change", before: 128, after: 256 }],
  },
  {
    name: "array element change, add and remove",
    before: { command: ["node", "a.js"], ports: ["http", "metrics"] },
    after: { command: ["node", "b.js", "--x"], ports: ["http"] },
    lines: [
      { path: "command[1]", op: "change", before: "a.js", after: "b.js" },
      { path: "command[2]", op: "add", before: undefined, after: "--x" },
      { path: "ports[1]", op: "remove", before: "metrics", after: undefined },
    ],
  },
  {
    name: "record keys added and removed",
    before: { env: { FOO: "1", OLD: "x" } },
    after: { env: { FOO: "2", NEW: "y" } },
    lines: [
      { path: "env.FOO", op: "change", before: "1", after: "2" },
      { path: "env.OLD", op: "remove", before: "x", after: undefined },
      { path: "env.NEW", op: "add", before: undefined, after: "y" },
    ],
  },
  {
    name: "keys that are not identifiers are quoted",
    before: { files: {} },
    after: { files: { "conf/app.json": { mode: 420 } } },
    lines: [{ path: 'files["conf/app.json"].mode', op: "add", before: undefined, after: 420 }],
  },
  {
    name: "null to object lists the object's fields",
    before: { health: null },
    after: { health: { kind: "tcp", port: "db" } },
    lines: [
      { path: "health.kind", op: "add", before: undefined, after: "tcp" },
      { path: "health.port", op: "add", before: undefined, after: "db" },
    ],
  },
  {
    name: "object to null lists the removed fields",
    before: { os: { id: "debian" } },
    after: { os: null },
    lines: [{ path: "os.id", op: "remove", before: "debian", after: undefined }],
  },
  { name: "null to empty object is one change", before: { a: null }, after: { a: {} }, lines: [{ path: "a", op: "change", before: null, after: {} }] },
  { name: "type change", before: { a: "1" }, after: { a: 1 }, lines: [{ path: "a", op: "change", before: "1", after: 1 }] },
  { name: "array to object", before: { a: [1] }, after: { a: { x: 1 } }, lines: [{ path: "a", op: "change", before: [1], after: { x: 1 } }] },
  {
    name: "nothing before: every field is an add",
    before: null,
    after: { name: "web", command: ["./web"] },
    lines: [
      { path: "name", op: "add", before: undefined, after: "web" },
      { path: "command[0]", op: "add", before: undefined, after: "./web" },
    ],
  },
];

for (const c of cases) {
  void test(`diffJson: ${c.name}`, () => {
    assert.deepEqual(diffJson(c.before, c.after), c.lines);
  });
}

void test("formatDiff writes one readable line per change", () => {
  const text = formatDiff(diffJson({ replicas: 2, env: { A: "1" }, ports: ["http"] }, { replicas: 3, env: { B: "2" }, ports: ["http"] }));
  assert.equal(text, ['~ replicas = 2 -> 3', '- env.A = "1"', '+ env.B = "2"'].join("\n"));
  assert.equal(formatDiff([]), "(no changes)");
});

void test("formatPath", () => {
  assert.equal(formatPath(["jobs", 0, "resources", "memory"]), "jobs[0].resources.memory");
  assert.equal(formatPath(["env", "1X"]), 'env["1X"]');
  assert.equal(formatPath([]), "");
});
