// The resource layer's rule over all of src/ (docs/architecture.md, "Resource layer"): a value that
// comes from outside the process (a JSON text: the wire, the store, a file) is read through a schema,
// never by a cast. Found on the syntax tree (TypeScript's parser), not by a regular expression:
//   - `JSON.parse(...) as T` and `(await res.json()) as T`, whatever T but `unknown`;
//   - `x as unknown as T`, the escape hatch past the type checker;
//   - `x as T` where T is a type parameter: a generic function that claims what it did not check.
// A few casts are justified; each is listed below with why. A new one fails with its file and line.
// Test files (and test-only support files: fixtures, harnesses) are left out.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import ts from "typescript";

const src = path.join(import.meta.dirname, "..");

/** Files that only tests import (they start processes and fake peers for tests). */
const testSupport = [/\/testing\//, /test-fixtures\.ts$/, /real-server\.ts$/, /fake\.ts$/, /real-cli\.ts$/, /etcd-testing\.ts$/];

/** `file: the cast's text` -> why it is right. */
const allowed: Record<string, string> = {
  "spec/duration-schema.ts: z.string({ error: message }).regex(durationPattern, { error: message }) as unknown as z.ZodType<Duration, Duration>": "a template-literal type zod cannot infer from a regex; the regex is the check (every duration field of a spec)",
  "spec/input.ts: z.string().regex(sizePattern, { error: `${sizeMessage} (binary units: Mi, Gi, Ti)` }) as unknown as z.ZodType<Size, Size>": "as above, for sizes",
  "spec/rollout-input.ts: z.union([z.number(), z.string()], { error: 'expected a phase: a task count, a share such as \"10%\", \"rack\", \"cluster\", \"datacenter\" or \"all\"' }) as unknown as z.ZodType<RolloutPhaseSpec, RolloutPhaseSpec>": "a template-literal union zod cannot infer (z.custom has no JSON Schema for the OpenAPI document); phaseProblem() refines it",
  "spec/rollout-input.ts: z.union([z.number(), z.string()], { error: 'expected a number of tasks or a share such as \"10%\"' }) as unknown as z.ZodType<TaskCount, TaskCount>": "as above, for task counts; taskCountProblem() refines it",
  "spec/canonical.ts: z.union([z.number(), z.string()]) as unknown as z.ZodType<RolloutPhaseSpec, RolloutPhaseSpec>": "as in spec/rollout-input.ts; phaseProblem() refines it",
  "spec/canonical.ts: z.union([z.number(), z.string()]) as unknown as z.ZodType<TaskCount, TaskCount>": "as in spec/rollout-input.ts; taskCountProblem() refines it",
  "spec/rollout-checks.ts: z.string({ error: percentMessage }).regex(/^\\d+(?:\\.\\d+)?%$/, { error: percentMessage }) as unknown as z.ZodType<Percent, Percent>": "as above, for percentages (\"5%\")",
  "agent/swarm/piece-client.ts: null as unknown as net.Socket": "a slot filled before first use, in the same function; no outside data",
  "cli/warnings.ts: process as unknown as Record<symbol, boolean>": "reads node's own symbol-keyed flag on process; no outside data",
  "cli/env-flags.ts: cmd as unknown as EventEmitter": "commander's Command is an EventEmitter its types do not say; no outside data",
  "helper/messages.ts: r.value as T": "the helper loads no zod (10 MiB a process): its checker is derived from T's zod schema, and protocol-schema.ts asserts at compile time that the schema is T",
  "spec/eval-child.ts: JSON.parse(await readStdin()) as EvalRequest": "the evaluator child's own request, written by its parent (the same build) a moment before; the child loads nothing it can avoid, and what it runs is the user's code anyway",
  "spec/eval-origin.ts: JSON.parse(Buffer.from(m[1], \"base64\").toString(\"utf8\")) as ConstructorParameters<typeof SourceMap>[0]": "the inline source map esbuild wrote into the bundle this process is evaluating; node's SourceMap checks it",
  "server/kinds.ts: v as T": "defineKind returns the checked input itself (zod's copy would drop fields a newer server added); fits() is called right after schemaProblem() said it fits",
};

/** The casts of one file that the rule forbids: `line: text`. */
function forbiddenCasts(file: string, text: string): { line: number; text: string }[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const typeParams = new Set<string>();
  const out: { line: number; text: string }[] = [];
  const unwrap = (e: ts.Expression): ts.Expression => (ts.isParenthesizedExpression(e) || ts.isAwaitExpression(e) ? unwrap(e.expression) : e);
  const isCall = (e: ts.Expression, test: (callee: string) => boolean): boolean => ts.isCallExpression(e) && test(e.expression.getText(sf));
  const visit = (node: ts.Node): void => {
    if (ts.isTypeParameterDeclaration(node)) typeParams.add(node.name.text);
    if (ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) {
      const inner = unwrap(node.expression);
      const target = node.type.getText(sf);
      const fromJson = target !== "unknown" && (isCall(inner, (c) => c === "JSON.parse") || isCall(inner, (c) => c.endsWith(".json")));
      const doubled = ts.isAsExpression(inner) && inner.type.kind === ts.SyntaxKind.UnknownKeyword;
      const generic = ts.isTypeReferenceNode(node.type) && node.type.typeArguments === undefined && typeParams.has(node.type.typeName.getText(sf));
      if (fromJson || doubled || generic) out.push({ line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, text: node.getText(sf).replace(/\s+/g, " ") });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

const files = (fs.readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !testSupport.some((re) => re.test(`/${f}`)));

void test("no file of src/ reads outside data by a cast (JSON.parse as T, res.json() as T, as unknown as, as <type parameter>)", () => {
  const found: string[] = [];
  const used = new Set<string>();
  for (const f of files) {
    for (const c of forbiddenCasts(f, fs.readFileSync(path.join(src, f), "utf8"))) {
      const key = `${f}: ${c.text}`;
      if (key in allowed) used.add(key);
      else found.push(`src/${f}:${c.line}: ${c.text}`);
    }
  }
  assert.deepEqual(found, [], "read it through its schema instead (or, if the cast is right, add it to `allowed` with why)");
  assert.deepEqual(Object.keys(allowed).filter((k) => !used.has(k)), [], "allowed casts that no longer exist");
});

void test("the rule finds what it names (it is not vacuous)", () => {
  const sample = [
    "const a = JSON.parse(t) as Job;",
    "const b = (await res.json()) as Job;",
    "const c = x as unknown as Job;",
    "function f<T>(v: unknown): T { return v as T; }",
    "const ok = JSON.parse(t) as unknown;",
  ].join("\n");
  assert.deepEqual(forbiddenCasts("sample.ts", sample).map((c) => c.line), [1, 2, 3, 4]);
});
