import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { committedSchemaPath, jobJsonSchema, jobJsonSchemaText } from "./schema.ts";

void test("the committed schema/job.schema.json is up to date", () => {
  const committed = readFileSync(committedSchemaPath, "utf8");
  assert.equal(committed, jobJsonSchemaText(), "stale: run `node src/spec/schema.ts --write`");
});

void test("the JSON Schema describes the user's input, shorthands and defaults included", () => {
  const schema = jobJsonSchema() as { $defs: { Job: { required: string[]; properties: Record<string, { default?: unknown }> } } };
  const jobDef = schema.$defs.Job;
  assert.deepEqual(jobDef.required, ["name", "command"]);
  assert.equal(jobDef.properties["spread"]?.default, "rack");
  assert.equal(jobDef.properties["replicas"]?.default, 1);
  assert.match(JSON.stringify(jobDef.properties["resources"]), /"default":"128Mi"/);
});
