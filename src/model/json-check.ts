// A checker for the subset of JSON Schema that z.toJSONSchema emits for our wire shapes, so a process
// can check values against a shape declared once in zod without loading zod at run time: the helper,
// where zod cost ~10 MiB per process (bench/RESULTS.md, "Helper validation"). It answers as zod's
// safeParse does: an accepted value comes back with the object keys its schema does not name dropped
// (zod's default strips them), a rejected one with every problem and its field path. Keywords outside
// the subset are refused when a schema is compiled, never ignored, so a schema that grows one fails the
// derivation (and its test) instead of checking less than zod.

/** A JSON Schema type name. */
export type JsonType = "null" | "boolean" | "number" | "integer" | "string" | "array" | "object";

/** One node of a JSON Schema, limited to the keywords this checker knows. */
export interface JsonSchema {
  $schema?: string;
  description?: string;
  type?: JsonType | JsonType[];
  const?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  /** Only beside a `pattern`, which is what is checked (zod emits both for startsWith and friends). */
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

/** The keywords `compileJsonSchema` accepts. */
export const JsonSchemaKeywords = [
  "$schema", "description", "type", "const", "enum", "properties", "required", "additionalProperties", "propertyNames",
  "items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
  "exclusiveMinimum", "exclusiveMaximum", "anyOf", "oneOf",
] as const;

/** One reason a value does not fit, at a field path from the root. */
export interface JsonProblem {
  path: (string | number)[];
  message: string;
}

/** The value as zod would return it, or every problem. */
export type JsonCheckResult = { ok: true; value: unknown } | { ok: false; problems: JsonProblem[] };

/** A compiled schema: checks one value. */
export type JsonChecker = (value: unknown) => JsonCheckResult;

/** Compiles `schema` into a checker; throws (a bug in the deriving code) on a keyword outside the subset. */
export function compileJsonSchema(schema: JsonSchema): JsonChecker {
  const regexes = new Map<string, RegExp>();
  assertSubset(schema, "#", regexes);
  return (value) => {
    const problems: Problem[] = [];
    const out = walk(schema, value, [], problems, regexes);
    return problems.length === 0 ? { ok: true, value: out } : { ok: false, problems: problems.map(({ path, message }) => ({ path, message })) };
  };
}

/** A problem, marked when it is a `const` or `enum` mismatch (how a union's branch is told apart). */
interface Problem extends JsonProblem {
  literal?: true;
}

function assertSubset(s: JsonSchema, where: string, regexes: Map<string, RegExp>): void {
  if (typeof s !== "object" || s === null || Array.isArray(s)) throw new Error(`json-check: ${where} is not a schema object`);
  for (const k of Object.keys(s)) {
    if (!(JsonSchemaKeywords as readonly string[]).includes(k)) throw new Error(`json-check: unsupported keyword ${k} at ${where}`);
  }
  if (s.format !== undefined && s.pattern === undefined) throw new Error(`json-check: format ${s.format} without a pattern at ${where}`);
  if (s.pattern !== undefined) regexes.set(s.pattern, new RegExp(s.pattern));
  for (const [k, sub] of Object.entries(s.properties ?? {})) assertSubset(sub, `${where}/properties/${k}`, regexes);
  if (typeof s.additionalProperties === "object") assertSubset(s.additionalProperties, `${where}/additionalProperties`, regexes);
  if (s.propertyNames) assertSubset(s.propertyNames, `${where}/propertyNames`, regexes);
  if (s.items) assertSubset(s.items, `${where}/items`, regexes);
  (s.anyOf ?? []).forEach((b, i) => assertSubset(b, `${where}/anyOf/${i}`, regexes));
  (s.oneOf ?? []).forEach((b, i) => assertSubset(b, `${where}/oneOf/${i}`, regexes));
}

function typeOf(v: unknown): JsonType | "other" {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  if (typeof v === "boolean") return "boolean";
  if (typeof v === "string") return "string";
  return typeof v === "object" ? "object" : "other";
}

function fitsType(t: JsonType, v: unknown): boolean {
  const actual = typeOf(v);
  if (t === "number") return (actual === "number" || actual === "integer") && Number.isFinite(v);
  return actual === t;
}

/** A short description of what `s` accepts, for a value that fits none of a union's branches. */
function describe(s: JsonSchema): string {
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.enum) return s.enum.map((e) => JSON.stringify(e)).join(" | ");
  const branches = s.anyOf ?? s.oneOf;
  if (branches) return branches.map(describe).join(" | ");
  if (s.type === undefined) return "anything";
  return Array.isArray(s.type) ? s.type.join(" | ") : s.type;
}

function got(v: unknown): string {
  const t = typeOf(v);
  return t === "integer" ? "number" : t;
}

