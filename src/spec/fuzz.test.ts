// Fuzzing the spec path (issue 10 items 10 and 12): thousands of mutated specs through validation, and
// mutated and hostile spec files through the real loader. Each must either validate (and then the
// server's own check agrees) or be refused with problems that name the file, a path and a readable
// value; a file that cannot be loaded is a SpecLoad error naming it; nothing throws anything else,
// hangs, or leaves a /tmp/tiffin-spec-* bundle. Seeded: a failure prints the seed and the case.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { mulberry32, TiffinError } from "../model/index.ts";
import { decodeValue, encodeValue } from "./eval-wire.ts";
import { loadSpecFile } from "./load.ts";
import { richJob } from "./testdata/rich-job.ts";
import { compileJobs, validateJobSpec } from "./validate.ts";

const seed = Number(process.env["TIFFIN_FUZZ_SEED"] ?? 20261206);

const rng = mulberry32;

/** The rich job, with a package pin (validation only: no server checks the package here). */
const base = (): Record<string, unknown> => ({ ...richJob("web"), packages: ["web:1.0.0"] });

function weird(r: () => number): unknown {
  const c: Record<string, unknown> = { a: 1 };
  c["self"] = c;
  const pool: (() => unknown)[] = [
    () => Number.NaN,
    () => Infinity,
    () => -Infinity,
    () => -0,
    () => 1e308,
    () => 2 ** 53 + 1,
    () => -1,
    () => 0.5,
    () => "",
    () => "\0",
    () => "a\0b",
    () => "x".repeat(Math.floor(r() * 200_000)),
    () => "é🙂\u202e\uFEFF",
    () => "../../etc/passwd",
    () => "/abs",
    () => "${PORT_NOPE}",
    () => "n".repeat(300),
    () => null,
    () => undefined,
    () => true,
    () => [],
    () => [[["deep"]]],
    () => ({}),
    () => ({ nested: { deeper: [1, { x: Number.NaN }] } }),
    () => JSON.parse('{"__proto__": {"polluted": 1}}') as unknown,
    () => 10n,
    () => Symbol("s"),
    () => () => 1,
    () => new Date(0),
    () => new Map([["a", 1]]),
    () => c,
  ];
  return pool[Math.floor(r() * pool.length)]?.();
}

