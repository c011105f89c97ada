// Two JobSpec schemas on purpose: the stored one (model/job-schema.ts: types only, so a version
// stored under older limits stays readable) and this strict one (limits, no unknown field, checked
// once when a spec is applied). They must describe the same fields: a field added to one and not the
// other would be refused at apply or dropped from the store. Checked here at every level of nesting.
import assert from "node:assert/strict";
import { test } from "node:test";
import { z } from "zod";
import { storedJobSpecSchema } from "../model/index.ts";
import { jobSpecSchema } from "./canonical.ts";

/** Every field path of a schema's JSON Schema (objects and array items, through nullable and unions). */
function fieldPaths(schema: z.ZodType): string[] {
  const out = new Set<string>();
  const walk = (s: unknown, at: string): void => {
    if (typeof s !== "object" || s === null) return;
    const o = s as Record<string, unknown>;
    for (const [k, v] of Object.entries((o["properties"] as Record<string, unknown> | undefined) ?? {})) {
      out.add(`${at}.${k}`);
      walk(v, `${at}.${k}`);
    }
    if (o["items"]) walk(o["items"], `${at}[]`);
    for (const alt of [...((o["anyOf"] as unknown[] | undefined) ?? []), ...((o["oneOf"] as unknown[] | undefined) ?? [])]) walk(alt, at);
    if (typeof o["additionalProperties"] === "object") walk(o["additionalProperties"], `${at}{}`);
  };
  walk(z.toJSONSchema(schema, { unrepresentable: "any", io: "input" }), "");
  return [...out].sort();
}

void test("the strict spec schema and the stored one have the same fields, at every level (pinned is the server's own)", () => {
  const strict = fieldPaths(jobSpecSchema);
  const stored = fieldPaths(storedJobSpecSchema).filter((p) => p !== ".pinned" && !p.startsWith(".pinned[") && p !== ".secretVersions" && !p.startsWith(".secretVersions["));
  assert.ok(strict.length > 40, `the walk reaches nested fields (${strict.length})`);
  assert.deepEqual(strict, stored);
});
