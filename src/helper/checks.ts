// The helper's checks of attempt.json, socket messages and status.json, without zod at run time: zod
// cost each helper process ~10 MiB (bench/RESULTS.md, "Helper validation"). The shapes stay declared
// once, in zod (config-schema.ts, protocol-schema.ts); what checks here is the JSON Schema derived
// from them (json-schemas.ts) with the small checker of model/json-check.ts. The agent writes the
// derived schemas into the helper's bundle (esbuild --define, helper-bundle.ts); a helper run from
// source derives them at its first check, loading zod as source runs always did. checks.test.ts holds
// the derived checkers to zod's answers on valid and mutated values.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { compileJsonSchema } from "../model/json-check.ts";
import type { JsonChecker } from "../model/json-check.ts";
import { moduleFile } from "../model/module-file.ts";
import type { HelperJsonSchemas } from "./json-schemas.ts";

/** The global the agent's bundler replaces with the derived schemas (helper-bundle.ts). */
export const HelperSchemasDefine = "TIFFIN_HELPER_SCHEMAS";
declare const TIFFIN_HELPER_SCHEMAS: HelperJsonSchemas | undefined;

/** A compiled checker for each shape of HelperJsonSchemas. */
export type HelperChecks = { [K in keyof HelperJsonSchemas]: JsonChecker };

let compiled: HelperChecks | null = null;

/** The checkers, compiled at first use from the bundled schemas, else derived from the zod sources. */
export function helperChecks(): HelperChecks {
  compiled ??= compileAll(typeof TIFFIN_HELPER_SCHEMAS === "undefined" ? deriveFromSource() : TIFFIN_HELPER_SCHEMAS);
  return compiled;
}

/** True when this code runs from the agent's bundle, with the schemas written into it. */
export function schemasBundled(): boolean {
  return typeof TIFFIN_HELPER_SCHEMAS !== "undefined";
}

function compileAll(s: HelperJsonSchemas): HelperChecks {
  return {
    config: compileJsonSchema(s.config),
    agentMessage: compileJsonSchema(s.agentMessage),
    helperMessage: compileJsonSchema(s.helperMessage),
    status: compileJsonSchema(s.status),
    poolRequest: compileJsonSchema(s.poolRequest),
  };
}

function deriveFromSource(): HelperJsonSchemas {
  // require, not import: esbuild must not follow it into the bundle, and the checks stay synchronous
  // (Node 24 loads an ES module without top-level await through require).
  const req = createRequire(import.meta.url);
  const m = req(fileURLToPath(moduleFile("./json-schemas.ts", import.meta.url))) as { deriveHelperJsonSchemas: () => HelperJsonSchemas };
  return m.deriveHelperJsonSchemas();
}