/** Paths of every field and item in `v`, so mutations reach nested places too. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = [], seen = new Set<unknown>()): (string | number)[][] {
  out.push(at);
  if (seen.has(v)) return out;
  seen.add(v);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out, seen));
  else if (typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out, seen);
  }
  return out;
}

function mutate(job: Record<string, unknown>, r: () => number): Record<string, unknown> {
  const n = 1 + Math.floor(r() * 3);
  for (let i = 0; i < n; i++) {
    const all = paths(job).filter((p) => p.length > 0);
    const p = all[Math.floor(r() * all.length)];
    if (!p) continue;
    let parent: unknown = job;
    for (const s of p.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[s];
    const key = p[p.length - 1] as string | number;
    const obj = parent as Record<string | number, unknown>;
    const what = r();
    if (what < 0.15) delete obj[key];
    else if (what < 0.25 && !Array.isArray(obj)) obj[`extra${i}`] = weird(r);
    else if (what < 0.3 && !Array.isArray(obj)) obj[`${String(key)}/x`] = obj[key];
    else obj[key] = weird(r);
  }
  return job;
}

function assertReadable(problems: { file: string | null; path: string; message: string; value: string | null }[], file: string, what: string): void {
  for (const p of problems) {
    assert.equal(p.file, file, what);
    assert.ok(p.message.length > 0, what);
    assert.doesNotMatch(`${p.message} ${p.value ?? ""}`, /\[object Object\]|expected number, got number|undefined is not|Cannot read prop/, `${what}: ${JSON.stringify(p)}`);
    assert.ok((p.value ?? "").length <= 200, what);
  }
}

void test(`fuzz: 3000 mutated jobs validate or are refused with readable problems (seed ${seed})`, () => {
  const r = rng(seed);
  for (let i = 0; i < 3000; i++) {
    const jobs = Array.from({ length: 1 + Math.floor(r() * 2) }, () => mutate(base(), r));
    // As the CLI sees a spec: the value after the trip out of the evaluator child.
    const value = decodeValue(encodeValue(jobs.length === 1 ? jobs[0] : jobs));
    const what = `seed ${seed} case ${i}: ${inspect(value, { depth: 3, maxStringLength: 40, breakLength: Infinity })}`;
    let result: ReturnType<typeof compileJobs>;
    try {
      result = compileJobs(value, "fuzz.ts");
    } catch (err) {
      assert.fail(`${what}: compileJobs threw ${String(err)}`);
    }
    if (result.problems.length === 0) {
      assert.ok(result.specs.length > 0, what);
      for (const s of result.specs) assert.deepEqual(validateJobSpec(JSON.parse(JSON.stringify(s))), [], `${what}: the server refuses what the CLI accepted`);
    } else {
      assert.deepEqual(result.specs, [], what);
      assertReadable(result.problems, "fuzz.ts", what);
    }
  }
});

let dir = "";
let bundles = "";
const savedTmp = process.env["TMPDIR"];
before(() => {
  dir = mkdtempSync(join(tmpdir(), "tiffin-fuzz-"));
  bundles = join(dir, "tmp");
  mkdirSync(bundles);
  process.env["TMPDIR"] = bundles;
});
after(() => {
  if (savedTmp === undefined) delete process.env["TMPDIR"];
  else process.env["TMPDIR"] = savedTmp;
  rmSync(dir, { recursive: true, force: true });
});

/** TypeScript source for a value, with what JSON cannot say (NaN, 10n, functions, Symbols, Dates). */
function source(v: unknown): string {
  if (typeof v === "number") return Object.is(v, -0) ? "-0" : String(v);
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return `Symbol(${JSON.stringify(v.description)})`;
  if (typeof v === "function") return "(() => 1)";
  if (v === undefined) return "undefined";
  if (v instanceof Date) return "new Date(0)";
  if (v instanceof Map) return "new Map()";
  if (Array.isArray(v)) return `[${v.map(source).join(", ")}]`;
  if (typeof v === "object" && v !== null) {
    if ((v as Record<string, unknown>)["self"] === v) return "(() => { const c: Record<string, unknown> = { a: 1 }; c.self = c; return c; })()";
    return `{ ${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${source(x)}`).join(", ")} }`;
  }
  return JSON.stringify(v);
}

const hostile = [
  "throw new Error('boom');",
  "throw null;",
  "throw Symbol('s');",
  "throw { toString() { throw new Error('x'); } };",
  "process.exit(0);",
  "process.exit(3);",
  "process.kill(process.pid, 'SIGKILL');",
  "void Promise.reject(new Error('lost'));",
  "setTimeout(() => { throw new Error('late'); }, 0);",
  "setInterval(() => {}, 10);",
  "await new Promise(() => {});",
  "console.log('noise'); console.error('more noise');",
  "export const other = 1;",
];

async function loadOutcome(path: string, shown: string, what: string): Promise<void> {
  try {
    const specs = await loadSpecFile(path, { onOutput: () => undefined, timeoutMs: 10_000 });
    for (const s of specs) assert.deepEqual(validateJobSpec(s), [], what);
  } catch (err) {
    assert.ok(err instanceof TiffinError, `${what}: ${inspect(err)}`);
    assert.ok(err.code === "TIFFIN_SPEC_LOAD" || err.code === "TIFFIN_SPEC_INVALID", `${what}: ${err.code}`);
    assert.ok(err.message.includes(shown), `${what}: ${err.message}`);
    assert.doesNotMatch(err.message, /\n\s+at |node:internal/, what);
    assertReadable(err.problems, shown, what);
  }
}

void test(`fuzz: mutated and hostile spec files load or fail as spec errors naming the file (seed ${seed})`, async () => {
  const r = rng(seed + 1);
  const cases: { name: string; text: string }[] = [];
  hostile.forEach((h, i) => {
    const job = source(mutate(base(), r));
    cases.push({ name: `hostile${i}.ts`, text: `import { job } from "tiffin";\n${h}\nexport default job(${job} as never);\n` });
  });
  for (let i = 0; i < 24; i++) {
    const jobs = [mutate(base(), r), mutate({ ...base(), name: "two" }, r)];
    cases.push({ name: `mutated${i}.ts`, text: `import { defaults, job } from "tiffin";\nconst d = defaults({ replicas: 1 });\nexport default [${jobs.map((j) => `job({ ...d, ...${source(j)} } as never)`).join(", ")}];\n` });
  }
  for (let i = 0; i < 200; i++) {
    const seen = new WeakSet<object>();
    const text =
      JSON.stringify(mutate(base(), r), (_k, x: unknown) => {
        if (typeof x === "bigint") return Number(x);
        if (typeof x === "object" && x !== null) {
          if (seen.has(x)) return "cycle";
          seen.add(x);
        }
        return x;
      }) ?? "null";
    const cut = r() < 0.2 ? text.slice(0, Math.floor(r() * text.length)) : text;
    cases.push({ name: `mutated${i}.json`, text: r() < 0.1 ? `\uFEFF${cut}` : cut });
  }
  for (const c of cases) writeFileSync(join(dir, c.name), c.text);
  // Four children at a time: the machine has two cores.
  for (let i = 0; i < cases.length; i += 4) {
    await Promise.all(cases.slice(i, i + 4).map((c) => loadOutcome(join(dir, c.name), join(dir, c.name), `seed ${seed} ${c.name}:\n${c.text.slice(0, 400)}`)));
  }
  assert.deepEqual(readdirSync(bundles), [], "no bundle is left in TMPDIR");
});
