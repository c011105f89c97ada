// JSON Schema of spec files, generated from the same zod schema as the types and the validator, for
// editors checking YAML/JSON specs. `node src/spec/schema.ts --write` refreshes the committed copy at
// schema/job.schema.json (a test fails when it is stale).
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { jobInputSchema } from "./input.ts";

/** Where the committed copy of the schema lives. */
export const committedSchemaPath = fileURLToPath(new URL("../../schema/job.schema.json", import.meta.url));

/** The JSON Schema (draft 2020-12) of a spec file: one job, or an array of jobs. */
export function jobJsonSchema(): object {
  const file = z.union([jobInputSchema, z.array(jobInputSchema).min(1)]).meta({
    title: "Tiffin spec file",
    description: "One job, or an array of jobs. Durations are strings such as \"2s\"; sizes such as \"256Mi\".",
  });
  return z.toJSONSchema(file, { io: "input", target: "draft-2020-12" });
}

/** The schema as the committed file holds it. */
export function jobJsonSchemaText(): string {
  return `${JSON.stringify(jobJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes("--write")) {
  writeFileSync(committedSchemaPath, jobJsonSchemaText());
  console.log(`wrote ${committedSchemaPath}`);
}