function walk(s: JsonSchema, v: unknown, path: (string | number)[], problems: Problem[], regexes: Map<string, RegExp>): unknown {
  const branches = s.anyOf ?? s.oneOf;
  if (branches) return union(s, branches, v, path, problems, regexes);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (!types.some((t) => fitsType(t, v))) {
      problems.push({ path, message: `expected ${types.join(" or ")}, got ${got(v)}` });
      return undefined;
    }
  }
  if (s.const !== undefined && v !== s.const) {
    problems.push({ path, message: `expected ${JSON.stringify(s.const)}`, literal: true });
    return undefined;
  }
  if (s.enum && !s.enum.includes(v)) {
    problems.push({ path, message: `expected one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`, literal: true });
    return undefined;
  }
  if (typeof v === "string") strings(s, v, path, problems, regexes);
  if (typeof v === "number") numbers(s, v, path, problems);
  if (Array.isArray(v)) return array(s, v, path, problems, regexes);
  if (typeof v === "object" && v !== null) return object(s, v as Record<string, unknown>, path, problems, regexes);
  return v;
}

function union(s: JsonSchema, branches: JsonSchema[], v: unknown, path: (string | number)[], problems: Problem[], regexes: Map<string, RegExp>): unknown {
  const matches: unknown[] = [];
  let closest: Problem[] | null = null;
  const tags: Problem[] = [];
  for (const b of branches) {
    const p: Problem[] = [];
    const out = walk(b, v, path, p, regexes);
    if (p.length === 0) matches.push(out);
    // A branch that failed on no literal and no type at this level is the one the value meant.
    else if (closest === null && !p.some((q) => q.literal === true || q.path.length === path.length)) closest = p;
    const tag = p.find((q) => q.literal === true && q.path.length === path.length + 1);
    if (tag) tags.push(tag);
  }
  if (matches.length === 1 || (matches.length > 1 && s.oneOf === undefined)) return matches[0];
  if (matches.length > 1) problems.push({ path, message: `fits more than one of ${describe(s)}` });
  else if (closest) problems.push(...closest);
  else if (tags.length === branches.length && tags.every((t) => t.path.at(-1) === tags[0]?.path.at(-1))) {
    // A discriminated union whose tag matched no branch: name the tag's field.
    const key = tags[0]?.path.at(-1) ?? "";
    const allowed = branches.map((b) => (b.properties?.[key] ? describe(b.properties[key]) : "?"));
    problems.push({ path: [...path, key], message: `expected one of ${allowed.join(", ")}` });
  } else problems.push({ path, message: `expected ${describe(s)}, got ${got(v)}` });
  return undefined;
}

function strings(s: JsonSchema, v: string, path: (string | number)[], problems: Problem[], regexes: Map<string, RegExp>): void {
  if (s.minLength !== undefined && v.length < s.minLength) problems.push({ path, message: `expected at least ${s.minLength} characters` });
  if (s.maxLength !== undefined && v.length > s.maxLength) problems.push({ path, message: `expected at most ${s.maxLength} characters` });
  if (s.pattern !== undefined && !regexes.get(s.pattern)?.test(v)) problems.push({ path, message: `expected a string matching /${s.pattern}/` });
}

function numbers(s: JsonSchema, v: number, path: (string | number)[], problems: Problem[]): void {
  if (s.minimum !== undefined && v < s.minimum) problems.push({ path, message: `expected a number >= ${s.minimum}` });
  if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) problems.push({ path, message: `expected a number > ${s.exclusiveMinimum}` });
  if (s.maximum !== undefined && v > s.maximum) problems.push({ path, message: `expected a number <= ${s.maximum}` });
  if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) problems.push({ path, message: `expected a number < ${s.exclusiveMaximum}` });
}

function array(s: JsonSchema, v: unknown[], path: (string | number)[], problems: Problem[], regexes: Map<string, RegExp>): unknown[] {
  if (s.minItems !== undefined && v.length < s.minItems) problems.push({ path, message: `expected at least ${s.minItems} items` });
  if (s.maxItems !== undefined && v.length > s.maxItems) problems.push({ path, message: `expected at most ${s.maxItems} items` });
  const items = s.items;
  return items ? v.map((e, i) => walk(items, e, [...path, i], problems, regexes)) : v;
}

function object(s: JsonSchema, v: Record<string, unknown>, path: (string | number)[], problems: Problem[], regexes: Map<string, RegExp>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // defineProperty: a "__proto__" key from JSON.parse stays a plain key.
  const put = (k: string, x: unknown): void => void Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
  const props = s.properties ?? {};
  for (const k of s.required ?? []) {
    if (!Object.hasOwn(v, k)) problems.push({ path: [...path, k], message: `expected ${props[k] ? describe(props[k]) : "a value"}, got nothing` });
  }
  for (const [k, sub] of Object.entries(props)) {
    if (Object.hasOwn(v, k)) put(k, walk(sub, v[k], [...path, k], problems, regexes));
  }
  for (const k of Object.keys(v)) {
    if (Object.hasOwn(props, k)) continue;
    if (s.propertyNames) walk(s.propertyNames, k, [...path, k], problems, regexes);
    const extra = s.additionalProperties;
    if (extra === false) problems.push({ path: [...path, k], message: "unexpected key" });
    else if (extra === true) put(k, v[k]);
    else if (typeof extra === "object") put(k, walk(extra, v[k], [...path, k], problems, regexes));
    // absent (zod's default): the key is dropped, as zod strips it
  }
  return out;
}
