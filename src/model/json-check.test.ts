// The JSON Schema subset checker (json-check.ts), by tables: what it accepts, what it strips, the path
// and message of each problem, and the keywords it refuses to compile. Its agreement with zod on the
// helper's real schemas is src/helper/checks.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { compileJsonSchema } from "./json-check.ts";
import type { JsonCheckResult, JsonSchema } from "./json-check.ts";

const user: JsonSchema = {
  type: "object",
  properties: {
    name: { type: "string", minLength: 1, maxLength: 5 },
    home: { type: "string", format: "starts_with", pattern: "^\\/.*" },
    uid: { type: "integer", minimum: 0, maximum: 10 },
    cpu: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 4 },
    tags: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 },
    env: { type: "object", propertyNames: { type: "string" }, additionalProperties: { type: "string" } },
    shell: { type: ["string", "null"] },
    kind: { type: "string", enum: ["a", "b"] },
  },
  required: ["name", "uid"],
};
const ok = (value: unknown): JsonCheckResult => ({ ok: true, value });
const bad = (path: (string | number)[], message: string): JsonCheckResult => ({ ok: false, problems: [{ path, message }] });

void test("compileJsonSchema: values in, the same or stripped values out, or each problem with its path", () => {
  const check = compileJsonSchema(user);
  const cases: [string, unknown, JsonCheckResult][] = [
    ["minimal", { name: "x", uid: 0 }, ok({ name: "x", uid: 0 })],
    ["unknown keys stripped", { name: "x", uid: 0, extra: 1 }, ok({ name: "x", uid: 0 })],
    ["record keeps its keys", { name: "x", uid: 0, env: { A: "1" } }, ok({ name: "x", uid: 0, env: { A: "1" } })],
    ["nullable", { name: "x", uid: 0, shell: null }, ok({ name: "x", uid: 0, shell: null })],
    ["missing", { uid: 0 }, bad(["name"], "expected string, got nothing")],
    ["wrong type", { name: 1, uid: 0 }, bad(["name"], "expected string, got number")],
    ["too short", { name: "", uid: 0 }, bad(["name"], "expected at least 1 characters")],
    ["too long", { name: "abcdef", uid: 0 }, bad(["name"], "expected at most 5 characters")],
    ["pattern", { name: "x", uid: 0, home: "rel" }, bad(["home"], "expected a string matching /^\\/.*/")],
    ["not an integer", { name: "x", uid: 1.5 }, bad(["uid"], "expected integer, got number")],
    ["below minimum", { name: "x", uid: -1 }, bad(["uid"], "expected a number >= 0")],
    ["above maximum", { name: "x", uid: 11 }, bad(["uid"], "expected a number <= 10")],
    ["exclusive minimum", { name: "x", uid: 0, cpu: 0 }, bad(["cpu"], "expected a number > 0")],
    ["exclusive maximum", { name: "x", uid: 0, cpu: 4 }, bad(["cpu"], "expected a number < 4")],
    ["too few items", { name: "x", uid: 0, tags: [] }, bad(["tags"], "expected at least 1 items")],
    ["too many items", { name: "x", uid: 0, tags: ["a", "b", "c"] }, bad(["tags"], "expected at most 2 items")],
    ["an item", { name: "x", uid: 0, tags: [1] }, bad(["tags", 0], "expected string, got number")],
    ["a record value", { name: "x", uid: 0, env: { A: 1 } }, bad(["env", "A"], "expected string, got number")],
    ["enum", { name: "x", uid: 0, kind: "c" }, bad(["kind"], `expected one of "a", "b"`)],
    ["array is not an object", [], bad([], "expected object, got array")],
    ["null is not an object", null, bad([], "expected object, got null")],
  ];
  for (const [name, value, want] of cases) assert.deepEqual(check(value), want, name);
  // Every problem, not the first.
  const many = check({ name: 1, uid: -1, tags: [] });
  assert.equal(many.ok ? 0 : many.problems.length, 3);
});

void test("compileJsonSchema: a \"__proto__\" key stays a plain key of the output", () => {
  const check = compileJsonSchema({ type: "object", additionalProperties: { type: "number" } });
  const r = check(JSON.parse(`{"__proto__": 1}`));
  assert.ok(r.ok && Object.getPrototypeOf(r.value) === Object.prototype && Object.hasOwn(r.value as object, "__proto__"));
});

void test("compileJsonSchema refuses keywords it does not check, instead of checking less than the schema says", () => {
  const cases: [string, JsonSchema, RegExp][] = [
    ["allOf", { allOf: [] } as unknown as JsonSchema, /unsupported keyword allOf at #/],
    ["$ref nested", { type: "object", properties: { a: { $ref: "#/x" } as unknown as JsonSchema } }, /unsupported keyword \$ref at #\/properties\/a/],
    ["default", { type: "string", default: "x" } as unknown as JsonSchema, /unsupported keyword default/],
    ["a format without a pattern", { type: "string", format: "email" }, /format email without a pattern/],
  ];
  for (const [name, schema, want] of cases) assert.throws(() => compileJsonSchema(schema), want, name);
});
