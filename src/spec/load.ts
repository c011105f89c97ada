// Loading a spec file: evaluate it (TypeScript/JavaScript) or parse it (JSON/YAML), then validate
// and compile every job in it, reporting all problems at once.
import { readFileSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { ErrorCodes, TiffinError } from "../model/index.ts";
import type { JobSpec } from "../model/index.ts";
import { displayPath, evaluateModule } from "./evaluate.ts";
import type { EvaluateOptions } from "./evaluate.ts";
import { compileJobs } from "./validate.ts";

const moduleExtensions = new Set([".ts", ".mts", ".js", ".mjs"]);

function loadError(message: string, hint: string): TiffinError {
  return new TiffinError(ErrorCodes.SpecLoad, message, { hint });
}

function parseJson(text: string, shown: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw loadError(`${shown}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`, "fix the JSON syntax at that position");
  }
}

// Several YAML documents (separated by ---) are several jobs. Merge keys (<<: *web) let YAML
// users share defaults the way TypeScript users spread them.
function parseYaml(text: string, shown: string): unknown {
  const docs = parseAllDocuments(text, { merge: true });
  if (!Array.isArray(docs)) return null; // an empty stream
  for (const doc of docs) {
    const e = doc.errors[0];
    if (e) {
      const at = e.linePos?.[0];
      const where = at ? `${shown}:${at.line}:${at.col}` : shown;
      throw loadError(`${where}: invalid YAML: ${e.message.split("\n")[0] ?? e.code}`, "fix the YAML syntax at that line");
    }
  }
  let values: unknown[];
  try {
    values = docs.map((d) => d.toJS({ maxAliasCount: 1000 }) as unknown).filter((v) => v !== null && v !== undefined);
  } catch (err) {
    // Aliases that cannot be resolved (an anchor from another document, a bad merge) surface here.
    throw loadError(`${shown}: invalid YAML: ${err instanceof Error ? err.message : String(err)}`, "anchors (&name) are visible only within their own document");
  }
  return values.length === 1 ? values[0] : values;
}

/** The file's text without a leading byte-order mark (editors on Windows write one; JSON.parse refuses it). */
function readText(abs: string): string {
  const text = readFileSync(abs, "utf8");
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
}

/** Reads what a spec file declares: the default export of a module, or the content of JSON/YAML. */
async function readSpecValue(abs: string, shown: string, opts: EvaluateOptions): Promise<unknown> {
  const ext = extname(abs).toLowerCase();
  if (moduleExtensions.has(ext)) return evaluateModule(abs, opts);
  if (ext === ".json") return parseJson(readText(abs), shown);
  if (ext === ".yaml" || ext === ".yml") return parseYaml(readText(abs), shown);
  throw loadError(`${shown}: unsupported spec file type "${ext}"`, "use .ts, .mts, .js, .mjs, .json, .yaml or .yml");
}

/**
 * Loads, validates and compiles the jobs of a spec file. Throws TiffinError SpecLoad when the file is
 * missing, malformed or throws while evaluated, and SpecInvalid with every problem when jobs are wrong.
 * A .ts/.js spec runs in a child process; `opts` bound it and take its output (see evaluate.ts).
 */
export async function loadSpecFile(path: string, opts: EvaluateOptions = {}): Promise<JobSpec[]> {
  const abs = resolve(path);
  const shown = displayPath(abs);
  let isFile = false;
  try {
    isFile = statSync(abs).isFile();
  } catch {
    throw loadError(`${shown}: no such file`, "check the path to the spec file");
  }
  if (!isFile) throw loadError(`${shown}: not a file`, "pass the path of a spec file such as tiffin.ts");
  const value = await readSpecValue(abs, shown, opts);
  const { specs, problems } = compileJobs(value, shown);
  if (problems.length > 0) {
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    throw new TiffinError(ErrorCodes.SpecInvalid, `${shown}: ${count} in the spec`, {
      hint: "fix the fields named above (each field's default, unit and limit: hover it in your editor, or see schema/job.schema.json in the tiffin package)",
      problems,
    });
  }
  return specs;
}
